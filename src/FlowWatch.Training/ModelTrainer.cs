using System.Globalization;
using FlowWatch.Core.Engine;
using FlowWatch.Core.Scoring;
using FlowWatch.Simulator;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using Microsoft.ML.Trainers.FastTree;

namespace FlowWatch.Training;

/// <summary>What to train on and how: the simulations for training and for the held-out evaluation, and the model sizes.</summary>
public sealed record TrainingOptions
{
    public const int DefaultSeed = 42;

    public int Seed { get; init; } = DefaultSeed;

    /// <summary>
    /// The training streams: populations of different activity and amount spread, so that the classifier learns what
    /// is unusual for an entity rather than what is large for one population. They start on different days of the week
    /// (a Monday, a Saturday, a Sunday): every entity starts without history, as in a worker's first day, and that day
    /// may be a weekend. Each held-out and validation stream differs from each in seed and in its parameters.
    /// </summary>
    public IReadOnlyList<SimulationOptions> Training { get; init; } =
    [
        new() { Entities = 2_000, Days = 14, Seed = 42, EpisodeRate = 0.03, TxnPrefix = "T" },
        new() { Entities = 2_000, Days = 14, Seed = 43, Activity = 1.6, AmountSpread = 1.5, EpisodeRate = 0.03, TxnPrefix = "U", Start = At(2026, 3, 7) },
        new() { Entities = 1_500, Days = 14, Seed = 44, Activity = 0.9, AmountSpread = 1.1, EpisodeRate = 0.03, TxnPrefix = "V", Start = At(2026, 3, 15) },
    ];

    /// <summary>
    /// The validation streams: the ML_ANOMALY threshold (an operating point for the false-alert budget) is chosen on
    /// these, from the table of candidate thresholds in the classifier's card, never on the held-out streams, whose
    /// figures would otherwise be tuned ones.
    /// </summary>
    public IReadOnlyList<SimulationOptions> Validation { get; init; } =
    [
        new() { Entities = 1_500, Days = 14, Seed = 4378, Activity = 1.1, AmountSpread = 1.25, EpisodeRate = 0.01, TxnPrefix = "W1", Start = At(2026, 5, 9) },
        new() { Entities = 1_500, Days = 16, Seed = 4479, Activity = 0.85, AmountSpread = 1.0, EpisodeRate = 0.01, TxnPrefix = "W2", Start = At(2026, 7, 5) },
        new() { Entities = 1_500, Days = 18, Seed = 4580, Activity = 1.5, AmountSpread = 1.35, EpisodeRate = 0.01, TxnPrefix = "W3", Start = At(2026, 8, 12) },
        new() { Entities = 1_500, Days = 20, Seed = 4681, Activity = 2.0, AmountSpread = 1.6, EpisodeRate = 0.01, TxnPrefix = "W4", Start = At(2026, 10, 5) },
        new() { Entities = 1_500, Days = 16, Seed = 4782, Activity = 0.7, AmountSpread = 0.8, EpisodeRate = 0.01, TxnPrefix = "W5", Start = At(2026, 12, 3) },
        new() { Entities = 1_500, Days = 18, Seed = 4883, Activity = 1.8, AmountSpread = 1.5, EpisodeRate = 0.01, TxnPrefix = "W6", Start = At(2027, 1, 10) },
    ];

    /// <summary>The ML_ANOMALY thresholds the validation streams are run with.</summary>
    public IReadOnlyList<double> CandidateThresholds { get; init; } = [0.9, 0.95, 0.97, 0.99];

    public SimulationOptions HeldOut { get; init; } = new()
    {
        Entities = 1_500, Days = 16, Seed = 4242, Activity = 1.3, AmountSpread = 1.2, EpisodeRate = 0.015, TxnPrefix = "H",
        Start = At(2026, 6, 1),
    };

