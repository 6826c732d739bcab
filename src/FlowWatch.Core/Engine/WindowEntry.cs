using FlowWatch.Core.Contracts;

namespace FlowWatch.Core.Engine;

/// <summary>
/// What the trailing-window rules need to remember of one event. <paramref name="Key"/> indexes
/// (direction, category, currency class), see <see cref="StructuringKey"/>; <paramref name="InBand"/> says the
/// amount lies in [fraction·T, T) of that key's large-value threshold T. <paramref name="CpId"/> is the
/// counterparty's number in the entity's <see cref="CounterpartyIds"/> (0 for none): the entry holds no reference.
/// Laid out by the runtime, 48 bytes; in declaration order the padding would make it 64.
/// </summary>
[System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Auto)]
internal readonly record struct WindowEntry(
    long Ts,
    Direction Direction,
    decimal AmountCny,
    byte Key,
    bool InBand,
    decimal ClassAmount,
    int CpId);

/// <summary>Index of the 16 (direction, category, currency class) keys of RULES.md §4 and §5.</summary>
internal static class StructuringKey
{
    public const int Count = 16;

    public static byte Of(Direction direction, LargeValueCategory category, CurrencyClass currencyClass) =>
        (byte)(((int)direction << 3) | ((int)category << 1) | (int)currencyClass);

    public static Direction DirectionOf(int key) => (Direction)(key >> 3);

    public static LargeValueCategory CategoryOf(int key) => (LargeValueCategory)((key >> 1) & 3);

    public static CurrencyClass ClassOf(int key) => (CurrencyClass)(key & 1);
}

/// <summary>
/// Sums over a set of window entries: inflow and outflow (CNY-equivalent), the number of just-below-threshold
/// events per key, and distinct counterparties per direction. One instance per entity follows its current window
/// incrementally; a shard-wide scratch instance is rebuilt by scanning for an out-of-order event. A struct held
/// inside its owner, so that an event does not wait for one more object to load; the default value is empty.
/// </summary>
internal struct WindowAggregate
{
    /// <summary>
    /// Sums of CNY-equivalents (at most 10 decimals each) below this are exact; at or above it decimal's 28 digits may
    /// round them, and a rounding kept in a running sum would outlast the entry that caused it (docs/SEMANTICS.md).
    /// </summary>
    private const decimal ExactSumBound = 1_000_000_000_000_000_000m;

    public decimal InflowCny;
    public decimal OutflowCny;
    public BandCounts BandCount;

    /// <summary>A sum has reached <see cref="ExactSumBound"/> since the last <see cref="Clear"/>: it may hold a rounding.</summary>
    public bool MayBeRounded { get; private set; }

    private CounterpartySet _counterpartiesIn;
    private CounterpartySet _counterpartiesOut;

    public readonly int DistinctCounterparties(Direction direction) =>
        direction == Direction.In ? _counterpartiesIn.Distinct : _counterpartiesOut.Distinct;

    public void Add(in WindowEntry entry)
    {
        ref var sum = ref entry.Direction == Direction.In ? ref InflowCny : ref OutflowCny;
        sum += entry.AmountCny;
        if (sum >= ExactSumBound) MayBeRounded = true;
        if (entry.InBand) BandCount[entry.Key]++;
        if (entry.CpId != 0)
        {
            (entry.Direction == Direction.In ? ref _counterpartiesIn : ref _counterpartiesOut).Add(entry.CpId);
        }
    }

    /// <summary>Starts loading the slot of <paramref name="direction"/>'s counterparty set where counterparty <paramref name="cpId"/> is counted.</summary>
    public readonly void Prefetch(Direction direction, int cpId)
    {
        if (direction == Direction.In) _counterpartiesIn.Prefetch(cpId);
        else _counterpartiesOut.Prefetch(cpId);
    }

    public void Remove(in WindowEntry entry)
    {
        if (entry.Direction == Direction.In) InflowCny -= entry.AmountCny;
        else OutflowCny -= entry.AmountCny;
        if (entry.InBand) BandCount[entry.Key]--;
        if (entry.CpId != 0) (entry.Direction == Direction.In ? ref _counterpartiesIn : ref _counterpartiesOut).Remove(entry.CpId);
    }

    public void Clear()
    {
        InflowCny = 0;
        OutflowCny = 0;
        MayBeRounded = false;
        BandCount = default;
        _counterpartiesIn.Clear();
        _counterpartiesOut.Clear();
    }
}

/// <summary>The number of in-band entries per (direction, category, currency class) key, held inline.</summary>
[System.Runtime.CompilerServices.InlineArray(StructuringKey.Count)]
internal struct BandCounts
{
    private int _first;
}

