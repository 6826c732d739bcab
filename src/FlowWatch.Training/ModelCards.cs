using System.Globalization;
using System.Text;
using FlowWatch.Core.Engine;
using FlowWatch.Core.Scoring;

namespace FlowWatch.Training;

/// <summary>Writes a model card beside each model file: features, data and seed, thresholds, metrics.</summary>
public static class ModelCards
{
    public const string DetectorCard = "detector.md";
    public const string ClassifierCard = "classifier.md";

    public static void Write(TrainingResult result, RuleSettings settings, string directory, string command)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(settings);
        var o = result.Options;
        File.WriteAllText(Path.Combine(directory, DetectorCard), Card(
            "Unsupervised detector (`detector.zip`)",
            string.Create(CultureInfo.InvariantCulture, $"""
            ML.NET pipeline: `NormalizeMeanVariance` over the {Features.DetectorCount} features below, then `RandomizedPca`
            (rank {o.DetectorRank}, zero mean, seed {o.Seed}), trained on up to {o.DetectorSample:N0} normal events (a seeded
            sample of the events outside every episode). The engine scores every event with the same parameters, extracted at
            load into plain arrays: the score is the length of the normalised event's residual outside the principal subspace
            (ML.NET's own score is that residual relative to the distance from the mean; a test checks both agree). The score
            enters the classifier as its `novelty` feature; it raises no alert by itself. `ML_ANOMALY` alerts report the event's
            residual as `observed` and, as `baseline`, the residual below which 99% of the normal training events lie
            ({result.NormalTrainingResidualP99:0.####}, carried in `classifier.zip` with the name of this detector).
            """),
            Features.Names.Take(Features.DetectorCount), result, command,
            string.Create(CultureInfo.InvariantCulture, $"""
            | metric (first held-out stream) | value |
            |---|---:|
            | AUC of the residual, episode events against normal ones | {result.DetectorAuc:0.000} |
            | residual of normal training events, 99th percentile (`baseline` of ML_ANOMALY alerts) | {result.NormalTrainingResidualP99:0.00} |
            | residual of normal events, 99th percentile | {result.NormalResidualP99:0.00} |
            | residual of normal events, 99.99th percentile | {result.NormalResidualP9999:0.00} |
            """), settings));
        File.WriteAllText(Path.Combine(directory, ClassifierCard), Card(
            "Supervised classifier (`classifier.zip`) behind ML_ANOMALY",
            string.Create(CultureInfo.InvariantCulture, $"""
            ML.NET `FastTree` binary classifier ({o.Trees} trees, {o.Leaves} leaves, at least {o.MinExamplesPerLeaf} events per
            leaf, learning rate {o.LearningRate}, seed {o.Seed}, one thread) with Platt calibration, trained on every event of
            the training streams, labelled 1 when it belongs to an injected episode. The engine evaluates the extracted trees
            itself on every event (a test checks they agree with ML.NET's predictions). `ML_ANOMALY` fires when the calibrated
            probability reaches `FlowWatch:Rules:MlAnomalyThreshold` ({settings.MlAnomalyThreshold}); severity II from
            {settings.MlAnomalySeverityII}, III from {settings.MlAnomalySeverityIII}; then silent for the entity for
            {settings.MlAnomalySuppression.TotalMinutes:0} minutes. The threshold is an operating point for the false-alert
            budget (the table below), not a precision. Alerts carry the probability (`score`), the three features whose
            trees' splits moved the score most on the event's path (`topFeatures`), the event's novelty (the detector's residual) as `observed`, and
            the novelty below which 99% of normal training events lie as `baseline`.
            """),
            Features.Names, result, command,
            string.Create(CultureInfo.InvariantCulture, $"""
            | metric (events of the first held-out stream, probability ≥ 0.5) | value |
            |---|---:|
            | AUC | {result.ClassifierAuc:0.000} |
            | precision | {result.ClassifierPrecision:0.000} |
            | recall | {result.ClassifierRecall:0.000} |
            """), settings));
    }

    /// <summary>
    /// The rule settings, as the card names them: <c>FlowWatch:Rules</c> at its defaults, but for those that differ
    /// (by <c>--config</c>, <c>appsettings.json</c> or the environment), each named with its value.
    /// </summary>
    public static string DescribeSettings(RuleSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var changed = Differences(settings, new RuleSettings(), "").ToList();
        return $"`{RuleSettings.SectionName}` at its defaults" + (changed.Count == 0 ? "" : " but " + string.Join(", ", changed));
    }

    private static IEnumerable<string> Differences(object settings, object defaults, string prefix)
    {
        foreach (var property in settings.GetType().GetProperties(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance)
                     .Where(p => p.CanRead && p.CanWrite).OrderBy(p => p.MetadataToken))
        {
            var value = property.GetValue(settings);
            var original = property.GetValue(defaults);
            if (value is not null && property.PropertyType.IsClass && property.PropertyType != typeof(string))
            {
                foreach (var nested in Differences(value, original!, $"{prefix}{property.Name}:")) yield return nested;
            }
            else if (!Equals(value, original))
            {
                yield return $"`{prefix}{property.Name}` {(value is IFormattable f ? f.ToString(null, CultureInfo.InvariantCulture) : value)}";
            }
        }
    }

    private static string Card(string title, string model, IEnumerable<string> features, TrainingResult result, string command, string metrics, RuleSettings settings)
    {
        var o = result.Options;
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"# {title}");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"Models version `{result.Version}` (first 16 hex digits of the SHA-256 of the contents of both model files). Reproduce with `{command}`: the same seed gives the same version and the same figures. `{ModelFiles.ClassifierFile}` names the detector it was trained with, the features both read and the version of their definitions ({Features.Version}); the two files are loaded only together, and only by an engine that computes those features so defined.");
        text.AppendLine();
        text.AppendLine("## Model");
        text.AppendLine();
        text.AppendLine(model);
        text.AppendLine();
        text.AppendLine("## Features");
        text.AppendLine();
        text.AppendLine("Computed by the engine for every event that is not late, from the entity's state: its baselines and previous activity before the event, its windows, events seen and quota with the event in them (see `src/FlowWatch.Core/Scoring/Features.cs`):");
        text.AppendLine();
        text.AppendLine(string.Join(", ", features.Select(f => $"`{f}`")));
        text.AppendLine();
        text.AppendLine("## Data");
        text.AppendLine();
        foreach (var stream in o.Training) text.AppendLine(CultureInfo.InvariantCulture, $"- training stream: {ModelTrainer.Describe(stream)}");
        foreach (var stream in o.Validation) text.AppendLine(CultureInfo.InvariantCulture, $"- validation stream (another seed and other parameters; the threshold is chosen on these): {ModelTrainer.Describe(stream)}");
        foreach (var stream in o.AllHeldOut) text.AppendLine(CultureInfo.InvariantCulture, $"- held-out stream (another seed and other parameters): {ModelTrainer.Describe(stream)}");
        text.AppendLine(CultureInfo.InvariantCulture, $"- {result.TrainingEvents:N0} training events ({result.TrainingPositives:N0} in episodes), {result.HeldOutEvents:N0} events in the first held-out stream ({result.HeldOutPositives:N0} in episodes)");
        text.AppendLine();
        text.AppendLine("## Metrics");
        text.AppendLine();
        text.AppendLine(metrics);
        text.AppendLine();
        text.AppendLine("## The operating point, chosen on the validation streams");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"""
            The engine with these models over every validation stream, at each candidate ML_ANOMALY threshold (the severity
            bands raised to it where below). The threshold is chosen from this table alone: the lowest candidate at which
            every validation stream meets the scored rules' targets (below), the false-alert budget among them. This table picks {(result.PickedThreshold is { } picked ? picked.ToString(CultureInfo.InvariantCulture) : "none")};
            `FlowWatch:Rules:MlAnomalyThreshold` is {settings.MlAnomalyThreshold}. The held-out streams below are run at the
            configured threshold and play no part in choosing it.
            """);
        text.AppendLine();
        text.AppendLine("| threshold | false alerts per 10,000, worst validation stream | episodes ML_ANOMALY caught | ML_ANOMALY alerts | every validation stream meets the scored rules' targets |");
        text.AppendLine("|---:|---:|---:|---:|---|");
        foreach (var point in result.OperatingPoints)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {point.Threshold} | {point.WorstFalseAlertsPer10k:0.00} | {point.ModelCaught} of {point.Episodes} | {point.MlAlerts} | {(point.EveryStreamMeets ? "yes" : "no")} |");
        }
        text.AppendLine();
        text.AppendLine("## Detection quality of the engine on the held-out streams");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"""
            Rules and models together, with the rule settings training ran with ({DescribeSettings(settings)}); an episode counts as caught when one of its rules alerts
            on it, and an alert as on an episode when its payment is one of the episode's or it is for the episode's entity
            between the episode's start and 24 hours after its end (whatever the episode's typology: an AMOUNT_ANOMALY on the
            outsized payment of a quota-creep episode is a true alert, not a false one; the payments of those 24 hours still
            count among the ordinary ones in the false-alert rate's denominator). Precision is counted per alert. The targets: recall
            and precision of at least 0.9 for each statistical typology (those a scored rule is meant for) and at most one
            false alert of the scored rules per 10,000 ordinary payments, on every held-out stream. A scored rule without alerts
            on a stream has no precision ("no alerts") and does not meet its target: scored rules are judged by detection
            quality, and a silent one shows none. An exact rule without alerts (absent from the rule table) raised no false
            alert, and whether it caught what it is meant for is judged by the recall of its typologies.
            """);
        text.AppendLine();
        text.AppendLine(QualityReport.SummaryHeader);
        foreach (var (stream, quality) in o.AllHeldOut.Zip(result.OtherQuality.Prepend(result.Quality)))
        {
            text.AppendLine(quality.SummaryRow(ModelTrainer.Describe(stream)));
        }
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"On the first held-out stream ({ModelTrainer.Describe(o.HeldOut)}), every typology:");
        text.AppendLine();
        text.Append(result.Quality.ToMarkdown());
        return text.ToString();
    }
}
