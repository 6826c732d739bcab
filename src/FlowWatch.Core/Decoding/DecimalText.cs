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
/// Zeros after the last significant decimal do not count as decimals, since they do not change the value.
/// </summary>
public static class DecimalText
{
    public const int MaxDecimals = 4;
    public static readonly decimal MaxAmount = 1_000_000_000_000_000m;

    /// <summary>
    /// The same value at the smallest scale that holds it exactly (12.5000 → 12.5, 3.00 → 3), so that equal values
    /// print alike. Dividing by 1 written with 28 decimals does that.
    /// </summary>
    public static decimal Canonical(decimal value) => value / 1.0000000000000000000000000000m;

    /// <summary>Integer digits of the largest amount, 10^15.</summary>
    private const int MaxIntegerDigits = 16;

    public static AmountError TryParseAmount(ReadOnlySpan<byte> s, out decimal amount)
    {
        amount = 0;
        var i = 0;
        var negative = false;
        if (i < s.Length && (s[i] == '-' || s[i] == '+')) negative = s[i++] == '-';

        // The digits before and after the point form one sequence S; value = S × 10^(exponent − fractionDigits).
        var integerStart = i;
        while (i < s.Length && IsDigit(s[i])) i++;
        var integerEnd = i;
        var fractionStart = i;
        var fractionEnd = i;
        if (i < s.Length && s[i] == '.')
        {
            fractionStart = ++i;
            while (i < s.Length && IsDigit(s[i])) i++;
            fractionEnd = i;
            if (fractionEnd == fractionStart) return AmountError.NotANumber;
        }
        if (integerEnd == integerStart && fractionEnd == fractionStart) return AmountError.NotANumber;

        long exponent = 0;
        if (i < s.Length && (s[i] == 'e' || s[i] == 'E'))
        {
            i++;
            var exponentNegative = false;
            if (i < s.Length && (s[i] == '+' || s[i] == '-')) exponentNegative = s[i++] == '-';
            var exponentStart = i;
            while (i < s.Length && IsDigit(s[i]))
            {
                if (exponent < 1_000_000) exponent = exponent * 10 + (s[i] - '0');
                i++;
            }
            if (i == exponentStart) return AmountError.NotANumber;
            if (exponentNegative) exponent = -exponent;
        }
        if (i != s.Length) return AmountError.NotANumber;

        var integerDigits = s[integerStart..integerEnd];
        var fractionDigits = s[fractionStart..fractionEnd];
        var length = integerDigits.Length + fractionDigits.Length;
        var first = 0;
        while (first < length && Digit(integerDigits, fractionDigits, first) == 0) first++;
        if (first == length || negative) return AmountError.NotPositive;
        var last = length - 1;
        while (Digit(integerDigits, fractionDigits, last) == 0) last--;

        // value = D × 10^power, with D = S[first..last] free of leading and trailing zeros.
        var significant = last - first + 1;
        var power = exponent - fractionDigits.Length + (length - 1 - last);
        if (significant + power > MaxIntegerDigits) return AmountError.TooLarge;
        if (power < -MaxDecimals) return AmountError.TooManyDecimals;

        // Now at most 16 integer digits and 4 decimals: at most 20 digits, which fit a UInt128 and a decimal.
        UInt128 mantissa = 0;
        for (var d = first; d <= last; d++) mantissa = mantissa * 10 + (uint)Digit(integerDigits, fractionDigits, d);
        for (var p = 0L; p < power; p++) mantissa *= 10;
        var scale = (byte)(power < 0 ? -power : 0);
        var value = new decimal((int)(uint)mantissa, (int)(uint)(mantissa >> 32), (int)(uint)(mantissa >> 64), false, scale);
        if (value > MaxAmount) return AmountError.TooLarge;
        amount = value;
        return AmountError.None;
    }

    private static bool IsDigit(byte b) => (uint)(b - '0') <= 9;

    private static int Digit(ReadOnlySpan<byte> integerDigits, ReadOnlySpan<byte> fractionDigits, int index) =>
        (index < integerDigits.Length ? integerDigits[index] : fractionDigits[index - integerDigits.Length]) - '0';
}
