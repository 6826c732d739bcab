using System.Numerics;

namespace FlowWatch.Core.Aggregates;

/// <summary>How a <see cref="RowTable{TRow, TRules}"/> tells rows with the same key apart from others and sums them.</summary>
internal interface IRowRules<TRow>
{
    /// <summary>Whether <paramref name="a"/> and <paramref name="b"/> have the same key.</summary>
    static abstract bool SameKey(in TRow a, in TRow b);

    /// <summary><paramref name="row"/> with the sums of <paramref name="more"/>, a row of the same key, added to its own.</summary>
    static abstract TRow Merge(in TRow row, in TRow more);
}

/// <summary>
/// One batch of aggregate rows, one per key, in the order their keys were first added. Nearly every accepted event
/// opens a row (a new minute of its entity), so this is on the engine's hot path: rows live in one array that is handed
/// out as the batch's rows, so taking a batch copies nothing, and an open-addressing index of (hash, position) pairs
/// finds a key while touching only the index unless the hash matches.
/// </summary>
internal sealed class RowTable<TRow, TRules>
    where TRow : struct
    where TRules : IRowRules<TRow>
{
    private const int MinCapacity = 1024;

    private TRow[] _rows = new TRow[MinCapacity];
    private Slot[] _index = new Slot[2 * MinCapacity];

    public int Count { get; private set; }

    /// <summary>
    /// Adds <paramref name="row"/>: merged into the row of the same key when there is one, else as a new row.
    /// <paramref name="hash"/> is the hash of its key: equal for rows of the same key.
    /// </summary>
    public void Add(in TRow row, int hash)
    {
        var mask = _index.Length - 1;
        var i = hash & mask;
        for (; _index[i].Position != 0; i = (i + 1) & mask)
        {
            if (_index[i].Hash != hash) continue;
            ref var existing = ref _rows[_index[i].Position - 1];
            if (!TRules.SameKey(existing, row)) continue;
            existing = TRules.Merge(existing, row);
            return;
        }
        if (Count == _rows.Length) Array.Resize(ref _rows, Count * 2);
        _rows[Count] = row;
        _index[i] = new Slot { Hash = hash, Position = ++Count };
        // Up to three quarters full: with a batch's rows mostly new keys, every add probes the index at a random place,
        // and a smaller index misses the cache less often than a longer probe run (mostly within a cache line) costs.
        if (Count * 4 > _index.Length * 3) Reindex();
    }

    /// <summary>
    /// Hands out the rows added since the last call and starts afresh. The table never writes to rows it has handed
    /// out (a sink may read them on another thread): the next rows go to a new array, sized for a batch like this one.
    /// </summary>
    public ArraySegment<TRow> Take()
    {
        if (Count == 0) return ArraySegment<TRow>.Empty;
        var rows = new ArraySegment<TRow>(_rows, 0, Count);
        // An eighth to spare: batches of a steady stream differ little, and growing would copy the rows.
        _rows = new TRow[Math.Max(MinCapacity, Count + Count / 8)];
        Array.Clear(_index);
        Count = 0;
        return rows;
    }

    private void Reindex()
    {
        var old = _index;
        _index = new Slot[(int)BitOperations.RoundUpToPowerOf2((uint)old.Length * 2)];
        var mask = _index.Length - 1;
        foreach (var slot in old)
        {
            if (slot.Position == 0) continue;
            var i = slot.Hash & mask;
            while (_index[i].Position != 0) i = (i + 1) & mask;
            _index[i] = slot;
        }
    }

    /// <summary>A key's hash and its row's position in the array plus one (0: an empty slot).</summary>
    private struct Slot
    {
        public int Hash;
        public int Position;
    }
}
