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
    private readonly RowTable<PaymentsKey, Sums> _payments = new();
    private readonly RowTable<CorridorKey, Sums> _corridors = new();
    private readonly Dictionary<(string EntityId, int Year), PositionRow> _positions = [];

    public bool IsEmpty => _payments.Count == 0 && _corridors.Count == 0 && _positions.Count == 0;

    /// <summary>Adds an accepted event. <paramref name="entity"/> is its entity's state after the event.</summary>
    public void Add(in PaymentEvent e, EntityState entity, ReferenceData reference)
    {
        var minute = e.TimestampTicks - e.TimestampTicks % TimeSpan.TicksPerMinute;
        ref var payment = ref _payments.GetOrAdd(new PaymentsKey(e.EntityId!, entity.IdHash, minute, e.AccountKind, e.Channel, e.Direction, e.Currency));
        payment.Events++;
        payment.Amount += e.Amount;
        payment.AmountCny += e.AmountCny;

        ref var corridor = ref _corridors.GetOrAdd(new CorridorKey(minute, e.AccountKind, e.CpKind, e.CpCountry ?? "", e.Currency, e.Direction));
        corridor.Events++;
        corridor.AmountCny += e.AmountCny;

        if (EngineShard.CountsAgainstPenetrationQuota(e, reference.Parameters)) AddPosition(e, entity, reference);
    }

    /// <summary>Hands out what was added since the last call, under <paramref name="batchId"/>, and starts afresh.</summary>
    public AggregateBatch Take(string batchId)
    {
        var payments = new PaymentsMinuteRow[_payments.Count];
        for (var i = 0; i < payments.Length; i++)
        {
            ref readonly var key = ref _payments.KeyAt(i);
            ref readonly var sums = ref _payments.SumsAt(i);
            payments[i] = new PaymentsMinuteRow(key.EntityId, key.Minute, key.Kind, key.Channel, key.Direction, key.Currency, sums.Events, sums.Amount, sums.AmountCny);
        }
        var corridors = new CorridorMinuteRow[_corridors.Count];
        for (var i = 0; i < corridors.Length; i++)
        {
            ref readonly var key = ref _corridors.KeyAt(i);
            ref readonly var sums = ref _corridors.SumsAt(i);
            corridors[i] = new CorridorMinuteRow(key.Minute, key.Kind, key.CpKind, key.CpCountry, key.Currency, key.Direction, sums.Events, sums.AmountCny);
        }
        var batch = new AggregateBatch(batchId, payments, corridors, [.. _positions.Values]);
        _payments.Clear();
        _corridors.Clear();
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
    private static decimal? Utilisation(decimal used, decimal? cap) => cap > 0 ? decimal.Round(used / cap.Value, 6) : null;

    /// <summary>
    /// A payments row's key. Its hash takes the entity's from its state instead of hashing the id on every event: nearly
    /// every event of an entity opens a new minute row, so this hash is computed once per accepted event.
    /// </summary>
    private readonly record struct PaymentsKey(string EntityId, int EntityHash, long Minute, AccountKind Kind, Channel Channel, Direction Direction, string Currency)
    {
        public override int GetHashCode() => HashCode.Combine(EntityHash, Minute, Kind, Channel, Direction, Currency);
    }

    private readonly record struct CorridorKey(long Minute, AccountKind Kind, AccountKind CpKind, string CpCountry, string Currency, Direction Direction);

    private struct Sums
    {
        public long Events;
        public decimal Amount;
        public decimal AmountCny;
    }
}
