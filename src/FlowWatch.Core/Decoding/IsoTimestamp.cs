namespace FlowWatch.Core.Decoding;

/// <summary>
/// Parses ISO-8601 timestamps with a mandatory offset: <c>YYYY-MM-DDTHH:MM:SS[.f{1,7}](Z|±HH:MM)</c>.
/// Allocation-free; the offset is required because event time must be unambiguous.
/// </summary>
public static class IsoTimestamp
{
    public static bool TryParse(ReadOnlySpan<byte> s, out long utcTicks, out short offsetMinutes)
    {
        utcTicks = 0;
        offsetMinutes = 0;
        if (s.Length < 20) return false;
        if (!Digits(s, 0, 4, out var year) || s[4] != '-' || !Digits(s, 5, 2, out var month) || s[7] != '-'
            || !Digits(s, 8, 2, out var day) || (s[10] != 'T' && s[10] != 't')
            || !Digits(s, 11, 2, out var hour) || s[13] != ':' || !Digits(s, 14, 2, out var minute) || s[16] != ':'
            || !Digits(s, 17, 2, out var second))
        {
            return false;
        }
        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month)
            || hour > 23 || minute > 59 || second > 59)
        {
            return false;
        }

        var i = 19;
        long fractionTicks = 0;
        if (s[i] == '.')
        {
            i++;
            var start = i;
            while (i < s.Length && (uint)(s[i] - '0') <= 9)
            {
                if (i - start >= 7) return false;
                fractionTicks = fractionTicks * 10 + (s[i] - '0');
                i++;
            }
            var digits = i - start;
            if (digits == 0) return false;
            for (var d = digits; d < 7; d++) fractionTicks *= 10;
        }
        if (i >= s.Length) return false;

        int offset;
        if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == s.Length)
        {
            offset = 0;
        }
        else if ((s[i] == '+' || s[i] == '-') && i + 6 == s.Length && s[i + 3] == ':'
                 && Digits(s, i + 1, 2, out var oh) && Digits(s, i + 4, 2, out var om) && oh <= 14 && om <= 59)
        {
            offset = (oh * 60 + om) * (s[i] == '-' ? -1 : 1);
        }
        else
        {
            return false;
        }

        var local = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Unspecified).Ticks + fractionTicks;
        var utc = local - offset * TimeSpan.TicksPerMinute;
        if (utc < DateTime.MinValue.Ticks || utc > DateTime.MaxValue.Ticks) return false;
        utcTicks = utc;
        offsetMinutes = (short)offset;
        return true;
    }

    private static bool Digits(ReadOnlySpan<byte> s, int start, int count, out int value)
    {
        value = 0;
        for (var i = start; i < start + count; i++)
        {
            var d = (uint)(s[i] - '0');
            if (d > 9) return false;
            value = value * 10 + (int)d;
        }
        return true;
    }
}
