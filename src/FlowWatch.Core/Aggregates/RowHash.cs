namespace FlowWatch.Core.Aggregates;

/// <summary>
/// Hashes of aggregate row keys, built a word at a time. The strings in keys other than the entity (currencies,
/// countries) are codes of two or three letters: <see cref="Code"/> packs them into a word instead of hashing them.
/// Hashes live only in memory, so they need not be stable across processes.
/// </summary>
internal static class RowHash
{
    private const ulong Multiplier = 0x9E3779B97F4A7C15;
    private const ulong Finisher = 0xFF51AFD7ED558CCD;
    private const int PackedChars = 3;

    /// <summary>The hash so far with one more word of the key.</summary>
    public static ulong Add(ulong hash, ulong word) => (hash ^ word) * Multiplier;

    /// <summary>
    /// The hash of the words added, every bit of them reaching the low bits that pick an index slot: the multiplications
    /// of <see cref="Add"/> carry a bit only upwards.
    /// </summary>
    public static int Finish(ulong hash)
    {
        hash ^= hash >> 33;
        hash *= Finisher;
        return (int)(hash ^ (hash >> 33));
    }

    /// <summary>
    /// A word for <paramref name="code"/>: its length and chars when it has at most three, distinct for distinct
    /// codes; else its ordinal hash.
    /// </summary>
    public static ulong Code(string code)
    {
        if (code.Length > PackedChars) return (uint)code.GetHashCode(StringComparison.Ordinal);
        var word = (ulong)code.Length << (16 * PackedChars);
        for (var i = 0; i < code.Length; i++) word |= (ulong)code[i] << (16 * i);
        return word;
    }
}
