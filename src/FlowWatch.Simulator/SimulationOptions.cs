using System.Globalization;

namespace FlowWatch.Simulator;

/// <summary>
/// What a labelled simulation looks like. The seed fixes every random choice: the same options give the same
/// stream, byte for byte. The other knobs change the population, so a held-out stream can differ from the one a
/// model was trained on in more than its seed.
/// </summary>
public sealed record SimulationOptions
{
    public int Entities { get; init; } = 1_000;
    public int Days { get; init; } = 14;
    public int Seed { get; init; } = 1;

    /// <summary>Midnight in Shanghai of the first simulated day.</summary>
    public DateTimeOffset Start { get; init; } = new(2026, 3, 2, 0, 0, 0, TimeSpan.FromHours(8));

    /// <summary>Multiplies every entity's usual number of payments per day.</summary>
    public double Activity { get; init; } = 1.0;

    /// <summary>Multiplies every entity's spread of log-amounts.</summary>
    public double AmountSpread { get; init; } = 1.0;

    /// <summary>
    /// Episodes of each typology per entity (at least two of each, each on an entity of its own; a population too small
    /// for them is refused).
    /// </summary>
    public double EpisodeRate { get; init; } = 0.015;

    /// <summary>
    /// The largest <see cref="EpisodeRate"/>: the nine typologies then take 45% of the entities, and the two that need
    /// an EFE company with equity on file 10% of the 18% that are.
    /// </summary>
    public const double MaxEpisodeRate = 0.05;

    /// <summary>
    /// Compliance breaches, as a share of the usual payments: as many payments again, each breaking one rule of RULES.md
    /// §2 in turn (<see cref="LabelledSimulation.BreachRules"/>), and one EFE company in ten without its equity on file.
    /// None by default: the models learn from traffic that keeps the rules.
    /// </summary>
    public double BreachRate { get; init; }

    /// <summary>The largest <see cref="BreachRate"/>.</summary>
    public const double MaxBreachRate = 0.05;

    /// <summary>Days at the start without episodes, so that every entity has a history first.</summary>
    public int WarmupDays { get; init; } = 4;

    /// <summary>Prefix of every transaction id, so that streams of different runs never share ids.</summary>
    public string TxnPrefix { get; init; } = "S";

    /// <summary>
    /// The most entity-days (times <see cref="Activity"/>) a simulation builds: the whole stream is held and sorted in
    /// memory, about 2.6 payments of some 600 bytes per entity-day at activity 1.
    /// </summary>
    public const int MaxEntityDays = 1_000_000;

    /// <summary>Every problem with these options; empty when they can be simulated.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (Entities < 50) problems.Add("--entities must be at least 50");
        var episodeDays = Typologies.All.Max(LabelledSimulation.DaysToPlayOut);
        if (Days < WarmupDays + episodeDays) problems.Add($"--days must be at least {WarmupDays + episodeDays} (warm-up days plus the longest episode)");
        if (Activity is <= 0 or > 20) problems.Add("--activity must be in (0, 20]");
        if (AmountSpread is <= 0 or > 5) problems.Add("--amount-spread must be in (0, 5]");
        if (EpisodeRate is < 0 or > MaxEpisodeRate) problems.Add($"--episode-rate must be in [0, {MaxEpisodeRate}]");
        if (BreachRate is < 0 or > MaxBreachRate) problems.Add($"--breach-rate must be in [0, {MaxBreachRate}]");
        if (Entities * (double)Days * Activity > MaxEntityDays)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture,
                $"--entities × --days × --activity must be at most {MaxEntityDays:N0} (the stream is built in memory), not {Entities:N0} × {Days:N0} × {Activity}"));
        }
        return problems;
    }
}

/// <summary>The kinds of injected behaviour a labelled stream carries.</summary>
public static class Typologies
{
    public const string HighFrequency = "HIGH_FREQUENCY_BURST";
    public const string LargeAmount = "LARGE_AMOUNT";
    public const string Structuring = "STRUCTURING";
    public const string PassThrough = "RAPID_PASS_THROUGH";
    public const string FanIn = "FAN_IN";
    public const string FanOut = "FAN_OUT";
    public const string DormantReactivation = "DORMANT_REACTIVATION";
    public const string QuotaCreep = "QUOTA_CREEP";
    public const string RoundTripping = "ROUND_TRIPPING";

    public static IReadOnlyList<string> All { get; } =
        [HighFrequency, LargeAmount, Structuring, PassThrough, FanIn, FanOut, DormantReactivation, QuotaCreep, RoundTripping];
}

/// <summary>One injected episode: whose, which typology, when, and the payments it consists of.</summary>
public sealed record Episode(string EntityId, string Typology, DateTimeOffset Start, DateTimeOffset End, IReadOnlyList<string> TxnIds);

/// <summary>One simulated payment: its time, monitored account (the partition key), id and JSON line.</summary>
public sealed record SimulatedPayment(long UtcTicks, string Account, string TxnId, byte[] Line);
