namespace FlowWatch.Core.Engine;

/// <summary>
/// Everything the engine keeps about one entity (DESIGN.md §4). Owned by exactly one shard and written only by
/// its thread, so it has no locks.
/// </summary>
public sealed class EntityState(string entityId)
{
    public const long NoTime = long.MinValue;

    public string EntityId { get; } = entityId;

    /// <summary>Hash of <see cref="EntityId"/>, worked out once for the per-event keys that include the entity.</summary>
    internal int IdHash { get; } = entityId.GetHashCode(StringComparison.Ordinal);

    /// <summary>Newest event time seen (UTC ticks), or <see cref="NoTime"/>.</summary>
    public long NewestTs { get; internal set; } = NoTime;

    public long Events { get; internal set; }

    /// <summary>
    /// Sequence (source offset) of the newest event applied to this entity, or −1: an event processed again after a
    /// restore is applied only when its sequence is above it.
    /// </summary>
    public long LastSequence { get; internal set; } = -1;

    /// <summary>Events of this entity that arrived later than the lateness bound.</summary>
    public long LateEvents { get; internal set; }

    /// <summary>
    /// Newest time of the entity's events that <see cref="Window"/> does not hold (entries dropped from it, late events,
    /// which never join it), or <see cref="NoTime"/>. Each is before any event within the lateness bound, so with the
    /// window's entries it gives an out-of-order event its previous activity by event time (DORMANT_REACTIVATION).
    /// </summary>
    internal long OutsideWindowNewestTs { get; set; } = NoTime;

    /// <summary>Changed since the shard last handed out its changed entities.</summary>
    internal bool Changed { get; set; }

    /// <summary>The entity's recent entries, held inline (a field, so that it is changed in place, never copied).</summary>
    internal WindowBuffer Window = new();

    /// <summary>Index in <see cref="Window"/> of the first entry inside (NewestTs − window, NewestTs].</summary>
    internal int WindowStart { get; set; }

    /// <summary>
    /// Index in <see cref="Window"/> at or before the first entry inside (NewestTs − 1 hour, NewestTs], moved forward as
    /// events arrive so that the hourly count does not search the window's (rarely cached) last hour on every event.
    /// It may lag behind the hour's first entry (after an out-of-order insert before it, or at 0 after a restore),
    /// never pass it.
    /// </summary>
    internal int HourStart { get; set; }

    /// <summary>Sums over the running window, held inline like <see cref="Window"/>.</summary>
    internal WindowAggregate Current;

    /// <summary>
    /// The table that numbers the counterparties of <see cref="Window"/>'s entries: its shard's, or one of its own for
    /// a state decoded from a snapshot until a shard adopts it.
    /// </summary>
    internal CounterpartyIds Counterparties { get; set; } = null!;

    /// <summary>Sums <see cref="Current"/> afresh from the entries of the running window (from <see cref="WindowStart"/> on).</summary>
    internal void SumRunningWindow()
    {
        Current.Clear();
        for (var i = WindowStart; i < Window.Count; i++) Current.Add(in Window[i]);
    }

    /// <summary>When each suppressed rule last fired, held inline.</summary>
    internal RuleSilences LastFired = RuleSilences.None;

    /// <summary>The entity's amount and hourly-count baselines (RULES.md §6).</summary>
    internal Baseline Baseline = Baseline.Empty;

    internal SmallList<DailyAccumulator> Daily;

    /// <summary>No accumulator in <see cref="Daily"/> is for a day before this one.</summary>
    internal int DailyKeptFrom { get; set; } = int.MinValue;

    internal SmallList<PenetrationPosition> Penetration;

    /// <summary>Net inflow N of the same-name penetration quota for a Shanghai calendar year (RULES.md §3).</summary>
    public decimal PenetrationNetInflow(int year)
    {
        foreach (var position in Penetration.AsSpan())
        {
            if (position.Year == year) return position.NetInflow;
        }
        return 0m;
    }

    /// <summary>Every (year, net inflow) position held, oldest first.</summary>
    public IEnumerable<(int Year, decimal NetInflow)> PenetrationPositions() =>
        Penetration.AsSpan().ToArray().OrderBy(p => p.Year).Select(p => (p.Year, p.NetInflow));
}

/// <summary>
/// When each suppressed rule last fired (UTC ticks, or <see cref="EntityState.NoTime"/>): STRUCTURING per key (0–15),
/// then RAPID_PASS_THROUGH, FAN_IN, FAN_OUT, HIGH_FREQUENCY, ML_ANOMALY.
/// </summary>
[System.Runtime.CompilerServices.InlineArray(Count)]
internal struct RuleSilences
{
    public const int Count = StructuringKey.Count + 5;

    private long _first;

    /// <summary>No rule has fired.</summary>
    public static RuleSilences None
    {
        get
        {
            var silences = new RuleSilences();
            ((Span<long>)silences).Fill(EntityState.NoTime);
            return silences;
        }
    }
}

/// <summary>
/// A large-value accumulator: per entity, Shanghai day and key (direction, category, currency class). It keeps the
/// exact CNY (or CNY-equivalent) sum of its events under one <see cref="Rate"/> (1 for the CNY class, the USD rate for
/// FX), so that an FX sum is divided once: USD-equivalents of 28 significant digits added one by one could fall short
/// of a threshold their exact sum reaches (RULES.md §1: comparisons use exact decimals).
/// </summary>
internal struct DailyAccumulator
{
    public int Day;
    public byte Key;

    /// <summary>Sum of the CNY amounts, or of the CNY-equivalents of the FX events, valued at <see cref="Rate"/>.</summary>
    public decimal Cny;

    /// <summary>CNY per unit of the accumulator's currency class: 1 for CNY, the USD rate for FX; 0 before any event.</summary>
    public decimal Rate;

    /// <summary>The accumulated amount in the class's currency (CNY, or USD-equivalent).</summary>
    public readonly decimal Sum => Rate == 0 ? 0 : Cny / Rate;

    /// <summary>Whether <see cref="Sum"/> is at or over <paramref name="threshold"/>, compared without dividing.</summary>
    public readonly bool Reached(decimal threshold) => Rate != 0 && Cny >= threshold * Rate;

    /// <summary>Adds an event's CNY amount or CNY-equivalent, <paramref name="rate"/> being the class's rate in force for it.</summary>
    public void Add(decimal cny, decimal rate)
    {
        // The USD rate changed during the day: the sum so far keeps its USD-equivalent, revalued at the new rate.
        if (rate != Rate && Rate != 0) Cny = Cny / Rate * rate;
        Rate = rate;
        Cny += cny;
    }
}

internal struct PenetrationPosition
{
    public int Year;
    public decimal NetInflow;
}
