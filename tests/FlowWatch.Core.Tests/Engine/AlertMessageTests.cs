using System.Globalization;
using FlowWatch.Core.Engine;

namespace FlowWatch.Core.Tests.Engine;

public sealed class AlertMessageTests
{
    [Fact]
    public void Message_UnderAGermanCulture_IsStillWrittenInvariantly()
    {
        var previous = CultureInfo.CurrentCulture;
        CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo("de-DE");
        try
        {
            var result = TestStreams.Reference().Entity("E1").Stream()
                .Send(TestStreams.Event("T1").Out().Amount(1_234_567.5m, "USD").Purpose("SERVICE_TRADE"));

            var message = result.Single(RuleCodes.ServicesTaxFiling).Message;
            Assert.Contains("1,234,567.5 USD", message, StringComparison.Ordinal);
            Assert.Contains("(USD 1,234,567.5)", message, StringComparison.Ordinal);
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }
    }
}
