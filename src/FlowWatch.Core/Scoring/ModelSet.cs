namespace FlowWatch.Core.Scoring;

/// <summary>
/// The models the engine scores every event with: the unsupervised detector, whose residual becomes the
/// <see cref="Features.Novelty"/> feature, and the supervised classifier over every feature. Immutable.
/// </summary>
public sealed class ModelSet
{
    public ModelSet(PcaDetector detector, TreeEnsemble classifier, string version, double normalNovelty)
    {
        ArgumentNullException.ThrowIfNull(detector);
        ArgumentNullException.ThrowIfNull(classifier);
        if (!double.IsFinite(normalNovelty) || normalNovelty < 0)
            throw new ArgumentOutOfRangeException(nameof(normalNovelty), normalNovelty, "must be a finite residual, not negative");
        if (detector.Dimension != Features.DetectorCount)
            throw new ArgumentException($"the detector reads {detector.Dimension} features, not {Features.DetectorCount}", nameof(detector));
        if (classifier.FeatureCount > Features.Count)
            throw new ArgumentException($"the classifier reads feature {classifier.FeatureCount - 1}, beyond the {Features.Count} the engine computes", nameof(classifier));
        Detector = detector;
        Classifier = classifier;
        Version = version;
        NormalNovelty = normalNovelty;
    }

    public PcaDetector Detector { get; }

    public TreeEnsemble Classifier { get; }

    /// <summary>
    /// The detector's residual (the novelty feature) below which 99% of the normal training events lie: the baseline
    /// against which an event's own novelty is reported.
    /// </summary>
    public double NormalNovelty { get; }

    /// <summary>Names the model files, for alerts and logs.</summary>
    public string Version { get; }

    /// <summary>Fills in the novelty feature and answers the classifier's probability.</summary>
    public double Score(Span<float> features)
    {
        features[Features.Novelty] = (float)Detector.Residual(features);
        return Classifier.Probability(features);
    }

    /// <summary>
    /// Fills in the novelty feature and answers whether the classifier's probability reaches
    /// <paramref name="threshold"/> (then with the probability), walking only as much of the ensemble as that takes.
    /// </summary>
    public bool TryReach(Span<float> features, double threshold, out double probability)
    {
        features[Features.Novelty] = (float)Detector.Residual(features);
        return Classifier.TryReach(features, threshold, out probability);
    }

    /// <summary>The <paramref name="count"/> features with the largest credit for the score, as "name=value".</summary>
    public IReadOnlyList<string> TopFeatures(ReadOnlySpan<float> features, int count)
    {
        Span<double> credit = stackalloc double[Features.Count];
        Classifier.Explain(features, credit);
        var ranked = new List<(double Credit, int Feature)>(Features.Count);
        for (var i = 0; i < credit.Length; i++)
        {
            if (credit[i] > 0) ranked.Add((credit[i], i));
        }
        ranked.Sort((a, b) => b.Credit.CompareTo(a.Credit));
        var top = new List<string>(count);
        foreach (var (_, feature) in ranked.Take(count)) top.Add(Describe(feature, features[feature]));
        return top;
    }

    public static string Describe(int feature, float value) =>
        Features.Names[feature] + "=" + value.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>
/// The models in force, swapped whole when a new model file is loaded: shards read the reference once per event,
/// so an event is scored entirely by the old models or entirely by the new ones.
/// </summary>
public sealed class ModelHolder(ModelSet? models = null)
{
    private volatile ModelSet? _current = models;

    public ModelSet? Current => _current;

    public void Swap(ModelSet? models) => _current = models;
}
