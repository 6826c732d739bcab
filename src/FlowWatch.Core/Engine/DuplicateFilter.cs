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

    /// <summary>
    /// <see cref="Repeat.None"/> when the id is new (and now remembered with <paramref name="print"/>); otherwise whether
    /// the repeat's content is the same as the accepted event's or differs from it.
    /// </summary>
    public Repeat TryAdd(ReadOnlySpan<byte> txnIdUtf8, long timestampTicks, uint print, long sequence = 0)
    {
        var day = ShanghaiTime.DayNumber(timestampTicks);
        var (low, high) = TxnIdTable.KeyOf(txnIdUtf8);
        ref var slot = ref _seen.GetOrAdd(low, high, day, print, out var known);
        if (known && (horizonDays == 0 || !PastHorizon(slot.Day))) return RepeatOf(slot.Print, print);
        slot.Day = day;
        slot.Print = print;
        if (TrackAccepted) _accepted.Add(new TxnIdRecord(low, high, day, sequence, print));
        if (horizonDays > 0 && day > _newestDay)
        {
            _newestDay = day;
            _seen.RemoveDaysBefore(_newestDay - horizonDays);
        }
        return Repeat.None;
    }

    /// <summary>Whether the id was accepted and is not forgotten yet, and how the content compares, without remembering it.</summary>
    public Repeat Check(ReadOnlySpan<byte> txnIdUtf8, uint print)
    {
        var (low, high) = TxnIdTable.KeyOf(txnIdUtf8);
        return _seen.TryGet(low, high, out var day, out var accepted) && (horizonDays == 0 || !PastHorizon(day)) ? RepeatOf(accepted, print) : Repeat.None;
    }

    /// <summary>A print of 0 is an id restored from a snapshot that kept none: its content is taken to be the same.</summary>
    private static Repeat RepeatOf(uint accepted, uint print) => accepted == 0 || accepted == print ? Repeat.Same : Repeat.Differing;

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
        ref var slot = ref _seen.GetOrAdd(id.Low, id.High, id.Day, id.Print, out _);
        slot.Day = id.Day;
        slot.Print = id.Print;
        if (horizonDays > 0 && id.Day > _newestDay) _newestDay = id.Day;
    }

    /// <summary>Whether an id carried by an event of <paramref name="day"/> counts as forgotten by now.</summary>
    public bool Forgets(int day) => horizonDays > 0 && PastHorizon(day);

    private bool PastHorizon(int day) => (long)_newestDay - day > horizonDays;
}

/// <summary>What an id's earlier acceptance makes of an event carrying it.</summary>
internal enum Repeat : byte
{
    /// <summary>Not a repeat: the id is new, or forgotten.</summary>
    None,

    /// <summary>A repeat of an accepted id with the same content: a redelivery.</summary>
    Same,

    /// <summary>A repeat of an accepted id with other content: another payment reusing the id.</summary>
    Differing,
}
