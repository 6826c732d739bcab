using FlowWatch.Core.Aggregates;

namespace FlowWatch.Core.Tests.Engine;

public sealed class RowTableTests
{
    /// <summary>A key whose hash is drawn from few values, so that probe runs collide and wrap around the index.</summary>
    private readonly record struct CollidingKey(string Name, int HashValues)
    {
        public override int GetHashCode() => HashValues == 0 ? Name.GetHashCode(StringComparison.Ordinal) : (int)((uint)Name.GetHashCode(StringComparison.Ordinal) % (uint)HashValues) * 7;
    }

    /// <summary>
    /// Random sums over batches of random sizes (past the initial capacity, so arrays grow and the index is rebuilt),
    /// against a dictionary: same keys in first-insertion order, same sums, and nothing left over after a clear.
    /// </summary>
    [Theory]
    [InlineData(1, 0)]
    [InlineData(2, 5)]
    [InlineData(3, 1)]
    public void GetOrAdd_SumsEveryKeyAsADictionaryDoes_InInsertionOrder(int seed, int hashValues)
    {
        var random = new Random(seed);
        var table = new RowTable<CollidingKey, long>();
        for (var batch = 0; batch < 6; batch++)
        {
            var naive = new Dictionary<CollidingKey, long>();
            var order = new List<CollidingKey>();
            var adds = random.Next(0, hashValues == 1 ? 600 : 5_000);
            var universe = random.Next(1, 4_000);
            for (var i = 0; i < adds; i++)
            {
                var key = new CollidingKey("K" + random.Next(universe).ToString(System.Globalization.CultureInfo.InvariantCulture), hashValues);
                var amount = random.Next(1, 100);
                table.GetOrAdd(key) += amount;
                if (!naive.ContainsKey(key)) order.Add(key);
                naive[key] = naive.GetValueOrDefault(key) + amount;
            }
            Assert.Equal(order.Count, table.Count);
            for (var position = 0; position < table.Count; position++)
            {
                Assert.Equal(order[position], table.KeyAt(position));
                Assert.Equal(naive[order[position]], table.SumsAt(position));
            }
            table.Clear();
            Assert.Equal(0, table.Count);
        }
    }
}
