using FlowWatch.Core.Scoring;

namespace FlowWatch.Core.Tests.Scoring;

public sealed class PcaDetectorTests
{
    [Theory]
    [InlineData(5, 1)]
    [InlineData(19, 6)]
    [InlineData(19, 8)]
    [InlineData(7, 11)]   // more components than vector lanes
    public void Residual_IsTheLengthOfWhatTheComponentsDoNotExplain(int dimension, int rank)
    {
        var random = new Random(dimension * 100 + rank);
        float Next() => (float)(random.NextDouble() * 2 - 1);
        var offset = Enumerable.Range(0, dimension).Select(_ => Next()).ToArray();
        var scale = Enumerable.Range(0, dimension).Select(_ => 1 + Next() / 2).ToArray();
        var mean = Enumerable.Range(0, dimension).Select(_ => Next() / 4).ToArray();
        var components = Enumerable.Range(0, rank * dimension).Select(_ => Next()).ToArray();
        var detector = new PcaDetector(offset, scale, mean, components);
        for (var sample = 0; sample < 50; sample++)
        {
            var x = Enumerable.Range(0, dimension + 1).Select(_ => Next() * 10).ToArray();   // one feature beyond the detector's
            var centred = Enumerable.Range(0, dimension).Select(i => ((double)x[i] - offset[i]) * scale[i] - mean[i]).ToArray();
            var explained = 0.0;
            for (var r = 0; r < rank; r++)
            {
                var projection = Enumerable.Range(0, dimension).Sum(i => components[r * dimension + i] * centred[i]);
                explained += projection * projection;
            }
            var distance = centred.Sum(c => c * c);
            var expected = Math.Sqrt(Math.Max(distance - explained, 0));
            Assert.Equal(expected, detector.Residual(x), 1e-3 * Math.Max(1, Math.Sqrt(distance + explained)));
        }
    }
}
