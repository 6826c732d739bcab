using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FlowWatch.Core.Scoring;

/// <summary>
/// A boosted tree ensemble with Platt calibration as flat arrays, from a trained ML.NET FastTree binary classifier.
/// Each node sends an event left when its feature is at or below the node's threshold. All trees' nodes share one
/// array of 16-byte records; a child index below zero is a leaf (−(leaf + 1) into one array of leaf values, already
/// multiplied by the tree's weight). Evaluation walks every tree once, without allocating or bounds checks.
/// </summary>
public sealed class TreeEnsemble
{
    private readonly Node[] _nodes;
    private readonly double[] _leaves;
    private readonly int[] _roots;

    /// <summary>Trees walked between two checks of whether the threshold can still be reached.</summary>
    private const int Block = 4;

    /// <summary>Per tree t, the most the trees from t on can still add to the raw score.</summary>
    private readonly double[] _mostFrom;
    private readonly double _bias;
    private readonly double _plattSlope;
    private readonly double _plattOffset;

    public TreeEnsemble(IReadOnlyList<Tree> trees, double bias, double plattSlope, double plattOffset)
    {
        ArgumentNullException.ThrowIfNull(trees);
        var nodes = new List<Node>();
        var leaves = new List<double>();
        _roots = new int[trees.Count];
        // The trees that can add most come first: the bound on what the rest can add then shrinks fastest, and
        // TryReach gives up on an ordinary event after fewer trees. A sum does not depend on its order.
        var ordered = trees.OrderByDescending(tree => tree.LeafValue.Max() * tree.Weight).ToList();
        for (var t = 0; t < ordered.Count; t++)
        {
            var tree = ordered[t];
            int nodeBase = nodes.Count, leafBase = leaves.Count;
            int Child(int child) => child >= 0 ? nodeBase + child : ~(leafBase + ~child);
            _roots[t] = tree.Feature.Length == 0 ? ~leafBase : nodeBase;   // a tree of one leaf has no node
            for (var n = 0; n < tree.Feature.Length; n++)
            {
                nodes.Add(new Node(tree.Feature[n], tree.Threshold[n], Child(tree.Left[n]), Child(tree.Right[n])));
            }
            leaves.AddRange(tree.LeafValue.Select(v => v * tree.Weight));
        }
        _nodes = [.. nodes];
        _leaves = [.. leaves];
        _mostFrom = new double[trees.Count + 1];
        for (var t = ordered.Count - 1; t >= 0; t--) _mostFrom[t] = _mostFrom[t + 1] + ordered[t].LeafValue.Max() * ordered[t].Weight;
        FeatureCount = _nodes.Length == 0 ? 0 : _nodes.Max(n => n.Feature) + 1;
        _bias = bias;
        _plattSlope = plattSlope;
        _plattOffset = plattOffset;
    }

    /// <summary>One tree as ML.NET describes it: per node its feature, threshold and children (negative: −(leaf + 1)); values per leaf.</summary>
    public sealed record Tree(int[] Feature, float[] Threshold, int[] Left, int[] Right, double[] LeafValue, double Weight);

    [StructLayout(LayoutKind.Sequential)]
    private readonly record struct Node(int Feature, float Threshold, int Left, int Right);

    /// <summary>Highest feature index any split reads, plus one.</summary>
    public int FeatureCount { get; }

    /// <summary>The ensemble's raw output: the weighted sum of the leaves reached, plus the bias.</summary>
    public double RawScore(ReadOnlySpan<float> features)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(features.Length, FeatureCount, nameof(features));
        return _bias + Leaves(features, 0, _roots.Length);
    }

    /// <summary>
    /// Sum of the leaves reached in trees [from, to). Four trees are walked side by side: their loads and compares
    /// are independent, so the processor overlaps them instead of waiting on one chain of node loads.
    /// </summary>
    private double Leaves(ReadOnlySpan<float> features, int from, int to)
    {
        ref var x = ref MemoryMarshal.GetReference(features);
        ref var nodes = ref MemoryMarshal.GetArrayDataReference(_nodes);
        var sum = 0.0;
        var t = from;
        for (; t + 4 <= to; t += 4)
        {
            int a = _roots[t], b = _roots[t + 1], c = _roots[t + 2], d = _roots[t + 3];
            // Until all four walks have reached a leaf (negative: the sign bit of the AND is set only when all are).
            while ((a & b & c & d) >= 0)
            {
                a = Step(ref nodes, ref x, a);
                b = Step(ref nodes, ref x, b);
                c = Step(ref nodes, ref x, c);
                d = Step(ref nodes, ref x, d);
            }
            sum += _leaves[~a] + _leaves[~b] + _leaves[~c] + _leaves[~d];
        }
        for (; t < to; t++)
        {
            var n = _roots[t];
            while (n >= 0) n = Step(ref nodes, ref x, n);
            sum += _leaves[~n];
        }
        return sum;
    }

    /// <summary>One step down from node <paramref name="n"/>; a leaf (negative) stays where it is.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Step(ref Node nodes, ref float x, int n)
    {
        if (n < 0) return n;
        ref readonly var node = ref Unsafe.Add(ref nodes, n);
        return Unsafe.Add(ref x, node.Feature) <= node.Threshold ? node.Left : node.Right;
    }

    /// <summary>
    /// Whether the calibrated probability reaches <paramref name="threshold"/>, and if so the probability. Stops as
    /// soon as the remaining trees cannot lift the raw score to the threshold, so an ordinary event is usually decided
    /// by a part of the ensemble; the answer is exactly that of <see cref="Probability"/> compared with the threshold.
    /// </summary>
    public bool TryReach(ReadOnlySpan<float> features, double threshold, out double probability)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(features.Length, FeatureCount, nameof(features));
        probability = 0;
        // Platt calibration falls with a positive slope; then no raw score bound follows, and every tree is walked.
        var needed = _plattSlope < 0 ? (Math.Log(1 / threshold - 1) - _plattOffset) / _plattSlope : double.NegativeInfinity;
        var sum = _bias;
        for (var t = 0; t < _roots.Length; t += Block)
        {
            if (sum + _mostFrom[t] < needed) return false;
            sum += Leaves(features, t, Math.Min(t + Block, _roots.Length));
        }
        probability = Calibrate(sum);
        return probability >= threshold;
    }

    /// <summary>Calibrated probability that the event belongs to an anomalous episode.</summary>
    public double Probability(ReadOnlySpan<float> features) => Calibrate(RawScore(features));

    public double Calibrate(double rawScore) => 1 / (1 + Math.Exp(_plattSlope * rawScore + _plattOffset));

    /// <summary>
    /// Credits each feature with the output of the leaves it led to, shared among the splits on each path:
    /// the features that drove the score up get the largest credit.
    /// </summary>
    public void Explain(ReadOnlySpan<float> features, Span<double> credit)
    {
        Span<int> path = stackalloc int[64];
        foreach (var root in _roots)
        {
            var depth = 0;
            var n = root;
            while (n >= 0)
            {
                var node = _nodes[n];
                if (depth < path.Length) path[depth++] = node.Feature;
                n = features[node.Feature] <= node.Threshold ? node.Left : node.Right;
            }
            if (depth == 0) continue;
            var share = _leaves[~n] / depth;
            foreach (var feature in path[..depth]) credit[feature] += share;
        }
    }
}
