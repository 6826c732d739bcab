namespace FlowWatch.Core.Contracts;

/// <summary>An alert (DESIGN.md §3.3). Its id is deterministic: the same input gives the same id.</summary>
public sealed record Alert
{
    public required string AlertId { get; init; }
    public required string Rule { get; init; }
    public required Severity Severity { get; init; }
    public required string EntityId { get; init; }
    public required string Account { get; init; }
    public required string TxnId { get; init; }
    public required DateTimeOffset Ts { get; init; }
    public required DateTimeOffset DetectedAt { get; init; }
    public required string Message { get; init; }
    public required AlertMetrics Metrics { get; init; }
    public required IReadOnlyList<string> Refs { get; init; }

    /// <summary>Source position of the event that raised it; orders alerts deterministically. Not serialized.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public long Sequence { get; init; }
}

/// <summary>The numbers behind an alert. Fields that do not apply to a rule are left out.</summary>
public sealed record AlertMetrics
{
    /// <summary>The observed value the rule compared (amount, sum, count, position).</summary>
    public decimal? Observed { get; init; }
    public decimal? Threshold { get; init; }
    public decimal? Baseline { get; init; }
    public decimal? Cap { get; init; }
    public decimal? Utilisation { get; init; }
    public decimal? Score { get; init; }
    public int? Count { get; init; }
    public decimal? Amount { get; init; }
    public string? Currency { get; init; }
    public decimal? AmountCny { get; init; }
    public string? Direction { get; init; }
    public string? Category { get; init; }
    public string? CurrencyClass { get; init; }
    public string? Channel { get; init; }
    public string? Purpose { get; init; }
    public string? Counterparty { get; init; }
    public string? Country { get; init; }
    public int? Year { get; init; }
    public string? Day { get; init; }
    public decimal? InflowCny { get; init; }
    public decimal? OutflowCny { get; init; }
    public decimal? DaysSincePreviousActivity { get; init; }
    public IReadOnlyList<string>? TopFeatures { get; init; }

    /// <summary>
    /// The same numbers without trailing zeros. A running sum keeps the scale of amounts that have left it
    /// (10.0 + 5 − 5.0 = 10.0), so the same value can carry different zeros depending on history; alerts must not.
    /// </summary>
    public AlertMetrics Canonical() => this with
    {
        Observed = Canonical(Observed), Threshold = Canonical(Threshold), Baseline = Canonical(Baseline), Cap = Canonical(Cap),
        Utilisation = Canonical(Utilisation), Score = Canonical(Score), Amount = Canonical(Amount), AmountCny = Canonical(AmountCny),
        InflowCny = Canonical(InflowCny), OutflowCny = Canonical(OutflowCny), DaysSincePreviousActivity = Canonical(DaysSincePreviousActivity),
    };

    private static decimal? Canonical(decimal? value) => value is { } present ? Decoding.DecimalText.Canonical(present) : null;
}
