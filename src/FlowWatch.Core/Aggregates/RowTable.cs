using System.Runtime.InteropServices;

namespace FlowWatch.Core.Aggregates;

/// <summary>How a <see cref="RowTable{TRow, TRules}"/> tells rows with the same key apart from others and sums them.</summary>
internal interface IRowRules<TRow>
{
    /// <summary>Whether <paramref name="a"/> and <paramref name="b"/> have the same key.</summary>
    static abstract bool SameKey(in TRow a, in TRow b);

    /// <summary><paramref name="row"/> with the sums of <paramref name="more"/>, a row of the same key, added to its own.</summary>
    static abstract TRow Merge(in TRow row, in TRow more);

    /// <summary>A part of the key, such as its minute: rows of different parts never have the same key.</summary>
    static abstract long PartOf(in TRow row);
}

/// <summary>
/// One batch of aggregate rows, one per key, in the order their keys were first added. Nearly every accepted event
/// opens a row (a new minute of its entity), so this is on the engine's hot path: rows live in one array that is handed
/// out as the batch's rows, so taking a batch copies nothing, and open-addressing indexes of (hash, position) pairs find
/// a key while touching only an index unless the hash matches.
/// </summary>
/// <remarks>
/// There is an index per part of the key (the minute): events arrive roughly in time order, so the adds of a stretch of
/// the stream probe the small index of their minute, which stays cached, where one index of the whole batch (megabytes
/// for a batch of 100,000 rows) would miss the cache on nearly every add.
/// </remarks>
internal sealed class RowTable<TRow, TRules>
    where TRow : struct
    where TRules : IRowRules<TRow>
{
    private const int MinCapacity = 1024;

    /// <summary>Indexes up to this many slots are cleared and kept for the next batch's parts; larger ones are let go.</summary>
    private const int MaxSpareSlots = 1024;

    private TRow[] _rows = new TRow[MinCapacity];
    private readonly Dictionary<long, PartIndex> _parts = [];
    private readonly Stack<PartIndex> _spare = new();
    private PartIndex? _lastIndex;
    private long _lastPart;

    public int Count { get; private set; }

    /// <summary>
    /// Adds <paramref name="row"/>: merged into the row of the same key when there is one, else as a new row.
    /// <paramref name="hash"/> is the hash of its key: equal for rows of the same key.
    /// </summary>
    public void Add(in TRow row, int hash)
    {
        var part = TRules.PartOf(row);
        var index = _lastIndex is not null && _lastPart == part ? _lastIndex : IndexOf(part);
        var slots = index.Slots;
        var mask = slots.Length - 1;
        var i = hash & mask;
        for (; slots[i].Position != 0; i = (i + 1) & mask)
        {
            if (slots[i].Hash != hash) continue;
            ref var existing = ref _rows[slots[i].Position - 1];
            if (!TRules.SameKey(existing, row)) continue;
            existing = TRules.Merge(existing, row);
            return;
        }
        if (Count == _rows.Length) Array.Resize(ref _rows, Count * 2);
        _rows[Count] = row;
        slots[i] = new Slot { Hash = hash, Position = ++Count };
        // Up to three quarters full: a longer probe run mostly stays within a cache line.
        if (++index.Count * 4 > slots.Length * 3) index.Grow();
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
        foreach (var index in _parts.Values)
        {
            if (index.Slots.Length > MaxSpareSlots) continue;
            index.Clear();
            _spare.Push(index);
        }
        _parts.Clear();
        _lastIndex = null;
        Count = 0;
        return rows;
    }

    private PartIndex IndexOf(long part)
    {
        ref var index = ref CollectionsMarshal.GetValueRefOrAddDefault(_parts, part, out _);
        index ??= _spare.Count > 0 ? _spare.Pop() : new PartIndex();
        _lastPart = part;
        _lastIndex = index;
        return index;
    }

    /// <summary>The index of one part's rows.</summary>
    private sealed class PartIndex
    {
        public Slot[] Slots { get; private set; } = new Slot[16];

        public int Count { get; set; }

        public void Clear()
        {
            Array.Clear(Slots);
            Count = 0;
        }

        public void Grow()
        {
            var old = Slots;
            Slots = new Slot[old.Length * 2];
            var mask = Slots.Length - 1;
            foreach (var slot in old)
            {
                if (slot.Position == 0) continue;
                var i = slot.Hash & mask;
                while (Slots[i].Position != 0) i = (i + 1) & mask;
                Slots[i] = slot;
            }
        }
    }

    /// <summary>A key's hash and its row's position in the array plus one (0: an empty slot).</summary>
    private struct Slot
    {
        public int Hash;
        public int Position;
    }
}
