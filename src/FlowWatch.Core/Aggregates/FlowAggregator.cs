using FlowWatch.Core.Contracts;
using FlowWatch.Core.Engine;
using FlowWatch.Core.Reference;

namespace FlowWatch.Core.Aggregates;

/// <summary>
/// Sums accepted events into minute rows and keeps the penetration positions they moved, until the host takes them
/// as one <see cref="AggregateBatch"/>. Written by the engine's thread only; no I/O.
/// </summary>
public sealed class FlowAggregator
{
    private readonly RowTable<PaymentsMinuteRow, PaymentsRows> _payments = new();
    private readonly RowTable<CorridorMinuteRow, CorridorRows> _corridors = new();
    private readonly Dictionary<(string EntityId, int Year), PositionRow> _positions = [];

    public bool IsEmpty => _payments.Count == 0 && _corridors.Count == 0 && _positions.Count == 0;

    /// <summary>Adds an accepted event. <paramref name="entity"/> is its entity's state after the event.</summary>
    public void Add(in PaymentEvent e, EntityState entity, ReferenceData reference)
    {
        var minute = e.TimestampTicks - e.TimestampTicks % TimeSpan.TicksPerMinute;
        // Each event comes as a row of its own, merged into the row of its key if there is one. A new row's sums are
        // the event's amounts as they are: the same decimals, scale included, as adding them to zero would give.
        var currency = RowHash.Code(e.Currency);
        // The entity's hash comes from its state instead of hashing the id on every event: nearly every event of an
        // entity opens a new minute row, so this hash is computed once per accepted event.
        var paymentsHash = RowHash.Add(RowHash.Add(RowHash.Add((ulong)(uint)entity.IdHash, (ulong)minute),
            (ulong)e.AccountKind | (ulong)e.Channel << 8 | (ulong)e.Direction << 16), currency);
        _payments.Add(new PaymentsMinuteRow(e.EntityId!, minute, e.AccountKind, e.Channel, e.Direction, e.Currency, 1, e.Amount, e.AmountCny),
            RowHash.Finish(paymentsHash));

        var country = e.CpCountry ?? "";
        var corridorHash = RowHash.Add(RowHash.Add(RowHash.Add((ulong)minute,
            (ulong)e.AccountKind | (ulong)e.CpKind << 8 | (ulong)e.Direction << 16), RowHash.Code(country)), currency);
        _corridors.Add(new CorridorMinuteRow(minute, e.AccountKind, e.CpKind, country, e.Currency, e.Direction, 1, e.AmountCny),
            RowHash.Finish(corridorHash));

        if (EngineShard.CountsAgainstPenetrationQuota(e, reference.Parameters)) AddPosition(e, entity, reference);
    }

    /// <summary>
    /// Hands out what was added since the last call, under <paramref name="batchId"/>, and starts afresh. The rows
    /// handed out are never modified afterwards.
    /// </summary>
    public AggregateBatch Take(string batchId)
    {
        var batch = new AggregateBatch(batchId, _payments.Take(), _corridors.Take(), [.. _positions.Values]);
        _positions.Clear();
        return batch;
    }

    private void AddPosition(in PaymentEvent e, EntityState entity, ReferenceData reference)
    {
        var year = ShanghaiTime.Year(e.TimestampTicks);
        var netInflow = entity.PenetrationNetInflow(year);
        decimal? inflowCap = null, outflowCap = null;
        if (e.Holder?.OwnersEquityPrevYear is { } equity)
        {
            var parameters = reference.Parameters;
            inflowCap = equity * parameters.MacroPrudentialFactor * parameters.InflowLeverage;
            outflowCap = equity * parameters.MacroPrudentialFactor * parameters.OutflowLeverage;
        }
        _positions[(e.EntityId!, year)] = new PositionRow(e.EntityId!, year, netInflow, inflowCap, outflowCap,
            Utilisation(netInflow, inflowCap), Utilisation(-netInflow, outflowCap), e.TimestampTicks, entity.Events);
    }

    // Same rounding as the PENETRATION_* alerts' utilisation (RULES.md §3): used / cap to 6 places.
    private static decimal? Utilisation(decimal used, decimal? cap) => cap is { } c ? PenetrationQuota.Utilisation(used, c) : null;

    private readonly struct PaymentsRows : IRowRules<PaymentsMinuteRow>
    {
        public static bool SameKey(in PaymentsMinuteRow a, in PaymentsMinuteRow b) =>
            a.MinuteTicks == b.MinuteTicks && a.AccountKind == b.AccountKind && a.Channel == b.Channel && a.Direction == b.Direction
            && a.EntityId == b.EntityId && a.Currency == b.Currency;

        public static PaymentsMinuteRow Merge(in PaymentsMinuteRow row, in PaymentsMinuteRow more) =>
            row with { Events = row.Events + more.Events, Amount = row.Amount + more.Amount, AmountCny = row.AmountCny + more.AmountCny };

        public static long PartOf(in PaymentsMinuteRow row) => row.MinuteTicks;
    }

    private readonly struct CorridorRows : IRowRules<CorridorMinuteRow>
    {
        public static bool SameKey(in CorridorMinuteRow a, in CorridorMinuteRow b) =>
            a.MinuteTicks == b.MinuteTicks && a.AccountKind == b.AccountKind && a.CpKind == b.CpKind && a.Direction == b.Direction
            && a.CpCountry == b.CpCountry && a.Currency == b.Currency;

        public static CorridorMinuteRow Merge(in CorridorMinuteRow row, in CorridorMinuteRow more) =>
            row with { Events = row.Events + more.Events, AmountCny = row.AmountCny + more.AmountCny };

        public static long PartOf(in CorridorMinuteRow row) => row.MinuteTicks;
    }
}
