using FlowWatch.Core.Contracts;
using FlowWatch.Core.Engine;

namespace FlowWatch.Core.Tests.Rules;

/// <summary>SERVICES_TAX_FILING (RULES.md §2): OUT, channel ≠ DOMESTIC, services/income purpose, USD-equivalent ≥ 50,000.</summary>
public sealed class ServicesTaxFilingTests
{
    private static TestStream Stream(decimal? hkdRate = null)
    {
        var reference = TestStreams.Reference().Entity("E1");
        if (hkdRate is { } rate) reference.Rate("HKD", rate);
        return reference.Stream();
    }

    private static EventBuilder ServicePayment(decimal amount, string currency, string purpose = "SERVICE_TRADE") =>
        TestStreams.Event().Out().Amount(amount, currency).Purpose(purpose);

    [Theory]
    [InlineData("49999.99", "USD", false)]
    [InlineData("50000", "USD", true)]
    [InlineData("50000.01", "USD", true)]
    [InlineData("354999.99", "CNY", false)]   // USD 7.10: 355,000 CNY is 50,000 USD
    [InlineData("355000", "CNY", true)]
    [InlineData("355000.01", "CNY", true)]
    [InlineData("499999.99", "HKD", false)]   // HKD 0.71: 500,000 HKD is 50,000 USD
    [InlineData("500000", "HKD", true)]
    [InlineData("500000.01", "HKD", true)]
    [InlineData("45454.54", "EUR", false)]    // EUR 7.81 is 1.1 USD: 45,454.5454… EUR is the boundary
    [InlineData("45454.55", "EUR", true)]
    public void ServicesTaxFiling_AroundThreshold_RaisesAtOrAbove(string amount, string currency, bool expected)
    {
        var result = Stream().Send(ServicePayment(decimal.Parse(amount, System.Globalization.CultureInfo.InvariantCulture), currency));

        Assert.Equal(RecordOutcome.Accepted, result.Outcome);
        Assert.Equal(expected, result.Raised("SERVICES_TAX_FILING"));
    }

    [Fact]
    public void ServicesTaxFiling_ExactlyAtThreshold_CarriesSeverityRefsAndMetrics()
    {
        var result = Stream().Send(ServicePayment(355_000m, "CNY"));

        var alert = result.Single("SERVICES_TAX_FILING");
        Assert.Equal(Severity.I, alert.Severity);
        Assert.Equal(["Hengqin Art.16"], alert.Refs);
        Assert.Equal(50_000m, alert.Metrics.Observed);
        Assert.Equal(50_000m, alert.Metrics.Threshold);
        Assert.Equal(355_000m, alert.Metrics.AmountCny);
    }

    [Theory]
    [InlineData("390109.8901", false)]   // × 0.91 / 7.10 = 49,999.99999…
    [InlineData("390109.8902", true)]    // = 50,000.00001…
    public void ServicesTaxFiling_HkdAtAnInexactRate_ComparesTheExactEquivalent(string amount, bool expected)
    {
        var result = Stream(hkdRate: 0.91m).Send(ServicePayment(decimal.Parse(amount, System.Globalization.CultureInfo.InvariantCulture), "HKD"));

        Assert.Equal(expected, result.Raised("SERVICES_TAX_FILING"));
    }

    [Theory]
    [InlineData("SERVICE_TRADE")]
    [InlineData("PRIMARY_INCOME")]
    [InlineData("SECONDARY_INCOME")]
    public void ServicesTaxFiling_EachServiceOrIncomePurpose_Raises(string purpose)
    {
        var result = Stream().Send(ServicePayment(50_000m, "USD", purpose));

        result.AssertRaised("SERVICES_TAX_FILING");
    }

    [Theory]
    [InlineData("GOODS_TRADE")]
    [InlineData("DIRECT_INVESTMENT")]
    [InlineData("OTHER")]
    public void ServicesTaxFiling_OtherPurpose_RaisesNothing(string purpose)
    {
        var result = Stream().Send(ServicePayment(1_000_000m, "USD", purpose));

        result.AssertNotRaised("SERVICES_TAX_FILING");
    }

    [Fact]
    public void ServicesTaxFiling_InwardPayment_RaisesNothing()
    {
        var result = Stream().Send(ServicePayment(1_000_000m, "USD").In());

        result.AssertNotRaised("SERVICES_TAX_FILING");
    }

    [Fact]
    public void ServicesTaxFiling_DomesticChannel_RaisesNothing()
    {
        var result = Stream().Send(ServicePayment(1_000_000m, "USD").Account("ACC0001", "DOMESTIC").Cp("DOMESTIC", entityId: "E9"));

        result.AssertNotRaised("SERVICES_TAX_FILING");
    }

    [Theory]
    [InlineData("ACC0001", "DOMESTIC", "OFFSHORE")]   // CROSS_BORDER
    [InlineData("NRA0001", null, "DOMESTIC")]         // CROSS_BORDER
    [InlineData("EFE0001", null, "DOMESTIC")]         // SECOND_LINE
    [InlineData("FTE0001", null, "OFFSHORE")]         // FIRST_LINE
    public void ServicesTaxFiling_EveryNonDomesticChannel_Raises(string account, string? kind, string cpKind)
    {
        var result = Stream().Send(ServicePayment(50_000m, "USD").Account(account, kind).Cp(cpKind, entityId: "E9"));

        result.AssertRaised("SERVICES_TAX_FILING");
    }
}