    /// <summary>
    /// More held-out streams, each of another seed and other parameters than the training streams, so that the quality
    /// stated is not that of one stream: the engine's quality on each is in the classifier's card. Two start on a
    /// weekend.
    /// </summary>
    public IReadOnlyList<SimulationOptions> OtherHeldOut { get; init; } =
    [
        new() { Entities = 1_000, Days = 14, Seed = 4343, Activity = 0.8, AmountSpread = 0.9, TxnPrefix = "H1", Start = At(2026, 9, 5) },
        new() { Entities = 1_500, Days = 16, Seed = 4444, Activity = 1.3, AmountSpread = 1.2, TxnPrefix = "H2", Start = At(2026, 6, 1) },
        new() { Entities = 1_200, Days = 12, Seed = 4545, Activity = 1.8, AmountSpread = 1.4, TxnPrefix = "H3", Start = At(2026, 9, 1) },
        new() { Entities = 2_000, Days = 14, Seed = 4646, Activity = 1.0, AmountSpread = 1.3, TxnPrefix = "H4", Start = At(2026, 11, 8) },
    ];

    /// <summary>Every held-out stream: <see cref="HeldOut"/> first, then <see cref="OtherHeldOut"/>.</summary>
    public IEnumerable<SimulationOptions> AllHeldOut => OtherHeldOut.Prepend(HeldOut);

    /// <summary>The default streams and models with every seed derived from <paramref name="seed"/>.</summary>
    public static TrainingOptions ForSeed(int seed)
    {
        var defaults = new TrainingOptions();
        return defaults with
        {
            Seed = seed,
            Training = defaults.Training.Select((stream, i) => stream with { Seed = seed + i }).ToList(),
            HeldOut = defaults.HeldOut with { Seed = seed * 100 + 42 },
            OtherHeldOut = defaults.OtherHeldOut.Select((stream, i) => stream with { Seed = seed * 100 + 42 + 101 * (i + 1) }).ToList(),
            Validation = defaults.Validation.Select((stream, i) => stream with { Seed = seed * 100 + 77 + 101 * (i + 1) }).ToList(),
        };
    }

    /// <summary>Midnight in Shanghai on a day.</summary>
    private static DateTimeOffset At(int year, int month, int day) => new(year, month, day, 0, 0, 0, TimeSpan.FromHours(8));

    public int DetectorRank { get; init; } = 6;
    public int Trees { get; init; } = 30;
    public int Leaves { get; init; } = 24;
    public int MinExamplesPerLeaf { get; init; } = 100;
    public double LearningRate { get; init; } = 0.25;

    /// <summary>Normal events the detector learns from at most (a seeded sample of the training stream).</summary>
    public int DetectorSample { get; init; } = 60_000;
}

/// <summary>Input of the unsupervised detector: the features without its own novelty score.</summary>
public sealed class DetectorInput
{
    [VectorType(Core.Scoring.Features.DetectorCount)]
    public float[] Features { get; set; } = [];
}

/// <summary>What training measured: the detector and classifier on held-out events, and the engine on the held-out stream.</summary>
public sealed record TrainingResult(
    TrainingOptions Options, int TrainingEvents, int TrainingPositives, int HeldOutEvents, int HeldOutPositives,
    double DetectorAuc, double NormalTrainingResidualP99, double NormalResidualP99, double NormalResidualP9999,
    double ClassifierAuc, double ClassifierPrecision, double ClassifierRecall, QualityReport Quality,
    IReadOnlyList<QualityReport> OtherQuality, IReadOnlyList<OperatingPoint> OperatingPoints, string Version)
{
    /// <summary>
    /// The threshold the validation streams pick: the lowest candidate at which every validation stream meets the scored
    /// rules' targets, the false-alert budget of one per 10,000 ordinary payments among them; null when none does.
    /// </summary>
    public double? PickedThreshold => OperatingPoints.FirstOrDefault(p => p.EveryStreamMeets)?.Threshold;
}

/// <summary>
/// The engine with the new models on every validation stream at one ML_ANOMALY threshold: the worst stream's false
/// alerts per 10,000 ordinary payments, the episodes ML_ANOMALY caught of all episodes, and whether every stream met the
/// targets of the scored rules.
/// </summary>
public sealed record OperatingPoint(double Threshold, double WorstFalseAlertsPer10k, int ModelCaught, int Episodes, int MlAlerts, bool EveryStreamMeets);

