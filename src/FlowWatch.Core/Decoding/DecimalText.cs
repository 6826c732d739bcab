namespace FlowWatch.Core.Decoding;

/// <summary>Outcome of parsing an amount; each failure has its own reason.</summary>
public enum AmountError : byte
{
    None,
    NotANumber,
    NotPositive,
    TooLarge,
    TooManyDecimals,
}

/// <summary>
/// Exact, allocation-free parsing of money amounts written as JSON numbers or decimal strings
/// (<c>123</c>, <c>123.4500</c>, <c>1.5e6</c>). DESIGN.md §3.1: amount &gt; 0, ≤ 10^15, at most 4 decimals.
/// Trailing zeros beyond the 4th decimal are accepted, since they do not change the value.
/// </summary>
public static class DecimalText
{
    public const int MaxDecimals = 4;
    public static readonly decimal MaxAmount = 1_000_000_000_000_000m;

    public static AmountError TryParseAmount(ReadOnlySpan<byte> s, out decimal amount)
    {
        amount = 0;
        if (s.IsEmpty) return AmountError.NotANumber;
        var i = 0;
        var negative = false;
        if (s[0] == '-') { negative = true; i++; }
        else if (s[0] == '+') { i++; }

        ulong mantissa = 0;
        var significant = 0;   // digits kept in the mantissa (leading zeros skipped)
        var scale = 0;         // digits after the point that went into the mantissa
        var dropped = 0;       // integer digits that did not fit (only possible when far too large)
        var sawDigit = false;
        var sawNonZeroDroppedFraction = false;

        for (; i < s.Length && (uint)(s[i] - '0') <= 9; i++)
        {
            sawDigit = true;
            Accumulate(s[i], ref mantissa, ref significant, ref dropped, fraction: false, ref sawNonZeroDroppedFraction, ref scale);
        }
        if (i < s.Length && s[i] == '.')
        {
            i++;
            var fractionStart = i;
            for (; i < s.Length && (uint)(s[i] - '0') <= 9; i++)
            {
                Accumulate(s[i], ref mantissa, ref significant, ref dropped, fraction: true, ref sawNonZeroDroppedFraction, ref scale);
            }
            if (i == fractionStart) return AmountError.NotANumber;
            sawDigit = true;
        }
        if (!sawDigit) return AmountError.NotANumber;

        var exponent = 0;
        if (i < s.Length && (s[i] == 'e' || s[i] == 'E'))
        {
            i++;
            var expNegative = false;
            if (i < s.Length && (s[i] == '+' || s[i] == '-')) { expNegative = s[i] == '-'; i++; }
            var expStart = i;
            for (; i < s.Length && (uint)(s[i] - '0') <= 9; i++)
            {
                if (exponent > 10_000) return AmountError.TooLarge;
                exponent = exponent * 10 + (s[i] - '0');
            }
            if (i == expStart) return AmountError.NotANumber;
            if (expNegative) exponent = -exponent;
        }
        if (i != s.Length) return AmountError.NotANumber;
        if (sawNonZeroDroppedFraction) return AmountError.TooManyDecimals;

        // value = mantissa × 10^(dropped + exponent − scale)
        var power = dropped + exponent - scale;
        if (mantissa == 0) return AmountError.NotPositive;
        if (negative) return AmountError.NotPositive;
        while (power < 0 && mantissa % 10 == 0) { mantissa /= 10; power++; }
        if (power < -MaxDecimals) return AmountError.TooManyDecimals;
        if (power > 15 || significant + power > 16) return AmountError.TooLarge;
        while (power > 0)
        {
            mantissa *= 10;   // cannot overflow: at most 16 digits before the point
            power--;
        }
        var value = new decimal((int)(uint)mantissa, (int)(uint)(mantissa >> 32), 0, false, (byte)-power);
        if (value > MaxAmount) return AmountError.TooLarge;
        amount = value;
        return AmountError.None;
    }

    private static void Accumulate(byte digit, ref ulong mantissa, ref int significant, ref int dropped, bool fraction,
        ref bool sawNonZeroDroppedFraction, ref int scale)
    {
        var d = (uint)(digit - '0');
        if (significant == 0 && d == 0)
        {
            if (fraction) scale++;   // leading zero after the point still shifts the scale
            return;
        }
        // 19 digits always fit a ulong; more significant digits than that mean a value far beyond 10^15
        // or a fraction finer than 4 decimals.
        if (significant < 19)
        {
            mantissa = mantissa * 10 + d;
            significant++;
            if (fraction) scale++;
        }
        else if (fraction)
        {
            if (d != 0) sawNonZeroDroppedFraction = true;
        }
        else
        {
            dropped++;
        }
    }
}
