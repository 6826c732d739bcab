using FlowWatch.Core.Engine;

namespace FlowWatch.Core.Tests.Engine;

public sealed class CounterpartySetTests
{
    /// <summary>
    /// Random adds and removes of present members, against a dictionary of counts. Hashes are drawn from a few values
    /// (so probe runs collide, wrap around the table and are shifted back by removals) or are the real ones, and keys
    /// arrive as fresh string instances, so both the reference and the ordinal comparison are exercised.
    /// </summary>
    [Theory]
    [InlineData(1, 3)]
    [InlineData(2, 7)]
    [InlineData(3, 0)]
    public void AddAndRemove_KeepTheDistinctCountOfANaiveMultiset(int seed, int hashValues)
    {
        var random = new Random(seed);
        int HashOf(string key) => hashValues == 0 ? CounterpartySet.HashOf(key) : (int)((uint)CounterpartySet.HashOf(key) % (uint)hashValues) * 5;
        for (var round = 0; round < 50; round++)
        {
            var set = new CounterpartySet();
            var naive = new Dictionary<string, int>(StringComparer.Ordinal);
            var universe = random.Next(1, 60);
            for (var step = 0; step < 2_000; step++)
            {
                if (naive.Count > 0 && random.Next(3) == 0)
                {
                    var present = naive.Keys.ElementAt(random.Next(naive.Count));
                    var key = new string(present.AsSpan());
                    set.Remove(key, HashOf(key));
                    if (--naive[present] == 0) naive.Remove(present);
                }
                else
                {
                    var key = "CP" + random.Next(universe).ToString(System.Globalization.CultureInfo.InvariantCulture);
                    set.Add(key, HashOf(key));
                    naive[key] = naive.GetValueOrDefault(key) + 1;
                }
                Assert.Equal(naive.Count, set.Distinct);
            }
            // Emptied again, every slot must be free: adding then finds no stale member.
            foreach (var (key, count) in naive.ToList())
            {
                for (var i = 0; i < count; i++) set.Remove(key, HashOf(key));
            }
            Assert.Equal(0, set.Distinct);
            set.Add("CP-new", HashOf("CP-new"));
            Assert.Equal(1, set.Distinct);
        }
    }

    [Fact]
    public void Remove_OfAnAbsentCounterparty_Throws()
    {
        var set = new CounterpartySet();
        set.Add("A", CounterpartySet.HashOf("A"));
        Assert.Throws<InvalidOperationException>(() => set.Remove("B", CounterpartySet.HashOf("B")));
    }
}
