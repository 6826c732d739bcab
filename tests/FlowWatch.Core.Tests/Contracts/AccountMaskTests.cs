using FlowWatch.Core.Contracts;

namespace FlowWatch.Core.Tests.Contracts;

/// <summary>Account numbers in sentences a console shows.</summary>
public sealed class AccountMaskTests
{
    private static readonly HashSet<string> Known = ["FTE0012345678", "OSA00099", "EFN7", "NRA 0001234", "OSA7."];

    [Theory]
    [InlineData("FTE0012345678", "FTE******5678")]
    [InlineData("OSA00099", "OSA*0099")]
    [InlineData("EFN7", "EFN****")]
    [InlineData("AB", "AB****")]
    public void Mask_KeepsTheKindPrefixAndTheLastFourCharacters(string account, string masked) =>
        Assert.Equal(masked, AccountMask.Mask(account));

    [Theory]
    [InlineData(
        "Payment with sanctioned party (account OSA00099 belongs to entity E-7 in reference data, which is sanctioned) on FTE0012345678.",
        "Payment with sanctioned party (account OSA*0099 belongs to entity E-7 in reference data, which is sanctioned) on FTE******5678.")]
    [InlineData("accounts EFN7, OSA00099; FTE0012345678: done", "accounts EFN****, OSA*0099; FTE******5678: done")]
    [InlineData("EFN7EFN7 and XEFN7 are not accounts", "EFN7EFN7 and XEFN7 are not accounts")]
    [InlineData("", "")]
    [InlineData("account OSA7. is odd", "account OSA**** is odd")]   // a full stop that is the account's own
    public void Redact_MasksEveryWordThatIsAnAccount(string text, string redacted) =>
        Assert.Equal(redacted, AccountMask.Redact(text, "", Known.Contains));

    [Fact]
    public void Redact_TheAlertsOwnAccount_IsMaskedWholeThoughItHoldsASpace() =>
        Assert.Equal("Cash withdrawal on zone account NRA****1234; zone accounts may not handle cash; OSA*0099.",
            AccountMask.Redact("Cash withdrawal on zone account NRA 0001234; zone accounts may not handle cash; OSA00099.", "NRA 0001234", Known.Contains));
}
