using FlowWatch.Core.Engine;

namespace FlowWatch.Core.Tests.Engine;

public sealed class SmallListTests
{
    /// <summary>Appends, changes through the answered references and truncations keep, and find, what a plain list does.</summary>
    [Fact]
    public void RandomAddsChangesAndTruncations_KeepWhatAListKeeps()
    {
        var random = new Random(11);
        for (var round = 0; round < 100; round++)
        {
            var list = new SmallList<int>();
            var naive = new List<int>();
            Assert.Equal(0, list.AsSpan().Length);
            for (var step = 0; step < 200; step++)
            {
                var value = random.Next();
                if (random.Next(10) == 0)
                {
                    var keep = random.Next(0, naive.Count + 1);
                    list.Truncate(keep);
                    naive.RemoveRange(keep, naive.Count - keep);
                }
                else
                {
                    ref var added = ref list.Add(value);
                    added += 1;   // the reference is to the item held
                    naive.Add(value + 1);
                }
                Assert.Equal(naive.Count, list.Count);
                Assert.Equal(naive, list.AsSpan().ToArray());
                var probe = random.Next(4);
                Assert.Equal(naive.Exists(item => item % 4 == probe), list.Exists(item => item % 4 == probe));
            }
        }
    }

    [Fact]
    public void Truncate_PastTheCount_IsRefused()
    {
        var list = new SmallList<int>();
        list.Add(1);
        Assert.Throws<ArgumentOutOfRangeException>(() => list.Truncate(2));
        Assert.Throws<ArgumentOutOfRangeException>(() => list.Truncate(-1));
        Assert.Equal(1, list.Count);
    }
}
