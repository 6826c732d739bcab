using System.Globalization;
using System.IO.Hashing;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Engine;

namespace FlowWatch.Core.Aggregates;

/// <summary>
/// Flows of one entity in one Shanghai minute, by account kind, channel, direction and currency: the part of them
/// that one batch of events contributed. Analysts see the sum over batches (docs/ANALYST-GUIDE.md).
/// </summary>
public readonly record struct PaymentsMinuteRow(
    string EntityId, long MinuteTicks, AccountKind AccountKind, Channel Channel, Direction Direction, string Currency,
    long Events, decimal Amount, decimal AmountCny);

/// <summary>Flows of one corridor (account kind → counterparty kind and country) in one minute, from one batch.</summary>
public readonly record struct CorridorMinuteRow(
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

    /// <summary>
    /// Splits the batch into up to <paramref name="parts"/> batches, <c>{BatchId}/{k}</c>, by a stable hash of each
    /// row's roll-up key (the entity, or the corridor), so all minute rows that roll up into one hour or day row are
    /// in the same part. A sink may then write parts apart: no roll-up row of a part is made from two inserts. The
    /// same batch always splits the same way.
    /// </summary>
    public IReadOnlyList<AggregateBatch> Split(int parts)
    {
        if (parts <= 1) return [this];
        var payments = Lists<PaymentsMinuteRow>(parts);
        var corridors = Lists<CorridorMinuteRow>(parts);
        var positions = Lists<PositionRow>(parts);
        foreach (var row in Payments) payments[PartOf(row.EntityId, parts)].Add(row);
        foreach (var row in Corridors)
        {
            corridors[PartOf($"{row.AccountKind}|{row.CpKind}|{row.CpCountry}|{row.Currency}|{row.Direction}", parts)].Add(row);
        }
        foreach (var row in Positions) positions[PartOf(row.EntityId, parts)].Add(row);
        return [.. Enumerable.Range(0, parts)
            .Select(k => new AggregateBatch(string.Create(CultureInfo.InvariantCulture, $"{BatchId}/{k}"), payments[k], corridors[k], positions[k]))
            .Where(part => !part.IsEmpty)];
    }

    /// <summary>
    /// The batch in the smallest parts that a sink may still write apart, <c>{BatchId}/{k}</c>: the minute rows of each
    /// day row (an entity's or a corridor's Shanghai day, with the day row's other columns; at most 1,440 rows), and each
    /// position alone. A part holds every minute row of the hour and day rows it makes. The same batch always gives the
    /// same parts in the same order.
    /// </summary>
    public IReadOnlyList<AggregateBatch> DayParts()
    {
        var parts = new List<AggregateBatch>();
        void Add(IReadOnlyList<PaymentsMinuteRow> payments, IReadOnlyList<CorridorMinuteRow> corridors, IReadOnlyList<PositionRow> positions) =>
            parts.Add(new AggregateBatch(string.Create(CultureInfo.InvariantCulture, $"{BatchId}/{parts.Count}"), payments, corridors, positions));
        foreach (var day in Payments.GroupBy(r => (r.EntityId, ShanghaiTime.DayNumber(r.MinuteTicks), r.AccountKind, r.Channel, r.Direction, r.Currency)))
        {
            Add([.. day], [], []);
        }
        foreach (var day in Corridors.GroupBy(r => (ShanghaiTime.DayNumber(r.MinuteTicks), r.AccountKind, r.CpKind, r.CpCountry, r.Currency, r.Direction)))
        {
            Add([], [.. day], []);
        }
        foreach (var position in Positions) Add([], [], [position]);
        return parts;
    }

    /// <summary>One batch of the rows of <paramref name="parts"/>, under <paramref name="batchId"/>.</summary>
    public static AggregateBatch Join(string batchId, IReadOnlyList<AggregateBatch> parts) => new(batchId,
        [.. parts.SelectMany(p => p.Payments)], [.. parts.SelectMany(p => p.Corridors)], [.. parts.SelectMany(p => p.Positions)]);

    private static List<T>[] Lists<T>(int count) => [.. Enumerable.Range(0, count).Select(_ => new List<T>())];

    private static int PartOf(string key, int parts) =>
        (int)(XxHash3.HashToUInt64(System.Runtime.InteropServices.MemoryMarshal.AsBytes(key.AsSpan())) % (ulong)parts);
}
