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

    /// <summary>Digits a <see cref="ulong"/> always holds: 10^19 − 1 &lt; 2^64.</summary>
    private const int MaxPlainDigits = 19;

    /// <summary>
    /// 10^0 … 10^19, every power of ten a <see cref="ulong"/> holds; 10^(15 + scale) bounds the mantissa of an amount
    /// ≤ 10^15 at that scale.
    /// </summary>
    internal static readonly ulong[] PowersOfTen =
    [
        1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000, 10_000_000_000,
        100_000_000_000, 1_000_000_000_000, 10_000_000_000_000, 100_000_000_000_000, 1_000_000_000_000_000,
        10_000_000_000_000_000, 100_000_000_000_000_000, 1_000_000_000_000_000_000, 10_000_000_000_000_000_000,
    ];

    public static AmountError TryParseAmount(ReadOnlySpan<byte> s, out decimal amount) =>
        TryParsePlain(s, out amount, out var error) ? error : TryParseAny(s, out amount);

    /// <summary>
    /// The common text <c>digits[.digits]</c> with at most 19 digits once the fraction's trailing zeros are dropped:
    /// <see cref="ulong"/> arithmetic and an integer bound in place of <see cref="TryParseAny"/>'s general steps,
    /// with the same answer. False for any other text, left to <see cref="TryParseAny"/>.
    /// </summary>
    private static bool TryParsePlain(ReadOnlySpan<byte> s, out decimal amount, out AmountError error)
    {
        amount = 0;
        error = AmountError.None;
        ulong mantissa = 0;
        var i = 0;
        for (; i < s.Length && i < MaxPlainDigits; i++)
        {
            var digit = (uint)(s[i] - '0');
            if (digit > 9) break;
            mantissa = mantissa * 10 + digit;
        }
        if (i == 0) return false;

        var scale = 0;
        if (i < s.Length)
        {
            // A 20th digit, an exponent, a sign or a bare point all go to the general path.
            var fractionStart = i + 1;
            if (s[i] != '.' || fractionStart == s.Length) return false;
            // Zeros after the last significant decimal change neither the value nor its scale (see the class).
            var fractionEnd = s.Length;
            while (s[fractionEnd - 1] == '0') fractionEnd--;
            scale = fractionEnd - fractionStart;
            if (i + scale > MaxPlainDigits) return false;
            for (var f = fractionStart; f < fractionEnd; f++)
            {
                var digit = (uint)(s[f] - '0');
                if (digit > 9) return false;
                mantissa = mantissa * 10 + digit;
            }
        }

        // With at most 19 digits a value ≥ 10^16 has no room for 5 decimals, so no text here is both too large and
        // too precise, and the order of these checks cannot differ from the general path's.
        if (mantissa == 0) error = AmountError.NotPositive;
        else if (scale > MaxDecimals) error = AmountError.TooManyDecimals;
        else if (mantissa > PowersOfTen[MaxIntegerDigits - 1 + scale]) error = AmountError.TooLarge;
        else amount = new decimal((int)(uint)mantissa, (int)(uint)(mantissa >> 32), 0, false, (byte)scale);
        return true;
    }

    /// <summary>Any text: a sign, digits with or without a point, an exponent. The judge of every case <see cref="TryParsePlain"/> declines.</summary>
    internal static AmountError TryParseAny(ReadOnlySpan<byte> s, out decimal amount)
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
