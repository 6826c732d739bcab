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

    /// <summary>Every problem with these settings, each naming its key; empty when they are usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        void Check(bool ok, string key, string problem)
        {
            if (!ok) errors.Add($"{SectionName}:{key}: {problem}");
        }
        Check(LateEventBound >= TimeSpan.Zero, nameof(LateEventBound), "must not be negative");
        Check(DuplicateHorizonDays >= 0, nameof(DuplicateHorizonDays), "must not be negative (0 keeps every id)");
        Check(TrailingWindow > TimeSpan.Zero, nameof(TrailingWindow), "must be positive");
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
