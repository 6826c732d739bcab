using FlowWatch.Core.Contracts;

namespace FlowWatch.Core.Aggregates;

/// <summary>
/// Flows of one entity in one Shanghai minute, by account kind, channel, direction and currency: the part of them
/// that one batch of events contributed. Analysts see the sum over batches (docs/ANALYST-GUIDE.md).
/// </summary>
public sealed record PaymentsMinuteRow(
    string EntityId, long MinuteTicks, AccountKind AccountKind, Channel Channel, Direction Direction, string Currency,
    long Events, decimal Amount, decimal AmountCny);

/// <summary>Flows of one corridor (account kind → counterparty kind and country) in one minute, from one batch.</summary>
public sealed record CorridorMinuteRow(
    long MinuteTicks, AccountKind AccountKind, AccountKind CpKind, string CpCountry, string Currency, Direction Direction,
    long Events, decimal AmountCny);

/// <summary>
/// An entity's same-name penetration position for a Shanghai year (RULES.md §3) after its latest penetration event.
/// Caps and utilisation are absent for an entity without owner's equity on file. <see cref="Version"/> grows with
/// every event of the entity, so the newest position wins wherever rows meet.
/// </summary>
public sealed record PositionRow(
    string EntityId, int Year, decimal NetInflow, decimal? InflowCap, decimal? OutflowCap,
    decimal? InflowUtilisation, decimal? OutflowUtilisation, long UpdatedTicks, long Version);

/// <summary>
/// What a batch of events added to the aggregate tables. <see cref="BatchId"/> is the same whenever the same events
/// are processed again, so a sink that keys rows on it turns a repeated insert into a no-op.
/// </summary>
public sealed record AggregateBatch(
    string BatchId,
    IReadOnlyList<PaymentsMinuteRow> Payments,
    IReadOnlyList<CorridorMinuteRow> Corridors,
    IReadOnlyList<PositionRow> Positions)
{
    public bool IsEmpty => Payments.Count == 0 && Corridors.Count == 0 && Positions.Count == 0;

    public int RowCount => Payments.Count + Corridors.Count + Positions.Count;
}
