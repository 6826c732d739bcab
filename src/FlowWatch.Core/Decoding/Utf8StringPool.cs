using System.IO.Hashing;
using System.Numerics;
using System.Text;

namespace FlowWatch.Core.Decoding;

/// <summary>
/// Turns UTF-8 bytes into strings, handing back the same instance for the same bytes, so that decoding the
/// repeating fields of a payment (account, entity, currency, counterparty) allocates nothing in steady state.
/// Open addressing over a power-of-two table; once <see cref="Capacity"/> strings are held, new ones are
/// allocated but not kept. Not thread-safe: one pool per decoding thread.
/// </summary>
public sealed class Utf8StringPool
{
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
        var mask = _entries.Length - 1;
        for (var slot = (int)(hash & (uint)mask); ; slot = (slot + 1) & mask)
        {
            ref var entry = ref _entries[slot];
            if (entry.Value is null) break;
            if (entry.Hash == hash && entry.Utf8.AsSpan().SequenceEqual(utf8)) return entry.Value;
        }

        var value = Encoding.UTF8.GetString(utf8);
        if (_count >= Capacity) return value;
        if ((_count + 1) * 2 > _entries.Length) Grow();
        Insert(new Entry(hash, utf8.ToArray(), value));
        _count++;
        return value;
    }

    private void Insert(Entry entry)
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
        foreach (var entry in old)
        {
            if (entry.Value is not null) Insert(entry);
        }
    }

    private readonly record struct Entry(uint Hash, byte[] Utf8, string? Value);
}
