namespace FlowWatch.Core.Scoring;

/// <summary>
/// The features the engine computes for every event from the entity's state, in the order the models read them: the
/// baselines (amountScore, hourlyScore) and the previous activity (logGapSeconds) as they were before the event, the
/// windows (counts, distinct counterparties, pass-through ratio), the events seen and the quota with the event in them.
/// They are model inputs, not money: floats.
/// <see cref="Novelty"/> is the unsupervised detector's score and is read only by the supervised model.
/// </summary>
public static class Features
{
    /// <summary>How many standard deviations the log CNY-equivalent amount lies above the entity's baseline (0 until warm).</summary>
    public const int AmountScore = 0;
    public const int LogAmountCny = 1;
    public const int LogCount1m = 2;
    public const int LogCount1h = 3;
    public const int LogCount24h = 4;

    /// <summary>How many spreads the trailing-hour count lies above the entity's hourly baseline (0 until warm).</summary>
    public const int HourlyScore = 5;

    /// <summary>
    /// Log of the seconds since the entity's previous activity by event time (its newest event at or before this one,
    /// or reference lastActivity), as DORMANT_REACTIVATION takes it; 0 when there is none, or it is not before.
    /// </summary>
    public const int LogGapSeconds = 6;

    /// <summary>Log of one plus the distinct counterparties in this direction in the trailing 24h.</summary>
    public const int LogDistinctCounterparties = 7;
    public const int HourOfDay = 8;
    public const int Weekend = 9;

    /// <summary>0 none, 1 increased monitoring, 2 call for action.</summary>
    public const int CountryRisk = 10;

    /// <summary>1 for FIRST_LINE and CROSS_BORDER payments.</summary>
    public const int CrossBorder = 11;
    public const int SameName = 12;

    /// <summary>Utilisation of the same-name penetration cap after the event, in the direction it moved (0 without a quota).</summary>
    public const int QuotaUtilisation = 13;

    /// <summary>1 for a multiple of 10,000, 0.5 for a multiple of 1,000, else 0.</summary>
    public const int RoundAmount = 14;

    /// <summary>The amount over its large-value threshold (in its currency class), capped at 2.</summary>
    public const int ThresholdRatio = 15;

    /// <summary>min(IN, OUT) / max(IN, OUT) of the trailing 24h.</summary>
    public const int PassThroughRatio = 16;
    public const int Outgoing = 17;
    public const int LogEventsSeen = 18;
    public const int Novelty = 19;

    /// <summary>Features of the unsupervised detector.</summary>
    public const int DetectorCount = 19;

    /// <summary>Features of the supervised classifier: the detector's and its novelty score.</summary>
    public const int Count = 20;

    /// <summary>
    /// The version of the features' definitions, recorded in the classifier's file at training and checked at load:
    /// bump it whenever any feature's definition changes (what it measures, its scale, its window, when it is taken)
    /// even though its name stays, so that models trained on the former definitions are refused rather than scoring
    /// events from inputs they never saw.
    /// </summary>
    /// <remarks>2: logGapSeconds of an event out of order within the lateness bound is taken by event time; it was 0.</remarks>
    public const int Version = 2;

    public static IReadOnlyList<string> Names { get; } =
    [
        "amountScore", "logAmountCny", "logCount1m", "logCount1h", "logCount24h", "hourlyScore", "logGapSeconds",
        "logDistinctCounterparties", "hourOfDay", "weekend", "countryRisk", "crossBorder", "sameName",
        "quotaUtilisation", "roundAmount", "thresholdRatio", "passThroughRatio", "outgoing", "logEventsSeen", "novelty",
    ];
}