/// <summary>
/// Trains both models from a seed: the same options give the same model files and the same metrics. Runs on one
/// thread so that nothing depends on scheduling.
/// </summary>
public static class ModelTrainer
{
    public static TrainingResult Train(TrainingOptions options, RuleSettings settings, string directory, TextWriter? progress = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        // ML.NET writes parts of a model file (the normaliser, the calibrator, the trees' summary) as text in the current
        // culture: under the invariant one, the files and so the models version do not depend on the machine's culture.
        var culture = CultureInfo.CurrentCulture;
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        try
        {
            return TrainInvariant(options, settings, directory, progress);
        }
        finally
        {
            CultureInfo.CurrentCulture = culture;
        }
    }

    private static TrainingResult TrainInvariant(TrainingOptions options, RuleSettings settings, string directory, TextWriter? progress)
    {
        Directory.CreateDirectory(directory);
        var ml = new MLContext(seed: options.Seed);

        var training = new List<FeatureRow>();
        foreach (var stream in options.Training)
        {
            progress?.WriteLine($"simulating a training stream ({Describe(stream)})");
            training.AddRange(FeatureTable.From(LabelledSimulation.Generate(stream), settings));
        }
        progress?.WriteLine($"simulating the held-out stream ({Describe(options.HeldOut)})");
        var heldOutSimulation = LabelledSimulation.Generate(options.HeldOut);
        var heldOut = FeatureTable.From(heldOutSimulation, settings);

        progress?.WriteLine($"training the detector on normal events ({training.Count(r => !r.Label):N0} available)");
        var normal = training.Where(r => !r.Label).ToList();
        var random = new Random(options.Seed);
        var sample = normal.Count <= options.DetectorSample ? normal : normal.OrderBy(_ => random.Next()).Take(options.DetectorSample).ToList();
        var detectorData = ml.Data.LoadFromEnumerable(sample.Select(r => new DetectorInput { Features = r.Features[..Features.DetectorCount] }));
        var detectorModel = ml.Transforms.NormalizeMeanVariance(nameof(DetectorInput.Features))
            .Append(ml.AnomalyDetection.Trainers.RandomizedPca(new RandomizedPcaTrainer.Options
            {
                FeatureColumnName = nameof(DetectorInput.Features), Rank = options.DetectorRank, EnsureZeroMean = true, Seed = options.Seed,
            }))
            .Fit(detectorData);
        var detectorPath = Path.Combine(directory, ModelFiles.DetectorFile);
        ml.Model.Save(detectorModel, detectorData.Schema, detectorPath);
        ModelFiles.MakeReproducible(detectorPath);
        var detector = ModelFiles.Detector(detectorModel, detectorPath);
        foreach (var row in training.Concat(heldOut)) row.Features[Features.Novelty] = (float)detector.Residual(row.Features);
        var normalResiduals = heldOut.Where(r => !r.Label).Select(r => (double)r.Features[Features.Novelty]).Order().ToList();
        var normalTrainingResidualP99 = Quantile(normal.Select(r => (double)r.Features[Features.Novelty]).Order().ToList(), 0.99);

        progress?.WriteLine($"training the classifier on {training.Count:N0} events ({training.Count(r => r.Label):N0} in episodes)");
        var trainingData = ml.Data.LoadFromEnumerable(training);
        var classifierModel = ml.BinaryClassification.Trainers.FastTree(new FastTreeBinaryTrainer.Options
        {
            LabelColumnName = nameof(FeatureRow.Label), FeatureColumnName = nameof(FeatureRow.Features),
            NumberOfTrees = options.Trees, NumberOfLeaves = options.Leaves, MinimumExampleCountPerLeaf = options.MinExamplesPerLeaf,
            LearningRate = options.LearningRate, Seed = options.Seed, NumberOfThreads = 1,
        }).Fit(trainingData);
        var classifierPath = Path.Combine(directory, ModelFiles.ClassifierFile);
        ml.Model.Save(classifierModel, trainingData.Schema, classifierPath);
        ModelFiles.MarkTrainedWith(classifierPath, detectorPath, normalTrainingResidualP99);
        ModelFiles.MakeReproducible(classifierPath);
        var metrics = ml.BinaryClassification.Evaluate(classifierModel.Transform(ml.Data.LoadFromEnumerable(heldOut)), nameof(FeatureRow.Label));

        progress?.WriteLine("running the engine with the new models over the held-out stream");
        var models = ModelFiles.Load(directory);
        var quality = QualityReport.Evaluate(heldOutSimulation, settings, models);
        var otherQuality = options.OtherHeldOut.Select(stream =>
        {
            progress?.WriteLine($"running the engine with the new models over another held-out stream ({Describe(stream)})");
            return QualityReport.Evaluate(LabelledSimulation.Generate(stream), settings, models);
        }).ToList();
        var operatingPoints = OperatingPoints(options, settings, models, progress);
        return new TrainingResult(options, training.Count, training.Count(r => r.Label), heldOut.Count, heldOut.Count(r => r.Label),
            Auc(heldOut.Select(r => ((double)r.Features[Features.Novelty], r.Label))),
            normalTrainingResidualP99, Quantile(normalResiduals, 0.99), Quantile(normalResiduals, 0.9999),
            metrics.AreaUnderRocCurve, metrics.PositivePrecision, metrics.PositiveRecall, quality, otherQuality, operatingPoints, models.Version);
    }

