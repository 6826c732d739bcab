using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FlowWatch.Core.Scoring;

/// <summary>
/// A boosted tree ensemble with Platt calibration as flat arrays, from a trained ML.NET FastTree binary classifier.
/// Each node sends an event left when its feature is at or below the node's threshold. All trees' nodes share one
/// array of 8-byte records whose children are indices within their tree (one byte each; below zero a leaf, −(leaf + 1)),
/// and all leaves one array of values already multiplied by the tree's weight. The whole ensemble then stays small
/// enough to remain in cache between events while the engine works on entity state. Evaluation walks every tree
/// once, without allocating or bounds checks.
/// </summary>
public sealed class TreeEnsemble
{
    /// <summary>Trees walked between two checks of whether the threshold can still be reached.</summary>
    private const int Block = 4;

    /// <summary>Most nodes a tree may have: its children are stored as signed bytes.</summary>
    private const int MaxNodesPerTree = sbyte.MaxValue;

    private readonly Node[] _nodes;
    private readonly double[] _leaves;

    /// <summary>Per tree, where its nodes and leaves start and the most it and the trees after it can add.</summary>
    private readonly TreeStart[] _trees;
    private readonly double _bias;
    private readonly double _plattSlope;
    private readonly double _plattOffset;

    /// <summary>The raw score the last threshold asked for needs (thresholds rarely change; the logarithm is not free).</summary>
    private RawGoal? _goal;

    public TreeEnsemble(IReadOnlyList<Tree> trees, double bias, double plattSlope, double plattOffset)
    {
        ArgumentNullException.ThrowIfNull(trees);
        var nodes = new List<Node>();
        var leaves = new List<double>();
        // The trees that can add most come first: the bound on what the rest can add then shrinks fastest, and
        // TryReach gives up on an ordinary event after fewer trees. A sum does not depend on its order.
        var ordered = trees.OrderByDescending(tree => tree.LeafValue.Max() * tree.Weight).ToList();
        var mostFrom = new double[ordered.Count + 1];
        for (var t = ordered.Count - 1; t >= 0; t--) mostFrom[t] = mostFrom[t + 1] + ordered[t].LeafValue.Max() * ordered[t].Weight;
        _trees = new TreeStart[ordered.Count];
        for (var t = 0; t < ordered.Count; t++)
        {
            var tree = ordered[t];
            if (tree.Feature.Length > MaxNodesPerTree || tree.Feature.Any(feature => feature is < 0 or > byte.MaxValue))
                throw new ArgumentException($"a tree has more than {MaxNodesPerTree} nodes or reads a feature beyond {byte.MaxValue}", nameof(trees));
            _trees[t] = new TreeStart(nodes.Count, leaves.Count, mostFrom[t]);
            // A tree of one leaf gets a node whose both children are that leaf, so that every walk starts at a node.
            if (tree.Feature.Length == 0) nodes.Add(new Node(0, 0, ~0, ~0));
            for (var n = 0; n < tree.Feature.Length; n++)
            {
                nodes.Add(new Node(tree.Threshold[n], (byte)tree.Feature[n], (sbyte)tree.Left[n], (sbyte)tree.Right[n]));
            }
            leaves.AddRange(tree.LeafValue.Select(v => v * tree.Weight));
        }
        _nodes = [.. nodes];
        _leaves = [.. leaves];
        FeatureCount = _nodes.Length == 0 ? 0 : _nodes.Max(n => n.Feature) + 1;
        _bias = bias;
        _plattSlope = plattSlope;
        _plattOffset = plattOffset;
    }

    /// <summary>One tree as ML.NET describes it: per node its feature, threshold and children (negative: −(leaf + 1)); values per leaf.</summary>
    public sealed record Tree(int[] Feature, float[] Threshold, int[] Left, int[] Right, double[] LeafValue, double Weight);

    /// <summary>A split in 8 bytes: children are node indices within the tree, or −(leaf + 1) within the tree's leaves.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private readonly record struct Node(float Threshold, byte Feature, sbyte Left, sbyte Right);

    /// <summary>A tree's first node and first leaf, and the most the trees from it on can still add to the raw score.</summary>
    private readonly record struct TreeStart(int Node, int Leaf, double MostFrom);

    /// <summary>A probability threshold and the raw score that reaches it.</summary>
    private sealed record RawGoal(double Threshold, double Needed);

