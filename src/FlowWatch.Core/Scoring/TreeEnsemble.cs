using System.Reflection.Emit;
using System.Runtime.InteropServices;

namespace FlowWatch.Core.Scoring;

/// <summary>
/// A boosted tree ensemble with Platt calibration, from a trained ML.NET FastTree binary classifier. Each node sends an
/// event left when its feature is at or below the node's threshold. The trees are compiled to code, a method per block
/// of trees: each split a comparison with its threshold as a constant, each leaf its value (already multiplied by the
/// tree's weight). The processor then runs ahead along an ordinary event's predicted path, where walking node arrays
/// waits at every step for the load of the next node. The flat arrays the code is made from (nodes of 8 bytes whose
/// children are indices within their tree, below zero a leaf −(leaf + 1)) remain for <see cref="Explain"/>.
/// </summary>
public sealed class TreeEnsemble
{
    /// <summary>Trees between two checks of whether the threshold can still be reached.</summary>
    private const int Block = 4;

    /// <summary>Most nodes a tree may have: its children are stored as signed bytes.</summary>
    private const int MaxNodesPerTree = sbyte.MaxValue;

    private readonly Node[] _nodes;
    private readonly double[] _leaves;

    /// <summary>Per node, the mean of the leaves below it: what the tree gives before the node's split is known.</summary>
    private readonly double[] _expected;

    /// <summary>Per tree, where its nodes and leaves start and the most it and the trees after it can add.</summary>
    private readonly TreeStart[] _trees;

    /// <summary>Per block of <see cref="Block"/> trees, the block compiled: a running sum plus the leaves reached.</summary>
    private readonly BlockSum[] _blocks;
    private readonly double _bias;
    private readonly double _plattSlope;
    private readonly double _plattOffset;

    /// <summary>The raw score the last threshold asked for needs (thresholds rarely change; the logarithm is not free).</summary>
    private RawGoal? _goal;

    public TreeEnsemble(IReadOnlyList<Tree> trees, double bias, double plattSlope, double plattOffset)
    {
        ArgumentNullException.ThrowIfNull(trees);
        foreach (var tree in trees)
        {
            if (tree.Feature.Length > MaxNodesPerTree || tree.Feature.Any(feature => feature is < 0 or > byte.MaxValue))
                throw new ArgumentException($"a tree has more than {MaxNodesPerTree} nodes or reads a feature beyond {byte.MaxValue}", nameof(trees));
            if (!ChildrenAreSound(tree))
                throw new ArgumentException("a tree has a child that is neither a later node of it nor one of its leaves, or no leaf (a damaged model)", nameof(trees));
        }
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
        _expected = Expectations(_nodes, _leaves, _trees);
        _blocks = new BlockSum[(_trees.Length + Block - 1) / Block];
        for (var b = 0; b < _blocks.Length; b++) _blocks[b] = Compile(b * Block, Math.Min((b + 1) * Block, _trees.Length));
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

    /// <summary><paramref name="sum"/> plus the leaves that <paramref name="features"/> (the first of them) reach in a block of trees.</summary>
    private delegate double BlockSum(ref float features, double sum);

    /// <summary>A tree's first node and first leaf, and the most the trees from it on can still add to the raw score.</summary>
    private readonly record struct TreeStart(int Node, int Leaf, double MostFrom);

    /// <summary>A probability threshold and the raw score that reaches it.</summary>
    private sealed record RawGoal(double Threshold, double Needed);

    /// <summary>Highest feature index any node reads, plus one.</summary>
    public int FeatureCount { get; }

    /// <summary>The ensemble's raw output: the bias plus the leaves reached, added tree after tree.</summary>
    public double RawScore(ReadOnlySpan<float> features)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(features.Length, FeatureCount, nameof(features));
        ref var x = ref MemoryMarshal.GetReference(features);
        var sum = _bias;
        foreach (var block in _blocks) sum = block(ref x, sum);
        return sum;
    }