    /// <summary>The engine over every validation stream at each candidate threshold (the severity bands raised to it where below).</summary>
    private static List<OperatingPoint> OperatingPoints(TrainingOptions options, RuleSettings settings, ModelSet models, TextWriter? progress)
    {
        var streams = options.Validation.Select(stream =>
        {
            progress?.WriteLine($"simulating a validation stream ({Describe(stream)})");
            return LabelledSimulation.Generate(stream);
        }).ToList();
        var points = new List<OperatingPoint>();
        var (threshold, severityII, severityIII) = (settings.MlAnomalyThreshold, settings.MlAnomalySeverityII, settings.MlAnomalySeverityIII);
        try
        {
            foreach (var candidate in options.CandidateThresholds)
            {
                progress?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"running the engine over the validation streams with ML_ANOMALY at {candidate}"));
                settings.MlAnomalyThreshold = candidate;
                settings.MlAnomalySeverityII = Math.Max(severityII, candidate);
                settings.MlAnomalySeverityIII = Math.Max(severityIII, settings.MlAnomalySeverityII);
                var reports = streams.Select(stream => QualityReport.Evaluate(stream, settings, models)).ToList();
                points.Add(new OperatingPoint(candidate,
                    reports.Count == 0 ? double.NaN : reports.Max(r => r.FalseAlertsPer10k),
                    reports.Sum(r => r.Typologies.Sum(t => t.DetectedByModel)), reports.Sum(r => r.Typologies.Sum(t => t.Episodes)),
                    reports.Sum(r => r.Rules.FirstOrDefault(q => q.Rule == RuleCodes.MlAnomaly)?.Alerts ?? 0),
                    reports.All(r => r.MeetsStatistical(0.9, 1.0))));
            }
        }
        finally
        {
            (settings.MlAnomalyThreshold, settings.MlAnomalySeverityII, settings.MlAnomalySeverityIII) = (threshold, severityII, severityIII);
        }
        return points;
    }

    public static string Describe(SimulationOptions o) => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"{o.Entities} entities, {o.Days} days from {o.Start:yyyy-MM-dd}, seed {o.Seed}, activity {o.Activity}, amount spread {o.AmountSpread}, episode rate {o.EpisodeRate}");

    /// <summary>Area under the ROC curve of a score for a label (Mann–Whitney, ties counted half).</summary>
    public static double Auc(IEnumerable<(double Score, bool Label)> scored)
    {
        var sorted = scored.OrderBy(s => s.Score).ToList();
        double positives = sorted.Count(s => s.Label), negatives = sorted.Count - positives;
        if (positives == 0 || negatives == 0) return double.NaN;
        double rankSum = 0;
        for (var i = 0; i < sorted.Count;)
        {
            var j = i;
            while (j < sorted.Count && sorted[j].Score == sorted[i].Score) j++;
            var averageRank = (i + j + 1) / 2.0;   // ranks i+1 … j
            for (var k = i; k < j; k++)
            {
                if (sorted[k].Label) rankSum += averageRank;
            }
            i = j;
        }
        return (rankSum - positives * (positives + 1) / 2) / (positives * negatives);
    }

    private static double Quantile(List<double> sorted, double q) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)(q * sorted.Count))];
}
