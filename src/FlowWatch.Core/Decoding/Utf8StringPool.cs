using System.Buffers.Binary;
using System.IO.Hashing;
using System.Numerics;
using System.Text;

namespace FlowWatch.Core.Decoding;

/// <summary>
/// Turns UTF-8 bytes into strings, handing back the same instance for the same bytes, so that decoding the
/// repeating fields of a payment (account, entity, currency, counterparty) allocates nothing in steady state.
/// Open addressing over a power-of-two table; once <see cref="Capacity"/> strings are held, new ones are
/// allocated but not kept until the owner starts the pool afresh (<see cref="Clear"/>). Not thread-safe: one pool
/// per decoding thread.
/// </summary>
/// <remarks>
/// Each string kept gets a symbol, its number in the order strings were added (from 1), so that a caller can keep
/// what it works out about a string (an account's reference record, say) in an array instead of a dictionary.
/// Each entry carries its bytes as a key of two 64-bit words: for up to 16 bytes the key and the length are the
/// bytes themselves, so a lookup compares three numbers and reads no other memory; longer bytes are kept in an
/// array as well, compared only once the words and the length match.
/// </remarks>
public sealed class Utf8StringPool
{
    /// <summary>Longest text whose key words hold every byte.</summary>
    private const int KeyBytes = 16;

    private Entry[] _entries;
    private int _count;

    public Utf8StringPool(int capacity = 1 << 20, int initialSize = 1 << 12)
    {
        Capacity = capacity;
        _entries = new Entry[Math.Max(16, (int)BitOperations.RoundUpToPowerOf2((uint)initialSize))];
    }

    public int Capacity { get; }

    /// <summary>Strings kept, which is also the highest symbol given.</summary>
    public int Count => _count;

    /// <summary>Whether the pool keeps no more strings (new ones get no symbol) until it is cleared.</summary>
    public bool IsFull => _count >= Capacity;

    /// <summary>
    /// How many times the pool was cleared: a symbol names one string only within a generation, so whatever a caller
    /// kept per symbol is to be forgotten when the generation changes.
    /// </summary>
    public int Generation { get; private set; }

    /// <summary>
    /// Keeps no string any more and gives symbols from 1 again, in a new <see cref="Generation"/>. The strings handed
    /// out stay valid; the same bytes get a new instance from now on.
    /// </summary>
    public void Clear()
    {
        Array.Clear(_entries);
        _count = 0;
        Generation++;
    }

    public string GetOrAdd(ReadOnlySpan<byte> utf8) => GetOrAdd(utf8, out _);

    /// <summary>Starts loading the slot where <paramref name="utf8"/> is looked for first, for a lookup a little later.</summary>
    public void Prefetch(ReadOnlySpan<byte> utf8)
    {
        var (head, tail) = KeyOf(utf8);
        Engine.CacheHint.Prefetch(ref _entries[(int)(HashOf(utf8.Length, head, tail, utf8) & (uint)(_entries.Length - 1))]);
    }

    /// <summary>The pooled string of <paramref name="utf8"/> and its symbol: 0 when the string is not kept (empty, or the pool is full).</summary>
    public string GetOrAdd(ReadOnlySpan<byte> utf8, out int symbol)
    {
        symbol = 0;
        if (utf8.IsEmpty) return string.Empty;
        var (head, tail) = KeyOf(utf8);
        var hash = HashOf(utf8.Length, head, tail, utf8);
        var mask = _entries.Length - 1;
        for (var slot = (int)(hash & (uint)mask); ; slot = (slot + 1) & mask)
        {
            ref var entry = ref _entries[slot];
            if (entry.Value is null) break;
            if (entry.Head == head && entry.Tail == tail && entry.Length == utf8.Length
                && (utf8.Length <= KeyBytes || entry.LongUtf8.AsSpan().SequenceEqual(utf8)))
            {
                symbol = entry.Symbol;
                return entry.Value;
            }
        }

        var value = Encoding.UTF8.GetString(utf8);
        if (_count >= Capacity) return value;
        if ((_count + 1) * 2 > _entries.Length) Grow();
        symbol = ++_count;
        Insert(new Entry(utf8.Length, symbol, head, tail, utf8.Length > KeyBytes ? utf8.ToArray() : null, value), hash);
        return value;
    }

    /// <summary>
    /// Two words that, with the length, are exactly the bytes when there are at most 16 of them: overlapping reads
    /// of the first and last 8 (or 4) bytes, or the first, middle and last byte of 1 to 3. For longer text, the first
    /// and last 8 bytes, a cheap filter before the full compare.
    /// </summary>
    private static (ulong Head, ulong Tail) KeyOf(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length >= 8) return (BinaryPrimitives.ReadUInt64LittleEndian(utf8), BinaryPrimitives.ReadUInt64LittleEndian(utf8[^8..]));
        if (utf8.Length >= 4) return (BinaryPrimitives.ReadUInt32LittleEndian(utf8) | (ulong)BinaryPrimitives.ReadUInt32LittleEndian(utf8[^4..]) << 32, 0);
        return (utf8[0] | (ulong)utf8[utf8.Length / 2] << 8 | (ulong)utf8[^1] << 16, 0);
    }

    private static uint HashOf(int length, ulong head, ulong tail, ReadOnlySpan<byte> utf8) =>
        length <= KeyBytes ? Mix(head, tail, length) : (uint)XxHash3.HashToUInt64(utf8);

    /// <summary>A hash of a short text's key: multiply-xorshift mixing, so the low bits that pick a slot depend on every byte.</summary>
    private static uint Mix(ulong head, ulong tail, int length)
    {
        var x = head * 0x9E3779B97F4A7C15UL ^ BitOperations.RotateLeft(tail * 0xC2B2AE3D27D4EB4FUL, 31) ^ (ulong)length;
        x ^= x >> 32;
        x *= 0xD6E8FEB86659FD93UL;
        x ^= x >> 32;
        return (uint)x;
    }

    private void Insert(Entry entry, uint hash)
    {
        var mask = _entries.Length - 1;
        var slot = (int)(hash & (uint)mask);
        while (_entries[slot].Value is not null) slot = (slot + 1) & mask;
        _entries[slot] = entry;
    }

    private void Grow()
    {
        var old = _entries;
        _entries = new Entry[old.Length * 2];
        foreach (var entry in old)
        {
            if (entry.Value is not null) Insert(entry, HashOf(entry.Length, entry.Head, entry.Tail, entry.LongUtf8));
        }
    }

    /// <summary>
    /// A pooled string and its symbol; <see cref="LongUtf8"/> holds the bytes only when the key words cannot (more than
    /// 16). The hash is not kept: growing works it out again, so that an entry stays 40 bytes.
    /// </summary>
    private readonly record struct Entry(int Length, int Symbol, ulong Head, ulong Tail, byte[]? LongUtf8, string? Value);
}
