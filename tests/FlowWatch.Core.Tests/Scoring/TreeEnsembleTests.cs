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
    public void Explain_CreditsOnlyFeaturesThatSplit()
    {
        Span<double> credit = stackalloc double[2];
        Ensemble().Explain([2f, 9f], credit);
        // Split: leaf 3 shared by x0 and x1 (twice); Stump: leaf −0.5 on x1 (twice); the one-leaf tree credits nobody.
        Assert.Equal(1.5 + 1.5, credit[0], 12);
        Assert.Equal(1.5 + 1.5 - 0.5 - 0.5, credit[1], 12);
    }

    [Fact]
    public void FeatureCount_IsTheHighestFeatureReadPlusOne() => Assert.Equal(2, Ensemble().FeatureCount);
}
