using FlowWatch.Core.Engine;

namespace FlowWatch.Core.Tests.Engine;

public sealed class CounterpartySetTests
{
    /// <summary>
    /// Random adds and removes of present members, against a dictionary of counts. Numbers are small and dense (as a
    /// <see cref="CounterpartyIds"/> hands them out) or multiples of 2^16, which all start probing at the same slot, so
    /// probe runs collide, wrap around the table and are shifted back by removals.
    /// </summary>
    [Theory]
    [InlineData(1, false)]
    [InlineData(2, true)]
    [InlineData(3, true)]
    public void AddAndRemove_KeepTheDistinctCountOfANaiveMultiset(int seed, bool colliding)
    {
        var random = new Random(seed);
        for (var round = 0; round < 50; round++)
        {
            var set = new CounterpartySet();
            var naive = new Dictionary<int, int>();
            var universe = random.Next(1, 60);
            for (var step = 0; step < 2_000; step++)
            {
                if (naive.Count > 0 && random.Next(3) == 0)
                {
                    var present = naive.Keys.ElementAt(random.Next(naive.Count));
                    set.Remove(present);
                    if (--naive[present] == 0) naive.Remove(present);
                }
                else
                {
                    var id = random.Next(1, universe + 1) << (colliding && random.Next(2) == 0 ? 16 : 0);
                    set.Add(id);
                    naive[id] = naive.GetValueOrDefault(id) + 1;
                }
                Assert.Equal(naive.Count, set.Distinct);
            }
            // Emptied again, every slot must be free: adding then finds no stale member.
            foreach (var (id, count) in naive.ToList())
            {
                for (var i = 0; i < count; i++) set.Remove(id);
            }
            Assert.Equal(0, set.Distinct);
            set.Add(1 << 16);
            Assert.Equal(1, set.Distinct);
        }
    }

    [Fact]
    public void Remove_OfAnAbsentCounterparty_Throws()
    {
        var set = new CounterpartySet();
        set.Add(1);
        Assert.Throws<InvalidOperationException>(() => set.Remove(2));
    }
}
