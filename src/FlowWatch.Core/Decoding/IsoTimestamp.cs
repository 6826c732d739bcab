namespace FlowWatch.Core.Decoding;

/// <summary>
/// Parses ISO-8601 timestamps with a mandatory offset: <c>YYYY-MM-DDTHH:MM:SS[.f+](Z|±HH:MM)</c>.
/// Allocation-free; the offset is required because event time must be unambiguous. A fraction of a second may have
/// any number of digits, as ISO-8601 allows (systems that keep nanoseconds write nine); time is kept in 100 ns ticks,
/// so digits past the seventh are dropped, never rounded up: a time stays in the second, and so the day, it names.
/// </summary>
public static class IsoTimestamp
{
    /// <summary>What <see cref="TwoDigits"/> answers for bytes that are not two digits: above every field's range, and any year it makes.</summary>
    private const uint NotTwoDigits = 1 << 16;

    /// <summary>±14:00, the widest offset in use (Line Islands) and the widest a <see cref="DateTimeOffset"/> takes.</summary>
    private const int MaxOffsetMinutes = 14 * 60;

    /// <summary>Fraction digits a 100 ns tick holds.</summary>
    private const int TickDigits = 7;

    /// <summary>Days of the year before each month, in a common year; index 0 is unused, so that a month indexes it.</summary>
    private static readonly int[] DaysBeforeMonth = [0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];

    public static bool TryParse(ReadOnlySpan<byte> s, out long utcTicks, out short offsetMinutes)
    {
        utcTicks = 0;
        offsetMinutes = 0;
        if (s.Length < 20) return false;
        // Each field is read at its fixed place and then checked against its range, which also refuses non-digits.
        var year = TwoDigits(s[0], s[1]) * 100 + TwoDigits(s[2], s[3]);
        var month = TwoDigits(s[5], s[6]);
        var day = TwoDigits(s[8], s[9]);
        var hour = TwoDigits(s[11], s[12]);
        var minute = TwoDigits(s[14], s[15]);
        var second = TwoDigits(s[17], s[18]);
        if (s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':'
            || year - 1 > 9998 || month - 1 > 11 || day - 1 > 30 || hour > 23 || minute > 59 || second > 59)
        {
            return false;
        }
        var leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        var monthDays = DaysBeforeMonth[month + 1] - DaysBeforeMonth[month] + (leap && month == 2 ? 1 : 0);
        if (day > monthDays) return false;

        var i = 19;
        long fractionTicks = 0;
        if (s[i] == '.')
        {
            i++;
            var start = i;
            while (i < s.Length && (uint)(s[i] - '0') <= 9)
            {
                if (i - start < TickDigits) fractionTicks = fractionTicks * 10 + (s[i] - '0');
                i++;
            }
            var digits = i - start;
            if (digits == 0) return false;
            for (var d = digits; d < TickDigits; d++) fractionTicks *= 10;
        }
        if (i >= s.Length) return false;

        int offset;
        if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == s.Length)
        {
            offset = 0;
        }
        else if ((s[i] == '+' || s[i] == '-') && i + 6 == s.Length && s[i + 3] == ':'
                 && TwoDigits(s[i + 1], s[i + 2]) is var oh and <= 14 && TwoDigits(s[i + 4], s[i + 5]) is var om and <= 59
                 && oh * 60 + om <= MaxOffsetMinutes)
        {
            offset = (int)(oh * 60 + om) * (s[i] == '-' ? -1 : 1);
        }
        else
        {
            return false;
        }

        // Days since 0001-01-01 in the proleptic Gregorian calendar, as DateTime counts them.
        var yearsBefore = (int)year - 1;
        var days = yearsBefore * 365 + yearsBefore / 4 - yearsBefore / 100 + yearsBefore / 400
                   + DaysBeforeMonth[month] + (leap && month > 2 ? 1 : 0) + (int)day - 1;
        var local = days * TimeSpan.TicksPerDay + (hour * 3600 + minute * 60 + second) * TimeSpan.TicksPerSecond + fractionTicks;
        var utc = local - offset * TimeSpan.TicksPerMinute;
        if (utc < DateTime.MinValue.Ticks || utc > DateTime.MaxValue.Ticks) return false;
        utcTicks = utc;
        offsetMinutes = (short)offset;
        return true;
    }

    /// <summary>The number two ASCII digits write, or <see cref="NotTwoDigits"/>.</summary>
    private static uint TwoDigits(byte tens, byte ones)
    {
        var t = (uint)(tens - '0');
        var o = (uint)(ones - '0');
        return t <= 9 && o <= 9 ? t * 10 + o : NotTwoDigits;
    }
}
