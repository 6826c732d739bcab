using FlowWatch.Core.Contracts;

namespace FlowWatch.Core.Engine;

/// <summary>
/// Every threshold of RULES.md, with its defaults. Bound from configuration section <c>FlowWatch:Rules</c>;
/// nothing in the rules is a literal in code.
/// </summary>
public sealed class RuleSettings
{
    public const string SectionName = "FlowWatch:Rules";

    /// <summary>How late an event may arrive and still land in its windows (DESIGN.md §4).</summary>
    public TimeSpan LateEventBound { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How far an event's time may be ahead of its record's publication (a Kafka record's timestamp) before it is a
    /// dead letter: the two clocks' skew. Kafka's own bound on a record's timestamp ahead of its broker
    /// (<c>log.message.timestamp.after.max.ms</c>) defaults to the same hour.
    /// </summary>
    public TimeSpan FutureEventBound { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How many Shanghai days behind the newest event a <c>txnId</c> is remembered for duplicate detection; 0 (the
    /// default) remembers every id, as RULES.md §1 says. A long-running deployment sets a horizon to bound memory
    /// (about 40 bytes per id); a repeat arriving later than the horizon is then no longer recognised.
    /// </summary>
    public int DuplicateHorizonDays { get; set; }

    /// <summary>Length of the trailing windows of RULES.md §5 ("trailing 24h").</summary>
    public TimeSpan TrailingWindow { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Silence after STRUCTURING, RAPID_PASS_THROUGH, FAN_IN and FAN_OUT fire.</summary>
    public TimeSpan Suppression { get; set; } = TimeSpan.FromHours(24);

    /// <summary>SERVICES_TAX_FILING: USD-equivalent at or above which an outward service payment is flagged (Hengqin Art.16).</summary>
    public decimal ServicesTaxFilingUsd { get; set; } = 50_000m;

    /// <summary>PENETRATION_CAP_WARN: utilisation of the same-name quota that raises a warning.</summary>
    public decimal PenetrationWarnUtilisation { get; set; } = 0.8m;

    public LargeValueThresholds LargeValue { get; set; } = new();

    /// <summary>How many Shanghai days of large-value accumulators an entity keeps behind its newest event.</summary>
    public int LargeValueRetentionDays { get; set; } = 7;

    /// <summary>STRUCTURING: amounts in [fraction·T, T) count as just below a threshold T.</summary>
    public decimal StructuringBandFraction { get; set; } = 0.9m;

    public int StructuringMinCount { get; set; } = 3;

    public decimal RapidPassThroughMinInflowCny { get; set; } = 500_000m;

    public decimal RapidPassThroughOutflowRatio { get; set; } = 0.9m;

    public int FanDistinctCounterparties { get; set; } = 20;

    public int DormantDays { get; set; } = 180;

    public decimal DormantMinAmountCny { get; set; } = 500_000m;

    /// <summary>Events over which an entity's amount baseline averages (exponential weights 1/memory once warm).</summary>
    public int BaselineAmountMemory { get; set; } = 50;

    /// <summary>Clock hours over which an entity's hourly-count baseline averages.</summary>
    public int BaselineHourlyMemory { get; set; } = 168;

    /// <summary>Least standard deviation of log-amounts, so a very regular entity is not flagged for small changes.</summary>
    public double BaselineAmountDeviationFloor { get; set; } = 0.25;

    /// <summary>An amount enters the baseline clipped to this many deviations from its mean.</summary>
    public double BaselineAmountClip { get; set; } = 4;

    /// <summary>HIGH_FREQUENCY: hourly baseline spreads the trailing-hour count must reach.</summary>
    public double HighFrequencyScore { get; set; } = 6;

    /// <summary>HIGH_FREQUENCY: least trailing-hour count that can fire.</summary>
    public int HighFrequencyMinCount { get; set; } = 12;

    /// <summary>HIGH_FREQUENCY: clock hours of history an entity needs before its baseline is used.</summary>
    public int HighFrequencyWarmupHours { get; set; } = 48;

    public TimeSpan HighFrequencySuppression { get; set; } = TimeSpan.FromHours(1);

    /// <summary>AMOUNT_ANOMALY: standard deviations of log-amount above the entity's mean that fire.</summary>
    public double AmountAnomalyScore { get; set; } = 6.5;

    /// <summary>AMOUNT_ANOMALY: events of history an entity needs before its baseline is used.</summary>
    public int AmountAnomalyWarmupEvents { get; set; } = 20;

    /// <summary>AMOUNT_ANOMALY: least CNY-equivalent amount that can fire.</summary>
    public decimal AmountAnomalyMinCny { get; set; } = 10_000m;

    /// <summary>
    /// ML_ANOMALY: classifier probability that fires (severity I), and the bands for II and III. The threshold is an
    /// operating point for the false-alert budget (at most one false scored alert per 10,000 ordinary payments), not a
    /// precision, chosen on the model card's validation streams (its table of candidate thresholds), never on the
    /// held-out streams whose figures the card reports.
    /// </summary>
    public double MlAnomalyThreshold { get; set; } = 0.97;

    public double MlAnomalySeverityII { get; set; } = 0.98;

    public double MlAnomalySeverityIII { get; set; } = 0.99;

    public TimeSpan MlAnomalySuppression { get; set; } = TimeSpan.FromHours(1);

    // Configuration binds "Infinity" to a double: a score that can never be reached would switch its rule off unseen.
    private static bool PositiveFinite(double value) => double.IsFinite(value) && value > 0;

    private const string PositiveFiniteProblem = "must be a positive finite number";

    /// <summary>Every problem with these settings, each naming its key; empty when they are usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        void Check(bool ok, string key, string problem)
        {
            if (!ok) errors.Add($"{SectionName}:{key}: {problem}");
        }
        Check(LateEventBound >= TimeSpan.Zero, nameof(LateEventBound), "must not be negative");
        Check(FutureEventBound >= TimeSpan.Zero, nameof(FutureEventBound), "must not be negative");
        Check(DuplicateHorizonDays >= 0, nameof(DuplicateHorizonDays), "must not be negative (0 keeps every id)");
        // The trailing hour of HIGH_FREQUENCY and the models' counts is counted among the window's events.
        Check(TrailingWindow >= TimeSpan.FromHours(1), nameof(TrailingWindow), "must be at least 1 hour (the trailing hour is counted in it)");
        Check(Suppression >= TimeSpan.Zero, nameof(Suppression), "must not be negative");
        Check(ServicesTaxFilingUsd > 0, nameof(ServicesTaxFilingUsd), "must be positive");
        Check(PenetrationWarnUtilisation is > 0 and <= 1, nameof(PenetrationWarnUtilisation), "must be in (0, 1]");
        Check(LargeValueRetentionDays >= 1, nameof(LargeValueRetentionDays), "must be at least 1");
        Check(StructuringBandFraction is > 0 and < 1, nameof(StructuringBandFraction), "must be in (0, 1)");
        Check(StructuringMinCount >= 1, nameof(StructuringMinCount), "must be at least 1");
        Check(RapidPassThroughMinInflowCny > 0, nameof(RapidPassThroughMinInflowCny), "must be positive");
        Check(RapidPassThroughOutflowRatio > 0, nameof(RapidPassThroughOutflowRatio), "must be positive");
        Check(FanDistinctCounterparties >= 1, nameof(FanDistinctCounterparties), "must be at least 1");
        Check(DormantDays >= 1, nameof(DormantDays), "must be at least 1");
        Check(DormantMinAmountCny >= 0, nameof(DormantMinAmountCny), "must not be negative");
        Check(BaselineAmountMemory >= 1, nameof(BaselineAmountMemory), "must be at least 1");
        Check(BaselineHourlyMemory >= 1, nameof(BaselineHourlyMemory), "must be at least 1");
        Check(PositiveFinite(BaselineAmountDeviationFloor), nameof(BaselineAmountDeviationFloor), PositiveFiniteProblem);
        Check(PositiveFinite(BaselineAmountClip), nameof(BaselineAmountClip), PositiveFiniteProblem);
        Check(PositiveFinite(HighFrequencyScore), nameof(HighFrequencyScore), PositiveFiniteProblem);
        Check(HighFrequencyMinCount >= 1, nameof(HighFrequencyMinCount), "must be at least 1");
        Check(HighFrequencyWarmupHours >= 1, nameof(HighFrequencyWarmupHours), "must be at least 1");
        Check(HighFrequencySuppression >= TimeSpan.Zero, nameof(HighFrequencySuppression), "must not be negative");
        Check(PositiveFinite(AmountAnomalyScore), nameof(AmountAnomalyScore), PositiveFiniteProblem);
        Check(AmountAnomalyWarmupEvents >= 1, nameof(AmountAnomalyWarmupEvents), "must be at least 1");
        // A baseline counts its events, and its hours, only up to its memory: a longer warm-up would never end.
        Check(AmountAnomalyWarmupEvents <= BaselineAmountMemory, nameof(AmountAnomalyWarmupEvents),
            $"must not exceed BaselineAmountMemory ({BaselineAmountMemory}): the baseline counts its events only up to its memory, so AMOUNT_ANOMALY would never fire");
        Check(HighFrequencyWarmupHours <= BaselineHourlyMemory, nameof(HighFrequencyWarmupHours),
            $"must not exceed BaselineHourlyMemory ({BaselineHourlyMemory}): the baseline counts its hours only up to its memory, so HIGH_FREQUENCY would never fire");
        Check(AmountAnomalyMinCny >= 0, nameof(AmountAnomalyMinCny), "must not be negative");
        Check(MlAnomalyThreshold is > 0 and < 1, nameof(MlAnomalyThreshold), "must be in (0, 1)");
        Check(MlAnomalySeverityII >= MlAnomalyThreshold && MlAnomalySeverityII < 1, nameof(MlAnomalySeverityII), "must be in [MlAnomalyThreshold, 1)");
        Check(MlAnomalySeverityIII >= MlAnomalySeverityII && MlAnomalySeverityIII < 1, nameof(MlAnomalySeverityIII), "must be in [MlAnomalySeverityII, 1)");
        Check(MlAnomalySuppression >= TimeSpan.Zero, nameof(MlAnomalySuppression), "must not be negative");
        foreach (var (name, value) in LargeValue.All())
        {
            Check(value > 0, $"{nameof(LargeValue)}:{name}", "must be positive");
        }
        return errors;
    }
}

/// <summary>Large-value report thresholds (PBOC Order [2016] No.3 Art.5; RULES.md §4): CNY and USD-equivalent.</summary>
public sealed class LargeValueThresholds
{
    public decimal CashCny { get; set; } = 50_000m;
    public decimal CashUsd { get; set; } = 10_000m;
    public decimal NonIndividualTransferCny { get; set; } = 2_000_000m;
    public decimal NonIndividualTransferUsd { get; set; } = 200_000m;
    public decimal IndividualDomesticCny { get; set; } = 500_000m;
    public decimal IndividualDomesticUsd { get; set; } = 100_000m;
    public decimal IndividualCrossBorderCny { get; set; } = 200_000m;
    public decimal IndividualCrossBorderUsd { get; set; } = 10_000m;

    public decimal For(LargeValueCategory category, CurrencyClass currencyClass) => (category, currencyClass) switch
    {
        (LargeValueCategory.Cash, CurrencyClass.Cny) => CashCny,
        (LargeValueCategory.Cash, CurrencyClass.Fx) => CashUsd,
        (LargeValueCategory.NonIndividualTransfer, CurrencyClass.Cny) => NonIndividualTransferCny,
        (LargeValueCategory.NonIndividualTransfer, CurrencyClass.Fx) => NonIndividualTransferUsd,
        (LargeValueCategory.IndividualDomestic, CurrencyClass.Cny) => IndividualDomesticCny,
        (LargeValueCategory.IndividualDomestic, CurrencyClass.Fx) => IndividualDomesticUsd,
        (LargeValueCategory.IndividualCrossBorder, CurrencyClass.Cny) => IndividualCrossBorderCny,
        _ => IndividualCrossBorderUsd,
    };

    internal IEnumerable<(string Name, decimal Value)> All() =>
    [
        (nameof(CashCny), CashCny), (nameof(CashUsd), CashUsd),
        (nameof(NonIndividualTransferCny), NonIndividualTransferCny), (nameof(NonIndividualTransferUsd), NonIndividualTransferUsd),
        (nameof(IndividualDomesticCny), IndividualDomesticCny), (nameof(IndividualDomesticUsd), IndividualDomesticUsd),
        (nameof(IndividualCrossBorderCny), IndividualCrossBorderCny), (nameof(IndividualCrossBorderUsd), IndividualCrossBorderUsd),
    ];
}
