using FlowWatch.Core.Reference;

namespace FlowWatch.Core.Engine;

/// <summary>
/// An immutable picture of one entity for readers on other threads (the dashboard): its same-name penetration
/// position against its caps, and its inflow and outflow per hour over the trailing 24 hours. Taken by the thread
/// that owns the entity's shard.
/// </summary>
public sealed record EntityView
{
    public const int FlowHours = 24;

    public required string EntityId { get; init; }
    public string? Name { get; init; }

    /// <summary>Newest event time of the entity, or null before its first event.</summary>
    public DateTimeOffset? NewestTs { get; init; }

    public long Events { get; init; }
    public required PenetrationView Penetration { get; init; }

    /// <summary>CNY-equivalent flows per hour, oldest first, for the 24 hours ending at <see cref="NewestTs"/>.</summary>
    public required IReadOnlyList<HourlyFlow> Last24h { get; init; }

    /// <param name="entity">The entity's state, read by the thread that owns its shard.</param>
    /// <param name="reference">Reference data in force.</param>
    /// <param name="settings">Rule settings in force (the quota's warning level).</param>
    public static EntityView Of(EntityState entity, ReferenceData reference, RuleSettings settings)
    {
        reference.Entities.TryGetValue(entity.EntityId, out var info);
        var hasEvents = entity.NewestTs != EntityState.NoTime;
        var year = hasEvents ? ShanghaiTime.Year(entity.NewestTs) : (int?)null;
        return new EntityView
        {
            EntityId = entity.EntityId,
            Name = info?.Name,
            NewestTs = hasEvents ? new DateTimeOffset(entity.NewestTs, TimeSpan.Zero) : null,
            Events = entity.Events,
            Penetration = PenetrationView.Of(year, year is { } y ? entity.PenetrationNetInflow(y) : 0m, info?.OwnersEquityPrevYear, reference.Parameters,
                settings.PenetrationWarnUtilisation),
            Last24h = hasEvents ? HourlyFlows(entity) : [],
        };
    }

    private static HourlyFlow[] HourlyFlows(EntityState entity)
    {
        var lastHour = entity.NewestTs - entity.NewestTs % TimeSpan.TicksPerHour;
        var firstHour = lastHour - (FlowHours - 1) * TimeSpan.TicksPerHour;
        var inflow = new decimal[FlowHours];
        var outflow = new decimal[FlowHours];
        ref readonly var window = ref entity.Window;
        for (var i = 0; i < window.Count; i++)
        {
            ref readonly var entry = ref window[i];
            if (entry.Ts < firstHour) continue;
            var hour = (int)((entry.Ts - firstHour) / TimeSpan.TicksPerHour);
            if (entry.Direction == Contracts.Direction.In) inflow[hour] += entry.AmountCny;
            else outflow[hour] += entry.AmountCny;
        }
        var flows = new HourlyFlow[FlowHours];
        for (var h = 0; h < FlowHours; h++)
        {
            flows[h] = new HourlyFlow(new DateTimeOffset(firstHour + h * TimeSpan.TicksPerHour, TimeSpan.Zero), inflow[h], outflow[h]);
        }
        return flows;
    }
}

/// <summary>CNY-equivalent inflow and outflow of one hour starting at <paramref name="Hour"/>.</summary>
public sealed record HourlyFlow(DateTimeOffset Hour, decimal InflowCny, decimal OutflowCny);

/// <summary>
/// The same-name penetration quota of an entity for a year (RULES.md §3): net inflow N against the inflow cap, and
/// −N against the outflow cap. Caps and utilisation are null without owner's equity on file.
/// </summary>
public sealed record PenetrationView
{
    public int? Year { get; init; }
    public decimal NetInflow { get; init; }
    public decimal? OwnersEquity { get; init; }
    public decimal? InflowCap { get; init; }
    public decimal? OutflowCap { get; init; }
    public decimal? InflowUtilisation { get; init; }
    public decimal? OutflowUtilisation { get; init; }

    /// <summary>The utilisation from which PENETRATION_CAP_WARN fires (RuleSettings.PenetrationWarnUtilisation).</summary>
    public decimal WarnUtilisation { get; init; }

    public static PenetrationView Of(int? year, decimal netInflow, decimal? ownersEquity, Parameters parameters, decimal warnUtilisation)
    {
        var inflowCap = ownersEquity is { } equity ? PenetrationQuota.Cap(equity, parameters, inflow: true) : (decimal?)null;
        var outflowCap = ownersEquity is { } e ? PenetrationQuota.Cap(e, parameters, inflow: false) : (decimal?)null;
        return new PenetrationView
        {
            Year = year,
            NetInflow = netInflow,
            OwnersEquity = ownersEquity,
            InflowCap = inflowCap,
            OutflowCap = outflowCap,
            InflowUtilisation = Utilisation(Math.Max(netInflow, 0m), inflowCap),
            OutflowUtilisation = Utilisation(Math.Max(-netInflow, 0m), outflowCap),
            WarnUtilisation = warnUtilisation,
        };
    }

    private static decimal? Utilisation(decimal used, decimal? cap) => cap is { } c ? PenetrationQuota.Utilisation(used, c) : null;
}

/// <summary>The same-name penetration cap: owner's equity × macro-prudential factor × leverage of the direction.</summary>
public static class PenetrationQuota
{
    public static decimal Cap(decimal ownersEquity, Parameters parameters, bool inflow) =>
        ownersEquity * parameters.MacroPrudentialFactor * (inflow ? parameters.InflowLeverage : parameters.OutflowLeverage);

    /// <summary>
    /// used / cap, or null when the cap is 0 or the quotient is beyond decimal's range: a cap can be as small as 10^-10
    /// (the reference bounds' smallest values multiplied), and a position as large as its events add up to.
    /// </summary>
    public static decimal? Ratio(decimal used, decimal cap) =>
        cap > 0 && (cap >= 1 || Math.Abs(used) < cap * 10_000_000_000_000_000_000_000_000_000m) ? used / cap : null;

    /// <summary>
    /// The utilisation alerts and position rows show (RULES.md §3): <see cref="Ratio"/> to 6 decimals, rounded down
    /// below the cap and up beyond it, so that a figure shown is never on the other side of the cap, or of a warning
    /// level of 6 decimals, than the position it stands for (a breach by 0.75 CNY of 10 M reads 1.000001, not 1). The
    /// side is the exact comparison's: against a cap near 10^24 a quotient of 28 digits can come out as exactly 1.
    /// </summary>
    public static decimal? Utilisation(decimal used, decimal cap) => Ratio(used, cap) is not { } ratio ? null
        : used > cap ? Math.Max(decimal.Round(ratio, 6, MidpointRounding.ToPositiveInfinity), 1.000001m)
        : used < cap ? Math.Min(decimal.Round(ratio, 6, MidpointRounding.ToNegativeInfinity), 0.999999m)
        : 1m;
}
