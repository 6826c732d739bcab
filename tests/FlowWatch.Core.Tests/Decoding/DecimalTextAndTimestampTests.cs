using System.Globalization;
using System.Text;
using FlowWatch.Core.Decoding;

namespace FlowWatch.Core.Tests.Decoding;

/// <summary>The amount and time parsers on their own (DESIGN.md §3.1: amount &gt; 0, ≤ 10^15, at most 4 decimals; ts with offset).</summary>
public sealed class DecimalTextAndTimestampTests
{
    private static AmountError Parse(string text, out decimal amount) => DecimalText.TryParseAmount(Encoding.UTF8.GetBytes(text), out amount);

    [Theory]
    [InlineData("1", "1")]
    [InlineData("0.0001", "0.0001")]
    [InlineData("1.23450", "1.2345")]
    [InlineData("1.2345000000000000000000000", "1.2345")]
    [InlineData("1E3", "1000")]
    [InlineData("1e+3", "1000")]
    [InlineData("1.5e6", "1500000")]
    [InlineData("15e-1", "1.5")]
    [InlineData("1e15", "1000000000000000")]
    [InlineData("0.1e16", "1000000000000000")]
    [InlineData("1000000000000000", "1000000000000000")]
    [InlineData("999999999999999.9999", "999999999999999.9999")]
    [InlineData("+5", "5")]
    [InlineData("0000000000000000000000000012.5", "12.5")]
    [InlineData("0.000000000000000000000000000001e30", "1")]
    [InlineData("1000000000000000.0000", "1000000000000000")]
    [InlineData("123456789012345.1230", "123456789012345.123")]
    [InlineData("100000000000000.1000", "100000000000000.1")]
    [InlineData("999999999999999.9990", "999999999999999.999")]
    public void TryParseAmount_ValidText_GivesTheExactValue(string text, string expected)
    {
        Assert.Equal(AmountError.None, Parse(text, out var amount));
        Assert.Equal(decimal.Parse(expected, CultureInfo.InvariantCulture), amount);
    }

    [Theory]
    [InlineData("0", AmountError.NotPositive)]
    [InlineData("0.0", AmountError.NotPositive)]
    [InlineData("-1", AmountError.NotPositive)]
    [InlineData("-0", AmountError.NotPositive)]
    [InlineData("1.23456", AmountError.TooManyDecimals)]
    [InlineData("0.00001", AmountError.TooManyDecimals)]
    [InlineData("1e-5", AmountError.TooManyDecimals)]
    [InlineData("1.00000000000000000000001", AmountError.TooManyDecimals)]
    [InlineData("1000000000000000.0001", AmountError.TooLarge)]   // four decimals, but over 10^15
    [InlineData("1000000000000000.01", AmountError.TooLarge)]
    [InlineData("1000000000000001", AmountError.TooLarge)]
    [InlineData("1e16", AmountError.TooLarge)]
    [InlineData("1e99999", AmountError.TooLarge)]
    [InlineData("12345678901234567890123", AmountError.TooLarge)]
    [InlineData("", AmountError.NotANumber)]
    [InlineData("-", AmountError.NotANumber)]
    [InlineData(".", AmountError.NotANumber)]
    [InlineData("1.", AmountError.NotANumber)]
    [InlineData("1e", AmountError.NotANumber)]
    [InlineData("1e+", AmountError.NotANumber)]
    [InlineData("e5", AmountError.NotANumber)]
    [InlineData("1,000", AmountError.NotANumber)]
    [InlineData("1 000", AmountError.NotANumber)]
    [InlineData(" 1", AmountError.NotANumber)]
    [InlineData("1 ", AmountError.NotANumber)]
    [InlineData("0x10", AmountError.NotANumber)]
    [InlineData("Infinity", AmountError.NotANumber)]
    [InlineData("1.2.3", AmountError.NotANumber)]
    [InlineData("--1", AmountError.NotANumber)]
    public void TryParseAmount_InvalidText_GivesItsError(string text, AmountError expected)
    {
        Assert.Equal(expected, Parse(text, out _));
    }

    [Fact]
    public void TryParseAmount_RandomAmountsWithUpToFourDecimals_RoundTripExactly()
    {
        var random = new Random(20260301);
        for (var i = 0; i < 5_000; i++)
        {
            // Up to 9·10^18 units of 0.0001, i.e. up to 9·10^14, rounded to 0–4 decimals.
            var value = decimal.Round(random.NextInt64(1, 9_000_000_000_000_000_000) / 10_000m, random.Next(0, 5));
            if (value == 0) continue;
            var text = value.ToString(CultureInfo.InvariantCulture);

            var error = Parse(text, out var parsed);
            Assert.True(error == AmountError.None && parsed == value, $"'{text}' gave {error} {parsed}");
            error = Parse(text + "e0", out parsed);
            Assert.True(error == AmountError.None && parsed == value, $"'{text}e0' gave {error} {parsed}");
        }
    }

    [Theory]
    [InlineData("2026-03-01T09:30:00+08:00")]
    [InlineData("2026-03-01T01:30:00Z")]
    [InlineData("2026-03-01T01:30:00.1234567Z")]
    [InlineData("2024-02-29T23:59:59-12:00")]
    [InlineData("1991-04-14T02:00:00+08:00")]
    public void IsoTimestamp_ValidTime_AgreesWithDateTimeOffset(string text)
    {
        Assert.True(IsoTimestamp.TryParse(Encoding.UTF8.GetBytes(text), out var ticks, out var offset));

        var expected = DateTimeOffset.Parse(text, CultureInfo.InvariantCulture);
        Assert.Equal(expected.UtcTicks, ticks);
        Assert.Equal((short)expected.Offset.TotalMinutes, offset);
    }

    [Theory]
    [InlineData("2026-03-01T09:30:00")]
    [InlineData("2026-02-30T09:30:00+08:00")]
    [InlineData("2026-03-01T09:30:00+08:00 ")]
    [InlineData("2026-03-01T09:30:00.+08:00")]
    [InlineData("2026-03-01T09:30:00.12345678Z")]
    public void IsoTimestamp_InvalidTime_IsRefused(string text)
    {
        Assert.False(IsoTimestamp.TryParse(Encoding.UTF8.GetBytes(text), out _, out _));
    }
}
