namespace FlowWatch.Core.Scoring;

/// <summary>
/// The unsupervised detector as plain arrays: an affine normaliser, then principal components of normal traffic.
/// Its score is the residual: the length of the part of the normalised event that the components do not explain.
/// Parameters come from a trained ML.NET pipeline (mean-variance normaliser, randomized PCA); evaluating them here
/// is allocation-free and a few dozen multiply-adds per event.
/// </summary>
public sealed class PcaDetector
{
    private readonly float[] _offset;
    private readonly float[] _scale;
    private readonly float[] _mean;
    private readonly float[] _components;
    private readonly double[] _meanProjected;

    /// <param name="offset">Normaliser: y = (x − offset) · scale, per feature.</param>
    /// <param name="scale">Normaliser scale per feature.</param>
    /// <param name="mean">Mean of the normalised training data.</param>
    /// <param name="components">Rank × dimension eigenvectors, row after row.</param>
    public PcaDetector(float[] offset, float[] scale, float[] mean, float[] components)
    {
        ArgumentNullException.ThrowIfNull(offset);
        ArgumentNullException.ThrowIfNull(scale);
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(components);
        Dimension = mean.Length;
        if (offset.Length != Dimension || scale.Length != Dimension || components.Length == 0 || components.Length % Dimension != 0)
            throw new ArgumentException("normaliser, mean and components must have the detector's dimension");
        Rank = components.Length / Dimension;
        _offset = offset;
        _scale = scale;
        _mean = mean;
        _components = components;
        _meanProjected = new double[Rank];
        for (var r = 0; r < Rank; r++)
        {
            double dot = 0;
            for (var i = 0; i < Dimension; i++) dot += components[r * Dimension + i] * (double)mean[i];
            _meanProjected[r] = dot;
        }
    }

    public int Dimension { get; }

    public int Rank { get; }

    /// <summary>Length of the residual of <paramref name="features"/> (its first <see cref="Dimension"/> values).</summary>
    public double Residual(ReadOnlySpan<float> features) => Math.Sqrt(Math.Max(Norms(features).Residual, 0));

    /// <summary>ML.NET's anomaly score for the same input: the residual relative to the distance from the mean.</summary>
    public double RelativeResidual(ReadOnlySpan<float> features)
    {
        var (distance, residual) = Norms(features);
        return Math.Sqrt(residual / distance);
    }

    /// <summary>Squared distance of the normalised event from the mean, and its squared residual.</summary>
    private (double Distance, double Residual) Norms(ReadOnlySpan<float> features)
    {
        Span<double> centred = stackalloc double[Dimension];
        double distance = 0;
        for (var i = 0; i < centred.Length; i++)
        {
            var value = (features[i] - _offset[i]) * (double)_scale[i] - _mean[i];
            centred[i] = value;
            distance += value * value;
        }
        double explained = 0;
        for (var r = 0; r < Rank; r++)
        {
            var row = _components.AsSpan(r * Dimension, Dimension);
            double projection = 0;
            for (var i = 0; i < row.Length; i++) projection += row[i] * centred[i];
            explained += projection * projection;
        }
        return (distance, distance - explained);
    }
}
