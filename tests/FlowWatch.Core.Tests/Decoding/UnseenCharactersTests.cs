using FlowWatch.Core.Decoding;

namespace FlowWatch.Core.Tests.Decoding;

/// <summary>Input quoted in alerts' sentences and log lines, as it is shown there.</summary>
public sealed class UnseenCharactersTests
{
    [Theory]
    [InlineData("Acme Trading Ltd", "Acme Trading Ltd")]
    [InlineData("广州贸易有限公司", "广州贸易有限公司")]
    [InlineData("a\u2028b\u2029c\u0085d", @"a\u2028b\u2029c\u0085d")]
    [InlineData("\u001B[31mred", @"\u001B[31mred")]
    [InlineData("tag\U000E0041", @"tag\U000E0041")]
    [InlineData("\u00A0no-break space stays", "\u00A0no-break space stays")]
    public void Shown_ControlInvisibleAndSeparatorCharacters_AreWrittenAsTheirCodes(string text, string shown) =>
        Assert.Equal(shown, UnseenCharacters.Shown(text));

    [Theory]
    [InlineData(@"Blue \u202ELotus", @"Blue \\u202ELotus")]
    [InlineData("Blue \u202ELotus", @"Blue \u202ELotus")]
    [InlineData(@"C:\trade\", @"C:\\trade\\")]
    [InlineData("\\\u2028", @"\\\u2028")]
    public void Shown_Backslash_IsWrittenTwice_SoThatAWrittenCodeDiffersFromTheCharacter(string text, string shown) =>
        Assert.Equal(shown, UnseenCharacters.Shown(text));
}
