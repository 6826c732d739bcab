namespace FlowWatch.Core.Scoring;

/// <summary>
/// The unsupervised detector as plain arrays: an affine normaliser, then principal components of normal traffic.
/// Its score is the residual: the length of the part of the normalised event that the components do not explain.
/// Parameters come from a trained ML.NET pipeline (mean-variance normaliser, randomized PCA). The normaliser and the
/// mean are folded into the components at load, so an event costs one pass per component and no buffer.
/// </summary>
public sealed class PcaDetector
{
    /// <summary>Normalised and centred value of feature i: x[i] · <see cref="_scale"/>[i] − <see cref="_shift"/>[i].</summary>
    private readonly float[] _scale;
    private readonly float[] _shift;

    /// <summary>Per component r: its eigenvector times the scale, row after row, and the constant its projection subtracts.</summary>
    private readonly float[] _weights;
    private readonly float[] _constants;

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
        var rank = components.Length / Dimension;
        _scale = scale;
        _shift = new float[Dimension];
        for (var i = 0; i < Dimension; i++) _shift[i] = offset[i] * scale[i] + mean[i];
        _weights = new float[components.Length];
        _constants = new float[rank];
        for (var r = 0; r < rank; r++)
        {
            double constant = 0;
            for (var i = 0; i < Dimension; i++)
            {
                _weights[r * Dimension + i] = components[r * Dimension + i] * scale[i];
                constant += components[r * Dimension + i] * (double)_shift[i];
            }
            _constants[r] = (float)constant;
        }
    }

    public int Dimension { get; }

    /// <summary>Length of the residual of <paramref name="features"/> (its first <see cref="Dimension"/> values).</summary>
    public double Residual(ReadOnlySpan<float> features) => Math.Sqrt(Math.Max(Norms(features).Residual, 0));

    /// <summary>ML.NET's anomaly score for the same input: the residual relative to the distance from the mean.</summary>
    public double RelativeResidual(ReadOnlySpan<float> features)
    {
        var (distance, residual) = Norms(features);
        return Math.Sqrt(Math.Max(residual, 0) / distance);
    }

    /// <summary>Squared distance of the normalised event from the mean, and its squared residual.</summary>
    private (float Distance, float Residual) Norms(ReadOnlySpan<float> features)
    {
        var x = features[..Dimension];
        var scale = _scale.AsSpan(0, x.Length);
        var shift = _shift.AsSpan(0, x.Length);
        var distance = 0f;
        for (var i = 0; i < x.Length; i++)
        {
            var centred = x[i] * scale[i] - shift[i];
            distance += centred * centred;
        }
        var explained = 0f;
        for (var r = 0; r < _constants.Length; r++)
        {
            var weights = _weights.AsSpan(r * x.Length, x.Length);
            var projection = -_constants[r];
            for (var i = 0; i < weights.Length; i++) projection += weights[i] * x[i];
            explained += projection * projection;
        }
        return (distance, distance - explained);
    }
}
