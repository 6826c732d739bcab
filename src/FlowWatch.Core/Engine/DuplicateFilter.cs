namespace FlowWatch.Core.Engine;

/// <summary>
/// Recognises repeats of accepted <c>txnId</c>s. With a horizon of 0 every id is kept, as RULES.md §1 reads.
/// With a horizon of N days an id is forgotten once the newest event day is more than N days past the day of the
/// event that carried it (docs/SEMANTICS.md), and a repeat arriving after that is accepted again. Forgotten ids
/// leave memory when a new day begins, so memory stays bounded; an id past the horizon but not yet swept
/// already counts as forgotten.
/// </summary>
internal sealed class DuplicateFilter(int horizonDays)
{
    private readonly TxnIdTable _seen = new();
    private readonly List<TxnIdRecord> _accepted = [];
    private int _newestDay = int.MinValue;

    public int Count => _seen.Count;

    /// <summary>
    /// Starts loading the table's slot for an id that <see cref="TryAdd"/> will be asked about shortly. The table is
    /// too large to stay cached, and reference lookups can run while the slot loads.
    /// </summary>
    public void Prefetch(ReadOnlySpan<byte> txnIdUtf8) => _seen.Prefetch(TxnIdTable.KeyOf(txnIdUtf8).Low);

    /// <summary>True when the id is new (and now remembered); false for a duplicate.</summary>
    public bool TryAdd(ReadOnlySpan<byte> txnIdUtf8, long timestampTicks, long sequence = 0)
    {
        var day = ShanghaiTime.DayNumber(timestampTicks);
        var (low, high) = TxnIdTable.KeyOf(txnIdUtf8);
        ref var carrierDay = ref _seen.GetOrAdd(low, high, day, out var known);
        if (known && (horizonDays == 0 || !PastHorizon(carrierDay))) return false;
        carrierDay = day;
        if (TrackAccepted) _accepted.Add(new TxnIdRecord(low, high, day, sequence));
        if (horizonDays > 0 && day > _newestDay)
        {
            _newestDay = day;
            _seen.RemoveDaysBefore(_newestDay - horizonDays);
        }
        return true;
    }

    /// <summary>Whether the id was accepted and is not forgotten yet, without remembering it.</summary>
    public bool Knows(ReadOnlySpan<byte> txnIdUtf8)
    {
        var (low, high) = TxnIdTable.KeyOf(txnIdUtf8);
        return _seen.TryGetDay(low, high, out var day) && (horizonDays == 0 || !PastHorizon(day));
    }

    /// <summary>When set, accepted ids are kept for <see cref="TakeAccepted"/> (snapshots).</summary>
    public bool TrackAccepted { get; set; }

    /// <summary>Moves the ids accepted since the last call into <paramref name="into"/>.</summary>
    public void TakeAccepted(List<TxnIdRecord> into)
    {
        into.AddRange(_accepted);
        _accepted.Clear();
    }

    /// <summary>Remembers an id from a snapshot; a later record of the same id replaces an earlier one.</summary>
    public void Restore(TxnIdRecord id)
    {
        _seen.GetOrAdd(id.Low, id.High, id.Day, out _) = id.Day;
        if (horizonDays > 0 && id.Day > _newestDay) _newestDay = id.Day;
    }

    /// <summary>Whether an id carried by an event of <paramref name="day"/> counts as forgotten by now.</summary>
    public bool Forgets(int day) => horizonDays > 0 && PastHorizon(day);

    private bool PastHorizon(int day) => (long)_newestDay - day > horizonDays;
}
