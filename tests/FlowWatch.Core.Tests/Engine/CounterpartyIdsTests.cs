using FlowWatch.Core.Engine;

namespace FlowWatch.Core.Tests.Engine;

public sealed class CounterpartyIdsTests
{
    /// <summary>
    /// Random holds and releases against a dictionary of holders: while an account is held it keeps one number, no two
    /// held accounts share one, each number names its account, and a number is given back (and handed out again) only
    /// with its last holder, so the table never holds more accounts than are held.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void HoldAndRelease_NumberEachHeldAccountOnce(int seed)
    {
        var random = new Random(seed);
        var ids = new CounterpartyIds();
        var holders = new Dictionary<string, (int Id, int Count)>(StringComparer.Ordinal);
        var highest = 0;
        for (var step = 0; step < 20_000; step++)
        {
            if (holders.Count > 0 && random.Next(2) == 0)
            {
                var account = holders.Keys.ElementAt(random.Next(holders.Count));
                var (id, count) = holders[account];
                ids.Release(id);
                if (count == 1) holders.Remove(account);
                else holders[account] = (id, count - 1);
            }
            else
            {
                // A fresh instance each time: accounts are told apart by their text.
                var account = new string(("CP" + random.Next(200).ToString(System.Globalization.CultureInfo.InvariantCulture)).AsSpan());
                var id = ids.Hold(account);
                if (holders.TryGetValue(account, out var held)) Assert.Equal(held.Id, id);
                holders[account] = (id, held.Count + 1);
                highest = Math.Max(highest, id);
            }
            Assert.Equal(holders.Count, ids.Count);
        }
        Assert.Equal(holders.Count, holders.Values.Select(h => h.Id).Distinct().Count());
        foreach (var (account, (id, _)) in holders) Assert.Equal(account, ids.AccountOf(id));
        // Numbers given back are handed out again: never more of them than accounts held at once.
        Assert.True(highest <= 200, $"numbers up to {highest} for at most 200 accounts");
    }

    [Fact]
    public void AccountOf_AGivenBackNumber_Throws()
    {
        var ids = new CounterpartyIds();
        var id = ids.Hold("CP1");
        ids.Release(id);
        Assert.Throws<InvalidOperationException>(() => ids.AccountOf(id));
    }
}
