namespace FlowWatch.Core.Scoring;

/// <summary>
/// A boosted tree ensemble with Platt calibration as flat arrays, from a trained ML.NET FastTree binary classifier.
/// Each node sends an event left when its feature is at or below the node's threshold; a negative child −(leaf + 1)
/// is a leaf. Evaluation walks every tree once, without allocating.
/// </summary>
public sealed class TreeEnsemble
{
    private readonly int[] _treeNodeStart;
    private readonly int[] _treeLeafStart;
    private readonly int[] _feature;
    private readonly float[] _threshold;
    private readonly int[] _left;
    private readonly int[] _right;
    private readonly double[] _leafValue;
    private readonly double[] _treeWeight;
    private readonly double _bias;
    private readonly double _plattSlope;
    private readonly double _plattOffset;

    public TreeEnsemble(IReadOnlyList<Tree> trees, double bias, double plattSlope, double plattOffset)
    {
        ArgumentNullException.ThrowIfNull(trees);
        _treeNodeStart = new int[trees.Count];
        _treeLeafStart = new int[trees.Count];
        _treeWeight = new double[trees.Count];
        var nodes = trees.Sum(t => t.Feature.Length);
        var leaves = trees.Sum(t => t.LeafValue.Length);
        _feature = new int[nodes];
        _threshold = new float[nodes];
        _left = new int[nodes];
        _right = new int[nodes];
        _leafValue = new double[leaves];
        int node = 0, leaf = 0;
        for (var t = 0; t < trees.Count; t++)
        {
            var tree = trees[t];
            _treeNodeStart[t] = node;
            _treeLeafStart[t] = leaf;
            _treeWeight[t] = tree.Weight;
            tree.Feature.CopyTo(_feature, node);
            tree.Threshold.CopyTo(_threshold, node);
            tree.Left.CopyTo(_left, node);
            tree.Right.CopyTo(_right, node);
            tree.LeafValue.CopyTo(_leafValue, leaf);
            node += tree.Feature.Length;
            leaf += tree.LeafValue.Length;
        }
        FeatureCount = _feature.Length == 0 ? 0 : _feature.Max() + 1;
        _bias = bias;
        _plattSlope = plattSlope;
        _plattOffset = plattOffset;
    }

    /// <summary>One tree: per node its feature, threshold and children (negative: −(leaf + 1)); values per leaf.</summary>
    public sealed record Tree(int[] Feature, float[] Threshold, int[] Left, int[] Right, double[] LeafValue, double Weight);

    public int TreeCount => _treeWeight.Length;

    /// <summary>Highest feature index any split reads, plus one.</summary>
    public int FeatureCount { get; }

    /// <summary>The ensemble's raw output: the weighted sum of the leaves reached, plus the bias.</summary>
    public double RawScore(ReadOnlySpan<float> features)
    {
        var sum = _bias;
        for (var t = 0; t < _treeWeight.Length; t++) sum += _treeWeight[t] * _leafValue[_treeLeafStart[t] + Leaf(t, features, default)];
        return sum;
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
        for (var t = 0; t < _treeWeight.Length; t++)
        {
            var depth = 0;
            var leaf = Leaf(t, features, path, ref depth);
            if (depth == 0) continue;
            var share = _treeWeight[t] * _leafValue[_treeLeafStart[t] + leaf] / depth;
            for (var i = 0; i < depth; i++) credit[_feature[path[i]]] += share;
        }
    }

    private int Leaf(int tree, ReadOnlySpan<float> features, Span<int> path)
    {
        var depth = 0;
        return Leaf(tree, features, path, ref depth);
    }

    private int Leaf(int tree, ReadOnlySpan<float> features, Span<int> path, ref int depth)
    {
        var start = _treeNodeStart[tree];
        if (start == (tree + 1 < _treeNodeStart.Length ? _treeNodeStart[tree + 1] : _feature.Length)) return 0;   // a single leaf
        var node = 0;
        while (true)
        {
            var at = start + node;
            if (depth < path.Length) path[depth++] = at;
            var next = features[_feature[at]] <= _threshold[at] ? _left[at] : _right[at];
            if (next < 0) return ~next;
            node = next;
        }
    }
}