    /// <summary>
    /// Whether the calibrated probability reaches <paramref name="threshold"/>, and if so the probability. Stops as
    /// soon as the remaining trees cannot lift the raw score to the threshold, so an ordinary event is usually decided
    /// by a part of the ensemble; the probability is exactly that of <see cref="Probability"/>.
    /// </summary>
    public bool TryReach(ReadOnlySpan<float> features, double threshold, out double probability)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(features.Length, FeatureCount, nameof(features));
        probability = 0;
        var needed = Needed(threshold);
        ref var x = ref MemoryMarshal.GetReference(features);
        var sum = _bias;
        for (var b = 0; b < _blocks.Length; b++)
        {
            if (sum + _trees[b * Block].MostFrom < needed) return false;
            sum = _blocks[b](ref x, sum);
        }
        probability = Calibrate(sum);
        return probability >= threshold;
    }

    /// <summary>Compiles trees [from, to) to a method that adds the leaves they reach to a running sum, tree after tree.</summary>
    private BlockSum Compile(int from, int to)
    {
        var method = new DynamicMethod($"Trees{from}To{to}", typeof(double), [typeof(float).MakeByRefType(), typeof(double)], typeof(TreeEnsemble).Module, skipVisibility: true);
        var il = method.GetILGenerator();
        il.Emit(OpCodes.Ldarg_1);
        for (var t = from; t < to; t++)
        {
            EmitTree(il, t, 0);
            il.Emit(OpCodes.Add);
        }
        il.Emit(OpCodes.Ret);
        return method.CreateDelegate<BlockSum>();
    }

    /// <summary>
    /// Whether every child is a leaf of the tree or a node after its parent, as trees grow by splitting leaves: walks
    /// then always end, and every index fits a node's byte.
    /// </summary>
    private static bool ChildrenAreSound(Tree tree)
    {
        var nodes = tree.Feature.Length;
        var leaves = tree.LeafValue.Length;
        if (tree.Left.Length != nodes || tree.Right.Length != nodes || tree.Threshold.Length != nodes || leaves > -sbyte.MinValue) return false;
        for (var n = 0; n < nodes; n++)
        {
            foreach (var child in (ReadOnlySpan<int>)[tree.Left[n], tree.Right[n]])
            {
                if (child < 0 ? ~child >= leaves : child <= n || child >= nodes) return false;
            }
        }
        return leaves > 0;
    }

    /// <summary>Emits code that pushes the leaf value tree <paramref name="t"/> reaches from node <paramref name="n"/>.</summary>
    private void EmitTree(ILGenerator il, int t, int n)
    {
        var tree = _trees[t];
        if (n < 0)
        {
            il.Emit(OpCodes.Ldc_R8, _leaves[tree.Leaf + ~n]);
            return;
        }
        var node = _nodes[tree.Node + n];
        var right = il.DefineLabel();
        var done = il.DefineLabel();
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldc_I4, node.Feature * sizeof(float));
        il.Emit(OpCodes.Conv_I);
        il.Emit(OpCodes.Add);
        il.Emit(OpCodes.Ldind_R4);
        il.Emit(OpCodes.Ldc_R4, node.Threshold);
        // Not at or below the threshold, NaN included (unordered), goes right: as x <= threshold ? left : right.
        il.Emit(OpCodes.Bgt_Un, right);
        EmitTree(il, t, node.Left);
        il.Emit(OpCodes.Br, done);
        il.MarkLabel(right);
        EmitTree(il, t, node.Right);
        il.MarkLabel(done);
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
    /// Credits each feature with what its splits moved the score: at every split on the event's path, the mean of the
    /// leaves below the side taken less the mean of the leaves below the split (a split whose two sides give alike
    /// moves nothing, however near the root it lies). Each tree's credits add up to its leaf reached less its mean, so
    /// all of them add up to the raw score less what the ensemble gives before any feature is known.
    /// </summary>
    public void Explain(ReadOnlySpan<float> features, Span<double> credit)
    {
        foreach (var tree in _trees)
        {
            var n = 0;
            while (n >= 0)
            {
                var node = _nodes[tree.Node + n];
                var next = features[node.Feature] <= node.Threshold ? node.Left : node.Right;
                // The node of a one-leaf tree (both children that leaf) splits nothing, and credits no feature.
                if (node.Left != node.Right)
                {
                    var taken = next < 0 ? _leaves[tree.Leaf + ~next] : _expected[tree.Node + next];
                    credit[node.Feature] += taken - _expected[tree.Node + n];
                }
                n = next;
            }
        }
    }

    /// <summary>Per node, the mean of its tree's leaves below it; children come after their parent, so from the last node back.</summary>
    private static double[] Expectations(Node[] nodes, double[] leaves, TreeStart[] trees)
    {
        // Per node, the sum and the number of the leaves below it.
        var sums = new double[nodes.Length];
        var counts = new int[nodes.Length];
        for (var t = 0; t < trees.Length; t++)
        {
            var end = t + 1 < trees.Length ? trees[t + 1].Node : nodes.Length;
            for (var n = end - 1; n >= trees[t].Node; n--)
            {
                var node = nodes[n];
                // A one-leaf tree's node names its leaf twice: counted once.
                foreach (var child in node.Left == node.Right ? [node.Left] : (ReadOnlySpan<sbyte>)[node.Left, node.Right])
                {
                    var (sum, count) = child < 0 ? (leaves[trees[t].Leaf + ~child], 1) : (sums[trees[t].Node + child], counts[trees[t].Node + child]);
                    sums[n] += sum;
                    counts[n] += count;
                }
            }
        }
        return [.. sums.Select((sum, n) => sum / counts[n])];
    }
}
