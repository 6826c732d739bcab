using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace FlowWatch.Core.Scoring;

/// <summary>
/// The unsupervised detector as plain arrays: an affine normaliser, then principal components of normal traffic.
/// Its score is the residual: the length of the part of the normalised event that the components do not explain.
/// Parameters come from a trained ML.NET pipeline (mean-variance normaliser, randomized PCA). The normaliser and the
/// mean are folded into the components at load, so an event costs one pass over its features and no buffer.
/// </summary>
public sealed class PcaDetector
{
    /// <summary>Components projected side by side, one per vector lane.</summary>
    private static readonly int Lanes = Vector256<float>.Count;

    /// <summary>Normalised and centred value of feature i: x[i] · <see cref="_scale"/>[i] − <see cref="_shift"/>[i].</summary>
    private readonly float[] _scale;
    private readonly float[] _shift;

    /// <summary>
    /// Per group of <see cref="Lanes"/> components, per feature i: the components' eigenvector entries for i times the
    /// scale, one per lane (zero past the last component). Each lane then sums its own component's terms in the same
    /// order and with the same roundings as a pass over that component alone.
    /// </summary>
    private readonly float[] _weights;

    /// <summary>Per component, minus the constant its projection subtracts; lanes past the last component hold zero.</summary>
    private readonly float[] _starts;
    private readonly int _rank;

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
        _rank = components.Length / Dimension;
        _scale = scale;
        _shift = new float[Dimension];
        for (var i = 0; i < Dimension; i++) _shift[i] = offset[i] * scale[i] + mean[i];
        var groups = (_rank + Lanes - 1) / Lanes;
        _weights = new float[groups * Dimension * Lanes];
        _starts = new float[groups * Lanes];
        for (var r = 0; r < _rank; r++)
        {
            int group = r / Lanes, lane = r % Lanes;
            double constant = 0;
            for (var i = 0; i < Dimension; i++)
            {
                _weights[(group * Dimension + i) * Lanes + lane] = components[r * Dimension + i] * scale[i];
                constant += components[r * Dimension + i] * (double)_shift[i];
            }
            _starts[r] = -(float)constant;
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
        ref var weights = ref MemoryMarshal.GetArrayDataReference(_weights);
        var explained = 0f;
        for (var group = 0; group * Lanes < _rank; group++)
        {
            var projections = Vector256.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(_starts), (nuint)(group * Lanes));
            var row = (nuint)(group * x.Length * Lanes);
            for (var i = 0; i < x.Length; i++, row += (nuint)Lanes)
            {
                projections += Vector256.LoadUnsafe(ref weights, row) * Vector256.Create(x[i]);
            }
            var squares = projections * projections;
            for (var lane = 0; lane < Lanes && group * Lanes + lane < _rank; lane++) explained += squares.GetElement(lane);
        }
        return (distance, distance - explained);
    }
}
