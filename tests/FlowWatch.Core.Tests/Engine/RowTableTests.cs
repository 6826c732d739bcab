using FlowWatch.Core.Aggregates;

namespace FlowWatch.Core.Tests.Engine;

public sealed class RowTableTests
{
    private readonly record struct Row(string Name, long Sum);

    private readonly struct Rows : IRowRules<Row>
    {
        public static bool SameKey(in Row a, in Row b) => a.Name == b.Name;

        public static Row Merge(in Row row, in Row more) => row with { Sum = row.Sum + more.Sum };

        /// <summary>Keys of a few parts (by the name's last character), so adds move between indexes as a stream's minutes do.</summary>
        public static long PartOf(in Row row) => row.Name[^1] % 3;
    }

    /// <summary>A hash drawn from few values when <paramref name="hashValues"/> is not 0, so probe runs collide and wrap around the index.</summary>
    private static int Hash(string name, int hashValues) =>
        hashValues == 0 ? name.GetHashCode(StringComparison.Ordinal) : (int)((uint)name.GetHashCode(StringComparison.Ordinal) % (uint)hashValues) * 7;

    /// <summary>
    /// Random sums over batches of random sizes (past the initial capacity, so arrays grow and the index is rebuilt),
    /// against a dictionary: same keys in first-insertion order, same sums; and every batch taken keeps its rows while
    /// the table goes on adding rows of the same keys.
    /// </summary>
    [Theory]
    [InlineData(1, 0)]
    [InlineData(2, 5)]
    [InlineData(3, 1)]
    public void Take_RandomSums_RowsAsADictionarySumsThemInInsertionOrderAndUntouchedLater(int seed, int hashValues)
    {
        var random = new Random(seed);
        var table = new RowTable<Row, Rows>();
        var taken = new List<(ArraySegment<Row> Rows, Row[] Expected)>();
        for (var batch = 0; batch < 8; batch++)
        {
            var naive = new Dictionary<string, long>();
            var order = new List<string>();
            var adds = random.Next(0, hashValues == 1 ? 600 : 5_000);
            var universe = random.Next(1, 4_000);
            for (var i = 0; i < adds; i++)
            {
                var name = "K" + random.Next(universe).ToString(System.Globalization.CultureInfo.InvariantCulture);
                var amount = random.Next(1, 100);
                table.Add(new Row(name, amount), Hash(name, hashValues));
                if (!naive.ContainsKey(name)) order.Add(name);
                naive[name] = naive.GetValueOrDefault(name) + amount;
            }
            Assert.Equal(order.Count, table.Count);
            var rows = table.Take();
            Assert.Equal(0, table.Count);
            var expected = order.Select(name => new Row(name, naive[name])).ToArray();
            Assert.Equal(expected.AsEnumerable(), rows.AsEnumerable());
            taken.Add((rows, expected));
        }
        Assert.All(taken, batch => Assert.Equal(batch.Expected.AsEnumerable(), batch.Rows.AsEnumerable()));
    }

    [Fact]
    public void Take_NothingAdded_HandsOutNoRows()
    {
        var table = new RowTable<Row, Rows>();
        Assert.Equal(0, table.Take().Count);
        table.Add(new Row("A", 1), 0);
        Assert.Equal([new Row("A", 1)], table.Take().AsEnumerable());
        Assert.Equal(0, table.Take().Count);
    }

    /// <summary>Rows of one batch at and around the array's capacity: growing keeps every row, and the next batch starts empty.</summary>
    [Theory]
    [InlineData(1023)]
    [InlineData(1024)]
    [InlineData(1025)]
    [InlineData(3000)]
    public void Take_RowsAroundTheCapacity_KeepsEveryRow(int count)
    {
        var table = new RowTable<Row, Rows>();
        for (var batch = 0; batch < 3; batch++)
        {
            var names = Enumerable.Range(0, count + batch).Select(i => "K" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            foreach (var name in names) table.Add(new Row(name, 1), Hash(name, 0));
            foreach (var name in names) table.Add(new Row(name, 2), Hash(name, 0));
            Assert.Equal(names.Select(name => new Row(name, 3)), table.Take().AsEnumerable());
        }
    }
}
