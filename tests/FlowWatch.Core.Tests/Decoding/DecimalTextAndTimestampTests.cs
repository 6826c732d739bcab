using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
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
    [InlineData("1000000000000000", AmountError.None)]
    [InlineData("1000000000000000.0000", AmountError.None)]
    [InlineData("1000000000000000.0001", AmountError.TooLarge)]
    [InlineData("1000000000000001", AmountError.TooLarge)]
    [InlineData("9999999999999999999", AmountError.TooLarge)]   // 19 digits, the most a ulong mantissa takes
    [InlineData("10000000000000000000", AmountError.TooLarge)]  // 20 digits
    [InlineData("999999999999999.9999", AmountError.None)]
    [InlineData("99999999999999.99999", AmountError.TooManyDecimals)]
    [InlineData("1000000000000000.00001", AmountError.TooManyDecimals)]
    [InlineData("0.00010", AmountError.None)]
    [InlineData("0.00001", AmountError.TooManyDecimals)]
    [InlineData("0.000000000000000000", AmountError.NotPositive)]
    [InlineData("5.", AmountError.NotANumber)]
    [InlineData("5.e3", AmountError.NotANumber)]
    [InlineData("5.0e", AmountError.NotANumber)]
    [InlineData("5.1x0", AmountError.NotANumber)]
    [InlineData("12.", AmountError.NotANumber)]
    public void TryParseAmount_Boundaries_AgreeWithTheGeneralPath(string text, AmountError expected)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        Assert.Equal(expected, DecimalText.TryParseAmount(bytes, out var amount));
        Assert.Equal(expected, DecimalText.TryParseAny(bytes, out var general));
        Assert.Equal(decimal.GetBits(general), decimal.GetBits(amount));
    }

    [Fact]
    public void TryParseAmount_RandomText_AnswersWhatTheGeneralPathAnswers()
    {
        var random = new Random(20261127);
        for (var n = 0; n < 200_000; n++)
        {
            var text = RandomAmountText(random);
            var bytes = Encoding.UTF8.GetBytes(text);
            var error = DecimalText.TryParseAmount(bytes, out var amount);
            var expectedError = DecimalText.TryParseAny(bytes, out var expected);

            // Same error, same value and same scale (12.50 reads as 12.5 on both paths).
            Assert.True(error == expectedError && decimal.GetBits(amount).SequenceEqual(decimal.GetBits(expected)),
                $"'{text}' gave {error} {amount}, expected {expectedError} {expected}");
            if (error == AmountError.None && text.All(c => char.IsAsciiDigit(c) || c == '.'))
            {
                Assert.Equal(decimal.Parse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture), amount);
            }
        }
    }

    /// <summary>Mostly <c>digits[.digits]</c> near the limits (15–20 digits, 3–6 decimals, runs of zeros), sometimes mangled.</summary>
    private static string RandomAmountText(Random random)
    {
        var text = new StringBuilder();
        var integerDigits = random.Next(4) == 0 ? random.Next(0, 3) : random.Next(1, 21);
        for (var i = 0; i < integerDigits; i++) text.Append(RandomDigit(random));
        if (random.Next(3) > 0)
        {
            text.Append('.');
            var fractionDigits = random.Next(0, 8);
            for (var i = 0; i < fractionDigits; i++) text.Append(RandomDigit(random));
            if (random.Next(4) == 0) text.Append('0', random.Next(1, 20));
        }
        if (random.Next(8) == 0 && text.Length > 0)
        {
            // A stray byte anywhere, or a sign or an exponent the general path alone reads.
            const string Strays = "+-eE.x 0";
            text.Insert(random.Next(text.Length + 1), Strays[random.Next(Strays.Length)]);
        }
        return text.ToString();
    }

    /// <summary>Zeros and nines half the time, so that values land on 10^15, 10^16 and their neighbours.</summary>
    private static char RandomDigit(Random random) => random.Next(4) switch
    {
        0 => '0',
        1 => '9',
        _ => (char)('0' + random.Next(10)),
    };

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
    [InlineData("2026-03-01T09:30:00.123456789+08:00", "2026-03-01T09:30:00.1234567+08:00")]
    [InlineData("2026-03-01T23:59:59.99999999+08:00", "2026-03-01T23:59:59.9999999+08:00")]
    [InlineData("2026-12-31T23:59:59.999999999999Z", "2026-12-31T23:59:59.9999999Z")]
    [InlineData("2026-03-01T09:30:00.000000099Z", "2026-03-01T09:30:00Z")]
    public void IsoTimestamp_MoreFractionDigitsThanATickHolds_DropsThemWithoutRoundingUp(string text, string sameTime)
    {
        Assert.True(IsoTimestamp.TryParse(Encoding.UTF8.GetBytes(text), out var ticks, out var offset));

        // Rounding up would move a payment at the last instant of a day into the next day.
        var expected = DateTimeOffset.Parse(sameTime, CultureInfo.InvariantCulture);
        Assert.Equal(expected.UtcTicks, ticks);
        Assert.Equal((short)expected.Offset.TotalMinutes, offset);
    }

    [Theory]
    [InlineData("2026-03-01T09:30:00")]
    [InlineData("2026-02-30T09:30:00+08:00")]
    [InlineData("2026-03-01T09:30:00+08:00 ")]
    [InlineData("2026-03-01T09:30:00.+08:00")]
    [InlineData("2026-03-01T09:30:00.12345678")]
    [InlineData("2026-03-01T09:30:00.123456789 Z")]
    public void IsoTimestamp_InvalidTime_IsRefused(string text)
    {
        Assert.False(IsoTimestamp.TryParse(Encoding.UTF8.GetBytes(text), out _, out _));
    }

    [Theory]
    [InlineData("1900-02-29T00:00:00Z", false)]
    [InlineData("2000-02-29T00:00:00Z", true)]
    [InlineData("2024-02-29T23:59:59+14:00", true)]
    [InlineData("2023-02-29T00:00:00Z", false)]
    [InlineData("2026-12-31T23:59:59.9999999-14:00", true)]
    [InlineData("2026-04-31T00:00:00Z", false)]
    [InlineData("2026-13-01T00:00:00Z", false)]
    [InlineData("2026-00-01T00:00:00Z", false)]
    [InlineData("2026-01-00T00:00:00Z", false)]
    [InlineData("0000-01-01T00:00:00Z", false)]
    [InlineData("0001-01-01T00:00:00Z", true)]
    [InlineData("0001-01-01T00:00:00+00:01", false)]   // before DateTime's first tick in UTC
    [InlineData("9999-12-31T23:59:59.9999999Z", true)]
    [InlineData("9999-12-31T23:59:59-00:01", false)]
    [InlineData("2026-03-01T24:00:00Z", false)]
    [InlineData("2026-03-01T23:60:00Z", false)]
    [InlineData("2026-03-01T23:59:60Z", false)]
    [InlineData("2026-03-01T09:30:00+15:00", false)]
    [InlineData("2026-03-01T09:30:00+14:60", false)]
    [InlineData("2026-03-01T09:30:00+14:00", true)]
    [InlineData("2026-03-01T09:30:00-14:00", true)]
    [InlineData("2026-03-01T09:30:00+14:01", false)]   // wider than any zone, and than DateTimeOffset takes
    [InlineData("2026-03-01T09:30:00-14:59", false)]
    [InlineData("2026-03-01T09:30:00.1+01:00", true)]
    [InlineData("2026-03-01t09:30:00z", true)]
    [InlineData("2026-03-01T09:30:00.12345678+01:00", true)]
    [InlineData("2026-03-01T09:30:00.123456789Z", true)]
    [InlineData("2026-03-01T09:30:00.1234567890123456789Z", true)]
    [InlineData("2026-03-01T09:30:0a+01:00", false)]
    [InlineData("2026-0/-01T09:30:00Z", false)]
    [InlineData("2026-03-01T09:30:00+1:00", false)]
    public void IsoTimestamp_Boundaries_AgreeWithTheReference(string text, bool valid)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var accepted = IsoTimestamp.TryParse(bytes, out var ticks, out var offset);
        var expectedAccepted = ReferenceTimestamp(text, out var expectedTicks, out var expectedOffset);

        Assert.Equal(valid, expectedAccepted);
        Assert.Equal(expectedAccepted, accepted);
        Assert.Equal(expectedTicks, ticks);
        Assert.Equal(expectedOffset, offset);
    }

    [Fact]
    public void IsoTimestamp_RandomText_AnswersWhatTheReferenceAnswers()
    {
        var random = new Random(20260229);
        var accepted = 0;
        for (var n = 0; n < 200_000; n++)
        {
            var text = RandomTimestampText(random);
            var ok = IsoTimestamp.TryParse(Encoding.UTF8.GetBytes(text), out var ticks, out var offset);
            var expectedOk = ReferenceTimestamp(text, out var expectedTicks, out var expectedOffset);

            Assert.True(ok == expectedOk && ticks == expectedTicks && offset == expectedOffset,
                $"'{text}' gave {ok} {ticks} {offset}, expected {expectedOk} {expectedTicks} {expectedOffset}");
            if (ok)
            {
                accepted++;
                // DateTimeOffset rounds digits past the seventh to the nearest tick (and past its last tick, throws).
                if (FractionDigits(text) <= 7) Assert.Equal(DateTimeOffset.Parse(text, CultureInfo.InvariantCulture).UtcTicks, ticks);
            }
        }
        // Both sides of the line must be well covered for the comparison to mean something.
        Assert.InRange(accepted, 40_000, 160_000);
    }

    private static readonly Regex TimestampShape = new(
        @"\A([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))\z",
        RegexOptions.CultureInvariant);

    /// <summary>The accepted shape as a regular expression, the calendar and the clock by <see cref="DateTime"/>.</summary>
    private static bool ReferenceTimestamp(string text, out long utcTicks, out short offsetMinutes)
    {
        utcTicks = 0;
        offsetMinutes = 0;
        var match = TimestampShape.Match(text);
        if (!match.Success) return false;
        int Group(int index) => int.Parse(match.Groups[index].Value, CultureInfo.InvariantCulture);
        var (year, month, day, hour, minute, second) = (Group(1), Group(2), Group(3), Group(4), Group(5), Group(6));
        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59)
        {
            return false;
        }
        // Digits past the seventh are finer than a tick: dropped.
        var fraction = match.Groups[7].Success ? long.Parse(match.Groups[7].Value.PadRight(7, '0')[..7], CultureInfo.InvariantCulture) : 0;
        var offset = 0;
        if (match.Groups[8].Success)
        {
            if (Group(9) > 14 || Group(10) > 59 || Group(9) * 60 + Group(10) > 14 * 60) return false;
            offset = (Group(9) * 60 + Group(10)) * (match.Groups[8].Value == "-" ? -1 : 1);
        }
        var utc = new DateTime(year, month, day, hour, minute, second).Ticks + fraction - offset * TimeSpan.TicksPerMinute;
        if (utc < DateTime.MinValue.Ticks || utc > DateTime.MaxValue.Ticks) return false;
        utcTicks = utc;
        offsetMinutes = (short)offset;
        return true;
    }

    private static int FractionDigits(string text) =>
        text.IndexOf('.', StringComparison.Ordinal) is var dot and >= 0 ? text[(dot + 1)..].TakeWhile(char.IsAsciiDigit).Count() : 0;

    /// <summary>Valid times around the calendar's and the clock's edges, a quarter of them with one byte changed, dropped or added.</summary>
    private static string RandomTimestampText(Random random)
    {
        int[] years = [1, 1900, 2000, 2024, 2026, 2100, 9999];
        var year = random.Next(3) == 0 ? random.Next(0, 10_000) : years[random.Next(years.Length)];
        var month = random.Next(0, 14);
        var day = random.Next(4) == 0 ? random.Next(0, 33) : random.Next(27, 32);
        var time = random.Next(3) == 0 ? "23:59:59" : $"{random.Next(0, 25):D2}:{random.Next(0, 61):D2}:{random.Next(0, 61):D2}";
        var fraction = random.Next(3) == 0 ? "" : "." + random.NextInt64(0, 1_000_000_000).ToString("D9", CultureInfo.InvariantCulture)[..random.Next(0, 10)];
        var offset = random.Next(4) switch
        {
            0 => "Z",
            1 => random.Next(2) == 0 ? "+14:00" : "-14:00",
            _ => $"{(random.Next(2) == 0 ? '+' : '-')}{random.Next(0, 16):D2}:{random.Next(0, 61):D2}",
        };
        var text = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"{year:D4}-{month:D2}-{day:D2}T{time}{fraction}{offset}"));
        if (random.Next(4) == 0)
        {
            const string Bytes = "0123456789-:T+Z.tz /";
            var at = random.Next(text.Length);
            switch (random.Next(3))
            {
                case 0: text[at] = Bytes[random.Next(Bytes.Length)]; break;
                case 1: text.Remove(at, 1); break;
                default: text.Insert(at, Bytes[random.Next(Bytes.Length)]); break;
            }
        }
        return text.ToString();
    }
}