/// <summary>
/// An entity's recent events in event-time order (ties in arrival order), in a segment of a larger array (see
/// <see cref="WindowPool"/>) with a moving head: appends and head drops are O(1); an out-of-order event within the
/// lateness bound is inserted in place. A struct held inside its entity's state (one object fewer to wait for on every
/// event), so it is used through references, never copied.
/// </summary>
internal struct WindowBuffer
{
    /// <summary>The array the segment is in: a pool's chunk, or an array of its own.</summary>
    private WindowEntry[] _items;

    /// <summary>Where the segment starts in <see cref="_items"/>, and how many entries it holds.</summary>
    private int _offset;
    private int _capacity;

    /// <summary>Where the first entry is in <see cref="_items"/>.</summary>
    private int _first;
    private int _count;

    public WindowBuffer()
    {
        _items = [];
        OldestTs = long.MaxValue;
    }

    public readonly int Count => _count;

    /// <summary>Time of the first entry, kept beside the count so that checking it does not touch the (cold) entries.</summary>
    public long OldestTs { readonly get; private set; }

    public readonly ref readonly WindowEntry this[int index] => ref _items[_first + index];

    /// <summary>Index of the first entry with a time after <paramref name="ts"/> (entries are in time order).</summary>
    public readonly int UpperBound(long ts) => UpperBound(ts, _count);

    /// <summary>
    /// Index of the first entry before <paramref name="end"/> with a time after <paramref name="ts"/>, searched
    /// backwards from <paramref name="end"/> in doubling steps: O(log k) for the k entries it skips, so counting the
    /// few entries of the last minute or hour does not pay for the whole day's window.
    /// </summary>
    public readonly int UpperBound(long ts, int end)
    {
        var high = end;
        var step = 1;
        while (high - step >= 0 && _items[_first + high - step].Ts > ts)
        {
            high -= step;
            step <<= 1;
        }
        var low = Math.Max(high - step, 0);
        while (low < high)
        {
            var mid = (low + high) >>> 1;
            if (_items[_first + mid].Ts <= ts) low = mid + 1;
            else high = mid;
        }
        return low;
    }

    /// <summary>Starts loading the entry at <paramref name="index"/> (if any) and the slot the next append writes.</summary>
    public readonly void Prefetch(int index)
    {
        if (index < _count) CacheHint.Prefetch(ref _items[_first + index]);
        if (_first + _count < _offset + _capacity) CacheHint.Prefetch(ref _items[_first + _count]);
    }

    /// <summary>Adds an entry at the end; room for more comes from <paramref name="pool"/> (without one, arrays of their own).</summary>
    public void Append(in WindowEntry entry, WindowPool? pool)
    {
        if (_count == 0) OldestTs = entry.Ts;
        EnsureRoomAtEnd(pool);
        _items[_first + _count++] = entry;
    }

    /// <summary>Inserts after every entry with a time at or before the new one.</summary>
    public void InsertSorted(in WindowEntry entry, WindowPool? pool)
    {
        var index = _count;
        while (index > 0 && _items[_first + index - 1].Ts > entry.Ts) index--;
        EnsureRoomAtEnd(pool);
        Array.Copy(_items, _first + index, _items, _first + index + 1, _count - index);
        _items[_first + index] = entry;
        _count++;
        if (index == 0) OldestTs = entry.Ts;
    }

    /// <summary>Replaces the entry at <paramref name="index"/> with one of the same time.</summary>
    public void Replace(int index, in WindowEntry entry) => _items[_first + index] = entry;

    public void DropFirst(int n)
    {
        _first += n;
        _count -= n;
        if (_count == 0) _first = _offset;
        OldestTs = _count == 0 ? long.MaxValue : _items[_first].Ts;
    }

    private void EnsureRoomAtEnd(WindowPool? pool)
    {
        if (_first + _count < _offset + _capacity) return;
        if (_first > _offset && _count < _capacity / 2)
        {
            Array.Copy(_items, _first, _items, _offset, _count);
            _first = _offset;
            return;
        }
        var capacity = Math.Max(WindowPool.MinCapacity, _capacity * 2);
        var (items, offset) = pool?.Rent(capacity) ?? (new WindowEntry[capacity], 0);
        Array.Copy(_items, _first, items, offset, _count);
        if (_capacity > 0) pool?.Return(_items, _offset, _capacity);
        _items = items;
        _offset = offset;
        _capacity = capacity;
        _first = offset;
    }
}
