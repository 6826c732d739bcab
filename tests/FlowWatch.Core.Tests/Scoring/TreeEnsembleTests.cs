using FlowWatch.Core.Scoring;

namespace FlowWatch.Core.Tests.Scoring;

public sealed class TreeEnsembleTests
{
    /// <summary>x0 ≤ 1 → leaf 0 (−2), else x1 ≤ 5 → leaf 1 (1), else leaf 2 (3).</summary>
    private static readonly TreeEnsemble.Tree Split = new([0, 1], [1f, 5f], [~0, ~1], [1, ~2], [-2, 1, 3], 1);

    /// <summary>x1 ≤ 0 → leaf 0 (0.5), else leaf 1 (−0.25); weight 2.</summary>
    private static readonly TreeEnsemble.Tree Stump = new([1], [0f], [~0], [~1], [0.5, -0.25], 2);

    /// <summary>A tree of one leaf, as boosting can produce: no split, always 0.75.</summary>
    private static readonly TreeEnsemble.Tree Constant = new([], [], [], [], [0.75], 1);

    private static TreeEnsemble Ensemble() => new([Split, Stump, Constant, Split, Stump], bias: 0.1, plattSlope: -1, plattOffset: 0.2);

    [Theory]
    [InlineData(0f, 0f, 0.1 - 2 + 1 + 0.75 - 2 + 1)]
    [InlineData(2f, 3f, 0.1 + 1 - 0.5 + 0.75 + 1 - 0.5)]
    [InlineData(2f, 9f, 0.1 + 3 - 0.5 + 0.75 + 3 - 0.5)]
    [InlineData(float.NaN, float.NaN, 0.1 + 3 - 0.5 + 0.75 + 3 - 0.5)]   // NaN is not at or below a threshold: right
    public void RawScore_WalksEveryTreeIncludingOneLeafTrees(float x0, float x1, double expected) =>
        Assert.Equal(expected, Ensemble().RawScore([x0, x1]), 12);

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.9)]
    [InlineData(0.99)]
    public void TryReach_AnswersAsTheFullProbability(double threshold)
    {
        var ensemble = Ensemble();
        foreach (var x in new[] { new[] { 0f, 0f }, [2f, 3f], [2f, 9f], [1f, 5f], [float.NaN, 1f] })
        {
            var full = ensemble.Probability(x);
            Assert.Equal(full >= threshold, ensemble.TryReach(x, threshold, out var probability));
            if (full >= threshold) Assert.Equal(full, probability);
        }
    }

    [Fact]
    public void Explain_CreditsEachSplitWithWhatItMovedTheScore()
    {
        Span<double> credit = stackalloc double[2];
        Ensemble().Explain([2f, 9f], credit);
        // Split (twice): its leaves' mean is 2/3; x0 > 1 takes it to the node whose leaves' mean is 2 (+4/3), and x1 > 5
        // to leaf 3 (+1). Stump (twice, weight 2): mean 0.25, x1 > 0 takes it to −0.5 (−0.75). The one-leaf tree credits
        // nobody.
        Assert.Equal(2 * (2 - 2.0 / 3), credit[0], 12);
        Assert.Equal(2 * (3 - 2) + 2 * (-0.5 - 0.25), credit[1], 12);
    }

    /// <summary>
    /// A split at the root whose two sides give alike moved nothing, and is credited nothing, however often events pass
    /// it: the feature below it that chose the leaf takes the credit.
    /// </summary>
    [Fact]
    public void Explain_SplitWhoseSidesGiveAlike_IsCreditedNothing()
    {
        // x0 ≤ 0 → (x1 ≤ 0 → −1, else 1), else (x1 ≤ 0 → −1, else 1).
        var tree = new TreeEnsemble.Tree([0, 1, 1], [0f, 0f, 0f], [1, ~0, ~2], [2, ~1, ~3], [-1, 1, -1, 1], 1);
        Span<double> credit = stackalloc double[2];

        new TreeEnsemble([tree], 0, -1, 0).Explain([5f, 5f], credit);

        Assert.Equal(0, credit[0], 12);
        Assert.Equal(1, credit[1], 12);
    }

    /// <summary>
    /// Random ensembles: the credits are those of a plain walk of the trees' own arrays (each split credited with the
    /// mean of the leaves below the side taken less that below the split), and between two events the credits differ
    /// in sum by what their raw scores differ.
    /// </summary>
    [Fact]
    public void Explain_RandomEnsembles_CreditAsAPlainWalkAndAddUpToTheRawScore()
    {
        var random = new Random(29);
        for (var round = 0; round < 200; round++)
        {
            var trees = Enumerable.Range(0, random.Next(1, 14)).Select(_ => RandomTree(random)).ToList();
            var ensemble = new TreeEnsemble(trees, random.NextDouble() - 0.5, plattSlope: -1, plattOffset: 0);
            var x = Enumerable.Range(0, 5).Select(_ => (float)(random.NextDouble() * 4 - 1.5)).ToArray();
            var y = Enumerable.Range(0, 5).Select(_ => (float)(random.NextDouble() * 4 - 1.5)).ToArray();
            var creditX = new double[5];
            var creditY = new double[5];

            ensemble.Explain(x, creditX);
            ensemble.Explain(y, creditY);

            var expected = new double[5];
            foreach (var tree in trees) PlainCredit(tree, x, expected);
            for (var f = 0; f < 5; f++) Assert.Equal(expected[f], creditX[f], 9);
            Assert.Equal(ensemble.RawScore(x) - ensemble.RawScore(y), creditX.Sum() - creditY.Sum(), 9);
        }
    }

    /// <summary>Adds one tree's credits by recursion over its arrays: the mean of the weighted leaves below a node, taken afresh at every step.</summary>
    private static void PlainCredit(TreeEnsemble.Tree tree, float[] x, double[] credit)
    {
        if (tree.Feature.Length == 0) return;
        List<double> Below(int n) => n < 0 ? [tree.LeafValue[~n] * tree.Weight] : [.. Below(tree.Left[n]), .. Below(tree.Right[n])];
        for (var n = 0; n >= 0;)
        {
            var next = x[tree.Feature[n]] <= tree.Threshold[n] ? tree.Left[n] : tree.Right[n];
            credit[tree.Feature[n]] += Below(next).Average() - Below(n).Average();
            n = next;
        }
    }

    /// <summary>
    /// Trees a damaged model file could hold: each is refused, since a walk of it would never end or would read past
    /// its nodes or leaves. Split's own arrays, sound, are the first case's control.
    /// </summary>
    public static TheoryData<string, TreeEnsemble.Tree> DamagedTrees => new()
    {
        { "a node its own child", Split with { Right = [0, ~2] } },
        { "a child before its parent", Split with { Right = [1, 0] } },
        { "a child past the last node", Split with { Right = [2, ~2] } },
        { "a leaf past the last leaf", Split with { Right = [1, ~3] } },
        { "children for fewer nodes than it has", Split with { Left = [~0] } },
        { "thresholds for fewer nodes than it has", Split with { Threshold = [1f] } },
        { "no leaf", Constant with { LeafValue = [] } },
        { "more leaves than a node's byte can name", Constant with { LeafValue = new double[129] } },
    };

    [Theory]
    [MemberData(nameof(DamagedTrees))]
    public void Constructor_DamagedTree_IsRefused(string damage, TreeEnsemble.Tree tree)
    {
        Assert.NotNull(new TreeEnsemble([Split, Stump, Constant], 0, -1, 0));
        var error = Assert.Throws<ArgumentException>(() => new TreeEnsemble([Split, tree, Stump], 0, -1, 0));
        Assert.True(error.ParamName == "trees", damage);
    }

    [Fact]
    public void FeatureCount_IsTheHighestFeatureReadPlusOne() => Assert.Equal(2, Ensemble().FeatureCount);

    /// <summary>
    /// Random ensembles of 1 to 13 trees (whole and partial blocks), features on and around the thresholds, NaN and
    /// infinities included: the compiled trees reach the leaves a plain walk of the trees' own arrays reaches, and
    /// TryReach, which may stop early, gives the very probability of the whole ensemble when it does not.
    /// </summary>
    [Fact]
    public void RandomEnsembles_ReachTheLeavesAPlainWalkReaches()
    {
        var random = new Random(17);
        float[] values = [-1f, 0f, 0.5f, 1f, 2f, float.NaN, float.PositiveInfinity, float.NegativeInfinity];
        for (var round = 0; round < 200; round++)
        {
            var trees = Enumerable.Range(0, random.Next(1, 14)).Select(_ => RandomTree(random)).ToList();
            var bias = random.NextDouble() - 0.5;
            var ensemble = new TreeEnsemble(trees, bias, plattSlope: -1, plattOffset: 0);
            for (var probe = 0; probe < 50; probe++)
            {
                var x = Enumerable.Range(0, 5).Select(_ => random.Next(3) == 0 ? (float)(random.NextDouble() * 3 - 1) : values[random.Next(values.Length)]).ToArray();
                var expected = ensemble.Calibrate(bias + trees.Sum(tree => Leaf(tree, x)));

                Assert.True(ensemble.TryReach(x, 1e-300, out var probability));   // so low a threshold that every tree is run
                Assert.Equal(expected, probability, 12);
                Assert.Equal(ensemble.Probability(x), probability);   // the same leaves added in the same order: the same double
            }
        }
    }

    /// <summary>A tree of up to 12 splits on features 0 to 4, thresholds among a few values so that ties happen.</summary>
    private static TreeEnsemble.Tree RandomTree(Random random)
    {
        float[] thresholds = [-1f, 0f, 0.5f, 1f, 2f];
        var feature = new List<int>();
        var threshold = new List<float>();
        var left = new List<int>();
        var right = new List<int>();
        var leaves = new List<double>();
        var splits = random.Next(0, 13);
        int Grow(int depth)
        {
            if (feature.Count >= splits || (depth > 0 && random.Next(3) == 0))
            {
                leaves.Add(random.NextDouble() * 2 - 1);
                return ~(leaves.Count - 1);
            }
            var n = feature.Count;
            feature.Add(random.Next(5));
            threshold.Add(thresholds[random.Next(thresholds.Length)]);
            left.Add(0);
            right.Add(0);
            left[n] = Grow(depth + 1);
            right[n] = Grow(depth + 1);
            return n;
        }
        if (splits == 0) leaves.Add(random.NextDouble() * 2 - 1);
        else Grow(0);
        return new TreeEnsemble.Tree([.. feature], [.. threshold], [.. left], [.. right], [.. leaves], 0.5 + random.NextDouble());
    }

    /// <summary>The weighted leaf <paramref name="x"/> reaches in <paramref name="tree"/>, by the tree's own arrays.</summary>
    private static double Leaf(TreeEnsemble.Tree tree, float[] x)
    {
        if (tree.Feature.Length == 0) return tree.LeafValue[0] * tree.Weight;
        var n = 0;
        while (n >= 0) n = x[tree.Feature[n]] <= tree.Threshold[n] ? tree.Left[n] : tree.Right[n];
        return tree.LeafValue[~n] * tree.Weight;
    }
}
