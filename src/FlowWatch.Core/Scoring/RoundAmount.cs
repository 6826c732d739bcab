using FlowWatch.Core.Decoding;

namespace FlowWatch.Core.Scoring;

/// <summary>
/// The round-amount feature: 1 for a whole multiple of 10,000, 0.5 for a multiple of 1,000, else 0. Read from the
/// decimal's integer mantissa and scale, without decimal division (which costs more than the rest of the features).
/// </summary>
public static class RoundAmount
{
    public static float Of(decimal amount)
    {
        Span<int> bits = stackalloc int[4];
        decimal.GetBits(amount, bits);
        var scale = (bits[3] >> 16) & 0xFF;
        if (bits[2] != 0 || scale > 15)
        {
            // Beyond 64 bits of mantissa (over 10^19 units) or very fine scales: the exact, slower way.
            return amount % 10_000m == 0 ? 1 : amount % 1_000m == 0 ? 0.5f : 0;
        }
        var mantissa = ((ulong)(uint)bits[1] << 32) | (uint)bits[0];
        // amount = mantissa / 10^scale, so amount is a multiple of 10^k exactly when 10^(k + scale) divides the mantissa.
        return mantissa % DecimalText.PowersOfTen[4 + scale] == 0 ? 1 : mantissa % DecimalText.PowersOfTen[3 + scale] == 0 ? 0.5f : 0;
    }
}