    /// <summary>Highest feature index any node reads, plus one.</summary>
    public int FeatureCount { get; }

    /// <summary>The ensemble's raw output: the weighted sum of the leaves reached, plus the bias.</summary>
    public double RawScore(ReadOnlySpan<float> features)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(features.Length, FeatureCount, nameof(features));
        return _bias + Leaves(features, 0, _trees.Length);
    }

    /// <summary>
    /// Sum of the leaves reached in trees [from, to). Four trees are walked side by side: their loads and compares
    /// are independent, so the processor overlaps them instead of waiting on one chain of node loads.
    /// </summary>
    private double Leaves(ReadOnlySpan<float> features, int from, int to)
    {
        ref var x = ref MemoryMarshal.GetReference(features);
        ref var nodes = ref MemoryMarshal.GetArrayDataReference(_nodes);
        ref var leaves = ref MemoryMarshal.GetArrayDataReference(_leaves);
        var sum = 0.0;
        var t = from;
        for (; t + 4 <= to; t += 4)
        {
            ref readonly TreeStart ta = ref _trees[t], tb = ref _trees[t + 1], tc = ref _trees[t + 2], td = ref _trees[t + 3];
            ref Node na = ref Unsafe.Add(ref nodes, ta.Node), nb = ref Unsafe.Add(ref nodes, tb.Node),
                nc = ref Unsafe.Add(ref nodes, tc.Node), nd = ref Unsafe.Add(ref nodes, td.Node);
            int a = 0, b = 0, c = 0, d = 0;
            // Until all four walks have reached a leaf (negative: the sign bit of the AND is set only when all are).
            while ((a & b & c & d) >= 0)
            {
                a = Step(ref na, ref x, a);
                b = Step(ref nb, ref x, b);
                c = Step(ref nc, ref x, c);
                d = Step(ref nd, ref x, d);
            }
            sum += Unsafe.Add(ref leaves, ta.Leaf + ~a) + Unsafe.Add(ref leaves, tb.Leaf + ~b)
                + Unsafe.Add(ref leaves, tc.Leaf + ~c) + Unsafe.Add(ref leaves, td.Leaf + ~d);
        }
        for (; t < to; t++)
        {
            ref readonly var tree = ref _trees[t];
            ref var first = ref Unsafe.Add(ref nodes, tree.Node);
            var n = 0;
            while (n >= 0) n = Step(ref first, ref x, n);
            sum += Unsafe.Add(ref leaves, tree.Leaf + ~n);
        }
        return sum;
    }

    /// <summary>One step down from node <paramref name="n"/> of the tree starting at <paramref name="tree"/>; a leaf (negative) stays where it is.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Step(ref Node tree, ref float x, int n)
    {
        if (n < 0) return n;
        ref readonly var node = ref Unsafe.Add(ref tree, n);
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
        var needed = Needed(threshold);
        var sum = _bias;
        for (var t = 0; t < _trees.Length; t += Block)
        {
            if (sum + _trees[t].MostFrom < needed) return false;
            sum += Leaves(features, t, Math.Min(t + Block, _trees.Length));
        }
        probability = Calibrate(sum);
        return probability >= threshold;
    }

    /// <summary>
    /// The raw score at which the calibrated probability reaches <paramref name="threshold"/>. Platt calibration falls
    /// with a positive slope; then no raw score bound follows (negative infinity), and every tree is walked.
    /// </summary>
    private double Needed(double threshold)
    {
        var goal = _goal;
        if (goal is null || goal.Threshold != threshold)
        {
            goal = new RawGoal(threshold, _plattSlope < 0 ? (Math.Log(1 / threshold - 1) - _plattOffset) / _plattSlope : double.NegativeInfinity);
            _goal = goal;   // immutable, so shards on other threads read either goal whole
        }
        return goal.Needed;
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
        foreach (var tree in _trees)
        {
            var depth = 0;
            var n = 0;
            while (n >= 0)
            {
                var node = _nodes[tree.Node + n];
                // The node of a one-leaf tree (both children that leaf) splits nothing, and credits no feature.
                if (depth < path.Length && node.Left != node.Right) path[depth++] = node.Feature;
                n = features[node.Feature] <= node.Threshold ? node.Left : node.Right;
            }
            if (depth == 0) continue;
            var share = _leaves[tree.Leaf + ~n] / depth;
            foreach (var feature in path[..depth]) credit[feature] += share;
        }
    }
}
