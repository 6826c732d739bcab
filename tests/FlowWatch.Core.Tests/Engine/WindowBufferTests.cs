using FlowWatch.Core.Contracts;
using FlowWatch.Core.Engine;

namespace FlowWatch.Core.Tests.Engine;

public sealed class WindowBufferTests
{
    [Fact]
    public void UpperBound_FromAnyEnd_FindsTheFirstLaterEntryAsALinearScanWould()
    {
        var random = new Random(5);
        for (var round = 0; round < 200; round++)
        {
            var window = new WindowBuffer();
            var ts = 0L;
            var count = random.Next(0, 300);
            for (var i = 0; i < count; i++)
            {
                ts += random.Next(0, 4);   // ties included
                window.Append(new WindowEntry(ts, Direction.In, 1m, 0, false, 1m, 0));
            }
            for (var probe = 0; probe < 50; probe++)
            {
                var at = random.Next(-2, (int)ts + 3);
                var end = random.Next(0, count + 1);
                var expected = 0;
                while (expected < end && window[expected].Ts <= at) expected++;

                Assert.Equal(expected, window.UpperBound(at, end));
                Assert.Equal(Enumerable.Range(0, count).FirstOrDefault(i => window[i].Ts > at, count), window.UpperBound(at));
            }
        }
    }

    /// <summary>
    /// Appends, inserts and head drops in random order keep the entries a plain sorted list would hold, through the
    /// buffer's growth and its moves of the entries back to the front.
    /// </summary>
    [Fact]
    public void RandomAppendsInsertsAndDrops_KeepWhatASortedListKeeps()
    {
        var random = new Random(11);
        for (var round = 0; round < 100; round++)
        {
            var window = new WindowBuffer();
            var naive = new List<WindowEntry>();
            var newest = 0L;
            for (var step = 0; step < 400; step++)
            {
                var choice = random.Next(10);
                if (choice < 5)
                {
                    newest += random.Next(0, 3);
                    var entry = Entry(newest, step);
                    window.Append(entry);
                    naive.Add(entry);
                }
                else if (choice < 7)
                {
                    var entry = Entry(newest - random.Next(0, 10), step);
                    window.InsertSorted(entry);
                    var index = naive.Count;
                    while (index > 0 && naive[index - 1].Ts > entry.Ts) index--;
                    naive.Insert(index, entry);
                }
                else
                {
                    var n = random.Next(0, Math.Min(naive.Count, 6) + 1);
                    window.DropFirst(n);
                    naive.RemoveRange(0, n);
                }

                Assert.Equal(naive.Count, window.Count);
                Assert.Equal(naive.Count == 0 ? long.MaxValue : naive[0].Ts, window.OldestTs);
                for (var i = 0; i < naive.Count; i++) Assert.Equal(naive[i], window[i]);
                var at = newest - random.Next(0, 12);
                Assert.Equal(naive.FindIndex(e => e.Ts > at) is var later and >= 0 ? later : naive.Count, window.UpperBound(at));
            }
        }
    }

    /// <summary>Every event keeps one entry for a day: its size is most of an entity's memory (DESIGN.md §6).</summary>
    [Fact]
    public void WindowEntry_TakesFortyEightBytes() => Assert.Equal(48, System.Runtime.CompilerServices.Unsafe.SizeOf<WindowEntry>());

    private static WindowEntry Entry(long ts, int step) =>
        new(ts, Direction.In, step, 0, false, step, step);
}
