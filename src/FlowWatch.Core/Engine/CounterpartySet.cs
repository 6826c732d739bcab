namespace FlowWatch.Core.Engine;

/// <summary>
/// The counterparties of one direction of an entity's window, by their numbers (<see cref="CounterpartyIds"/>), with
/// how many of its entries name each: a multiset whose <see cref="Distinct"/> count the fan rules read (RULES.md §5).
/// Every event adds one entry and usually removes one, so this is on the hot path: open addressing with linear probing
/// over one array of (number, count) slots, holding no references. Removal shifts later slots back instead of leaving
/// tombstones. A struct held inside its window's sums (one object fewer to wait for); its slots are made at the first
/// counterparty, so the default value is an empty set.
/// </summary>
internal struct CounterpartySet
{
    private Slot[]? _slots;

    /// <summary>How many different counterparties the set holds.</summary>
    public int Distinct { readonly get; private set; }

    public void Add(int cpId)
    {
        _slots ??= new Slot[8];
        if ((Distinct + 1) * 2 > _slots.Length) Grow();
        var mask = _slots.Length - 1;
        var i = Home(cpId, mask);
        while (_slots[i].Id != 0)
        {
            if (_slots[i].Id == cpId)
            {
                _slots[i].Count++;
                return;
            }
            i = (i + 1) & mask;
        }
        _slots[i] = new Slot { Id = cpId, Count = 1 };
        Distinct++;
    }

    /// <summary>Removes one occurrence, which must be present (it was added with the window entry now leaving).</summary>
    public void Remove(int cpId)
    {
        if (_slots is null) throw new InvalidOperationException("a counterparty left the window that never entered it");
        var mask = _slots.Length - 1;
        var i = Home(cpId, mask);
        while (_slots[i].Id != cpId)
        {
            if (_slots[i].Id == 0) throw new InvalidOperationException("a counterparty left the window that never entered it");
            i = (i + 1) & mask;
        }
        if (--_slots[i].Count > 0) return;
        Distinct--;
        // Backward-shift deletion: move up each later slot of the probe run whose home does not lie cyclically in (i, j].
        for (var j = (i + 1) & mask; _slots[j].Id != 0; j = (j + 1) & mask)
        {
            var home = Home(_slots[j].Id, mask);
            var staysPut = i <= j ? i < home && home <= j : i < home || home <= j;
            if (staysPut) continue;
            _slots[i] = _slots[j];
            i = j;
        }
        _slots[i] = default;
    }

    /// <summary>Starts loading the slot where counterparty <paramref name="cpId"/> is looked for first.</summary>
    public readonly void Prefetch(int cpId)
    {
        if (_slots is not null) CacheHint.Prefetch(ref _slots[Home(cpId, _slots.Length - 1)]);
    }

    public void Clear()
    {
        if (_slots is not null) Array.Clear(_slots);
        Distinct = 0;
    }

    /// <summary>Numbers are handed out densely from 1; multiplying by an odd constant spreads neighbours apart.</summary>
    private static int Home(int cpId, int mask) => (int)((uint)cpId * 0x9E3779B1u) & mask;

    private void Grow()
    {
        var old = _slots!;
        _slots = new Slot[old.Length * 2];
        var mask = _slots.Length - 1;
        foreach (var slot in old)
        {
            if (slot.Id == 0) continue;
            var i = Home(slot.Id, mask);
            while (_slots[i].Id != 0) i = (i + 1) & mask;
            _slots[i] = slot;
        }
    }

    private struct Slot
    {
        public int Id;
        public int Count;
    }
}
