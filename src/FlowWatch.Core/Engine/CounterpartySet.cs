namespace FlowWatch.Core.Engine;

/// <summary>
/// The counterparties of one direction of an entity's window, with how many of its entries name each: a multiset
/// whose <see cref="Distinct"/> count the fan rules read (RULES.md §5). Every event adds one entry and usually removes
/// one, so this is on the hot path: open addressing with linear probing over one array of (key, hash, count) slots,
/// the hash kept with the window entry so that removal does not hash the string again, and keys compared by reference
/// first (decoded strings are pooled, so equal keys are usually one instance). Removal shifts later slots back
/// instead of leaving tombstones.
/// </summary>
internal sealed class CounterpartySet
{
    private Slot[] _slots = new Slot[8];

    /// <summary>How many different counterparties the set holds.</summary>
    public int Distinct { get; private set; }

    /// <summary>The hash a counterparty is counted under; 0 for none.</summary>
    public static int HashOf(string? counterparty) => counterparty?.GetHashCode(StringComparison.Ordinal) ?? 0;

    public void Add(string counterparty, int hash)
    {
        if ((Distinct + 1) * 2 > _slots.Length) Grow();
        var mask = _slots.Length - 1;
        var i = hash & mask;
        while (_slots[i].Key is not null)
        {
            if (_slots[i].Holds(counterparty, hash))
            {
                _slots[i].Count++;
                return;
            }
            i = (i + 1) & mask;
        }
        _slots[i] = new Slot { Key = counterparty, Hash = hash, Count = 1 };
        Distinct++;
    }

    /// <summary>Removes one occurrence, which must be present (it was added with the window entry now leaving).</summary>
    public void Remove(string counterparty, int hash)
    {
        var mask = _slots.Length - 1;
        var i = hash & mask;
        while (!_slots[i].Holds(counterparty, hash))
        {
            if (_slots[i].Key is null) throw new InvalidOperationException("a counterparty left the window that never entered it");
            i = (i + 1) & mask;
        }
        if (--_slots[i].Count > 0) return;
        Distinct--;
        // Backward-shift deletion: move up each later slot of the probe run whose home does not lie cyclically in (i, j].
        for (var j = (i + 1) & mask; _slots[j].Key is not null; j = (j + 1) & mask)
        {
            var home = _slots[j].Hash & mask;
            var staysPut = i <= j ? i < home && home <= j : i < home || home <= j;
            if (staysPut) continue;
            _slots[i] = _slots[j];
            i = j;
        }
        _slots[i] = default;
    }

    /// <summary>Starts loading the slot where a counterparty of this hash is looked for first.</summary>
    public void Prefetch(int hash) => CacheHint.Prefetch(ref _slots[hash & (_slots.Length - 1)]);

    public void Clear()
    {
        Array.Clear(_slots);
        Distinct = 0;
    }

    private void Grow()
    {
        var old = _slots;
        _slots = new Slot[old.Length * 2];
        var mask = _slots.Length - 1;
        foreach (var slot in old)
        {
            if (slot.Key is null) continue;
            var i = slot.Hash & mask;
            while (_slots[i].Key is not null) i = (i + 1) & mask;
            _slots[i] = slot;
        }
    }

    private struct Slot
    {
        public string? Key;
        public int Hash;
        public int Count;

        /// <summary>Whether the slot holds <paramref name="counterparty"/>; string equality tries the reference first.</summary>
        public readonly bool Holds(string counterparty, int hash) => Hash == hash && string.Equals(Key, counterparty, StringComparison.Ordinal);
    }
}
