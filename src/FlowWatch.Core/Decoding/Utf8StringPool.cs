using System.Buffers.Binary;
using System.IO.Hashing;
using System.Numerics;
using System.Text;

namespace FlowWatch.Core.Decoding;

/// <summary>
/// Turns UTF-8 bytes into strings, handing back the same instance for the same bytes, so that decoding the
/// repeating fields of a payment (account, entity, currency, counterparty) allocates nothing in steady state.
/// Open addressing over a power-of-two table. Keys of up to 16 bytes (accounts, codes, most names) are held
/// inside the table entry itself, so a lookup touches one cache line instead of chasing a key array.
/// Once <see cref="Capacity"/> strings are held, new ones are allocated but not kept. Not thread-safe: one pool
/// per decoding thread.
/// </summary>
public sealed class Utf8StringPool
{
    private const int InlineKeyBytes = 16;

    private Entry[] _entries;
    private int _count;

    public Utf8StringPool(int capacity = 1 << 20, int initialSize = 1 << 12)
    {
        Capacity = capacity;
        _entries = new Entry[Math.Max(16, (int)BitOperations.RoundUpToPowerOf2((uint)initialSize))];
    }

    public int Capacity { get; }

    public int Count => _count;

    public string GetOrAdd(ReadOnlySpan<byte> utf8)
    {
        if (utf8.IsEmpty) return string.Empty;
        var hash = (uint)XxHash3.HashToUInt64(utf8);
        var (low, high) = utf8.Length <= InlineKeyBytes ? Inline(utf8) : (0UL, 0UL);
        var mask = _entries.Length - 1;
        for (var slot = (int)(hash & (uint)mask); ; slot = (slot + 1) & mask)
        {
            ref var entry = ref _entries[slot];
            if (entry.Value is null) break;
            if (entry.Hash != hash || entry.Length != utf8.Length) continue;
            if (utf8.Length <= InlineKeyBytes ? entry.Low == low && entry.High == high : entry.LongKey.AsSpan().SequenceEqual(utf8))
            {
                return entry.Value;
            }
        }

        var value = Encoding.UTF8.GetString(utf8);
        if (_count >= Capacity) return value;
        if ((_count + 1) * 2 > _entries.Length) Grow();
        Insert(new Entry
        {
            Hash = hash,
            Length = utf8.Length,
            Low = low,
            High = high,
            LongKey = utf8.Length <= InlineKeyBytes ? null : utf8.ToArray(),
            Value = value,
        });
        _count++;
        return value;
    }

    /// <summary>The key's bytes packed into two words, zero-padded; with the length they identify the key.</summary>
    private static (ulong Low, ulong High) Inline(ReadOnlySpan<byte> utf8)
    {
        Span<byte> padded = stackalloc byte[InlineKeyBytes];
        padded.Clear();
        utf8.CopyTo(padded);
        return (BinaryPrimitives.ReadUInt64LittleEndian(padded), BinaryPrimitives.ReadUInt64LittleEndian(padded[8..]));
    }

    private void Insert(in Entry entry)
    {
        var mask = _entries.Length - 1;
        var slot = (int)(entry.Hash & (uint)mask);
        while (_entries[slot].Value is not null) slot = (slot + 1) & mask;
        _entries[slot] = entry;
    }

    private void Grow()
    {
        var old = _entries;
        _entries = new Entry[old.Length * 2];
        foreach (ref readonly var entry in old.AsSpan())
        {
            if (entry.Value is not null) Insert(in entry);
        }
    }

    private struct Entry
    {
        public uint Hash;
        public int Length;
        public ulong Low;
        public ulong High;
        public byte[]? LongKey;
        public string? Value;
    }
}
