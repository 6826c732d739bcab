using System.Globalization;
using System.Text;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Engine;
using FlowWatch.Core.Reference;
using FlowWatch.Core.Scoring;
using FlowWatch.Simulator;

namespace FlowWatch.Training;

/// <summary>
/// Episode-level recall of one typology: by the rules meant for it, and by ML_ANOMALY. Without episodes there is no
/// recall to speak of (NaN), and the typology does not count as met.
/// </summary>
public sealed record TypologyQuality(string Typology, IReadOnlyList<string> Rules, int Episodes, int Detected, int DetectedByModel)
{
    public double Recall => Episodes == 0 ? double.NaN : (double)Detected / Episodes;
    public double ModelRecall => Episodes == 0 ? double.NaN : (double)DetectedByModel / Episodes;
}

/// <summary>
/// Alerts of one rule and how many of them fall on an episode. Without alerts there is no precision to speak of (NaN):
/// see <see cref="QualityReport.Meets(double, double)"/> for how that is judged.
/// </summary>
public sealed record RuleQuality(string Rule, int Alerts, int OnEpisodes)
{
    public double Precision => Alerts == 0 ? double.NaN : (double)OnEpisodes / Alerts;
}

/// <summary>
/// Detection quality of the engine (rules and models) on a labelled stream. An alert is on an episode when its
/// payment is one of the episode's, or when it is for the episode's entity between the episode's start and a trailing
/// window (24 hours) after its end: window rules fire on the payment that completes the pattern, which may be a later one.
/// </summary>
public sealed record QualityReport(
    IReadOnlyList<TypologyQuality> Typologies, IReadOnlyList<RuleQuality> Rules, long NormalEvents, int FalseScoredAlerts)
{
    private static readonly TimeSpan Grace = TimeSpan.FromHours(24);

    /// <summary>The rules that are meant to catch each typology.</summary>
    public static IReadOnlyDictionary<string, string[]> RulesFor { get; } = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        [Simulator.Typologies.HighFrequency] = [RuleCodes.HighFrequency],
        [Simulator.Typologies.LargeAmount] = [RuleCodes.AmountAnomaly],
        [Simulator.Typologies.Structuring] = [RuleCodes.Structuring],
        [Simulator.Typologies.PassThrough] = [RuleCodes.RapidPassThrough],
        [Simulator.Typologies.FanIn] = [RuleCodes.FanIn],
        [Simulator.Typologies.FanOut] = [RuleCodes.FanOut],
        [Simulator.Typologies.DormantReactivation] = [RuleCodes.DormantReactivation],
        [Simulator.Typologies.QuotaCreep] = [RuleCodes.PenetrationCapWarn, RuleCodes.PenetrationCapBreach],
        [Simulator.Typologies.RoundTripping] = [RuleCodes.RapidPassThrough, RuleCodes.MlAnomaly],
    };

    /// <summary>False alerts of the scored rules per 10,000 payments outside every episode.</summary>
    public double FalseAlertsPer10k => NormalEvents == 0 ? 0 : FalseScoredAlerts * 10_000.0 / NormalEvents;

    public static QualityReport Evaluate(LabelledSimulation simulation, RuleSettings settings, ModelSet? models)
    {
        ArgumentNullException.ThrowIfNull(simulation);
        var reference = ReferenceDataLoader.Parse(simulation.ReferenceBytes());
        var engine = new FlowEngine(reference, settings, models: new ModelHolder(models));
        var alerts = new List<Alert>();
        var sequence = 0L;
        foreach (var payment in simulation.Payments) engine.Process(payment.Line, ++sequence, alerts, out _);

        var episodesByEntity = simulation.Episodes.ToLookup(e => e.EntityId, StringComparer.Ordinal);
        var episodeTxns = simulation.Episodes.SelectMany(e => e.TxnIds).ToHashSet(StringComparer.Ordinal);
        Episode? EpisodeOf(Alert alert) => episodesByEntity[alert.EntityId].FirstOrDefault(e =>
            e.TxnIds.Contains(alert.TxnId) || (alert.Ts >= e.Start && alert.Ts <= e.End + Grace));

        var matched = alerts.Select(a => (Alert: a, Episode: EpisodeOf(a))).ToList();
        var typologies = Simulator.Typologies.All.Select(typology =>
        {
            var episodes = simulation.Episodes.Where(e => e.Typology == typology).ToList();
            var rules = RulesFor[typology];
            bool Caught(Episode e, IEnumerable<string> by) => matched.Any(m => ReferenceEquals(m.Episode, e) && by.Contains(m.Alert.Rule));
            return new TypologyQuality(typology, rules, episodes.Count, episodes.Count(e => Caught(e, rules)),
                episodes.Count(e => Caught(e, [RuleCodes.MlAnomaly])));
        }).ToList();
        var rules = matched.GroupBy(m => m.Alert.Rule)
            .Select(g => new RuleQuality(g.Key, g.Count(), g.Count(m => m.Episode is not null)))
            .OrderBy(r => RuleCodes.OrderOf(r.Rule)).ToList();
        var falseScored = matched.Count(m => m.Episode is null && RuleCodes.Scored.Contains(m.Alert.Rule));
        return new QualityReport(typologies, rules, simulation.Payments.Count - episodeTxns.Count, falseScored);
    }

    /// <summary>The statistical typologies: those a scored rule (HIGH_FREQUENCY, AMOUNT_ANOMALY, ML_ANOMALY) is meant to catch.</summary>
    public static IReadOnlyList<string> Statistical { get; } =
        Simulator.Typologies.All.Where(t => RulesFor[t].Any(RuleCodes.Scored.Contains)).ToList();

    /// <summary>
    /// Whether every typology has episodes and its recall reaches <paramref name="target"/>, every rule's precision too,
    /// and false alerts stay within the budget. A scored rule without alerts has no precision and is not met (it is
    /// judged by detection quality, RULES.md §6, and shows none); an exact rule without alerts raised no false alert,
    /// and whether it caught what it is meant for is judged by its typologies' recall.
    /// </summary>
    public bool Meets(double target, double falseAlertsPer10k) =>
        Meets(Typologies, rule => RulesFor.Values.Any(set => set.Contains(rule)), target, falseAlertsPer10k);

    /// <summary>
    /// The targets of the scored rules: every statistical typology has episodes and its recall reaches
    /// <paramref name="target"/>, every scored rule has alerts and its precision reaches it too, and false alerts stay
    /// within the budget.
    /// </summary>
    public bool MeetsStatistical(double target, double falseAlertsPer10k) =>
        Meets(Typologies.Where(t => Statistical.Contains(t.Typology)), RuleCodes.Scored.Contains, target, falseAlertsPer10k);

    private bool Meets(IEnumerable<TypologyQuality> typologies, Func<string, bool> judged, double target, double falseAlertsPer10k) =>
        typologies.All(t => t.Episodes > 0 && t.Recall >= target)
        && Rules.Where(r => judged(r.Rule) && r.Alerts > 0).All(r => r.Precision >= target)
        && RuleCodes.Scored.Where(judged).All(r => Rules.Any(q => q.Rule == r && q.Alerts > 0))
        && FalseAlertsPer10k <= falseAlertsPer10k;

    /// <summary>The header of <see cref="SummaryRow"/>'s table.</summary>
    public static string SummaryHeader { get; } =
        "| held-out stream | " + string.Join(" | ", Statistical.Select(t => $"{t} recall")) + " | "
        + string.Join(" | ", RuleCodes.Scored.Select(r => $"{r} precision")) + " | false alerts per 10,000 | every target of the scored rules met | every typology and rule at 0.9 |"
        + Environment.NewLine + "|---|" + string.Concat(Enumerable.Repeat("---:|", Statistical.Count + RuleCodes.Scored.Count + 1)) + "---|---|";

    /// <summary>One row of the table of held-out streams: the scored rules' figures on <paramref name="stream"/>.</summary>
    public string SummaryRow(string stream)
    {
        var recalls = Statistical.Select(s => Typologies.Single(t => t.Typology == s)).Select(t => t.Episodes == 0 ? "none" : Figure(t.Recall));
        var precisions = RuleCodes.Scored.Select(r => Rules.FirstOrDefault(q => q.Rule == r) is { } q ? Figure(q.Precision) : "no alerts");
        return $"| {stream} | {string.Join(" | ", recalls)} | {string.Join(" | ", precisions)} | {Figure(FalseAlertsPer10k, "0.00")} | "
               + $"{(MeetsStatistical(0.9, 1.0) ? "yes" : "no")} | {(Meets(0.9, 1.0) ? "yes" : "no")} |";
    }

    private static string Figure(double value, string format = "0.000") => value.ToString(format, CultureInfo.InvariantCulture);

    /// <summary>The tables as Markdown, for model cards and the console.</summary>
    public string ToMarkdown()
    {
        var text = new StringBuilder();
        text.AppendLine("| typology | episodes | caught by | recall | ML_ANOMALY recall |");
        text.AppendLine("|---|---:|---|---:|---:|");
        foreach (var t in Typologies)
        {
            text.AppendLine(t.Episodes == 0
                ? $"| {t.Typology} | 0 | {string.Join(", ", t.Rules)} | none: no episodes | none |"
                : string.Create(CultureInfo.InvariantCulture, $"| {t.Typology} | {t.Episodes} | {string.Join(", ", t.Rules)} | {t.Recall:0.000} | {t.ModelRecall:0.000} |"));
        }
        text.AppendLine();
        text.AppendLine("| rule | alerts | on an episode | precision |");
        text.AppendLine("|---|---:|---:|---:|");
        foreach (var r in Rules.Where(r => RulesFor.Values.Any(set => set.Contains(r.Rule))))
        {
            text.AppendLine(r.Alerts == 0
                ? $"| {r.Rule} | 0 | 0 | none: no alerts |"
                : string.Create(CultureInfo.InvariantCulture, $"| {r.Rule} | {r.Alerts} | {r.OnEpisodes} | {r.Precision:0.000} |"));
        }
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture,
            $"False alerts of the scored rules (HIGH_FREQUENCY, AMOUNT_ANOMALY, ML_ANOMALY) outside every episode: {FalseScoredAlerts} in {NormalEvents:N0} normal payments = {FalseAlertsPer10k:0.00} per 10,000.");
        return text.ToString();
    }
}
