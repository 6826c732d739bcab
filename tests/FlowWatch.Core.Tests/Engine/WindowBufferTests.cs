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
                window.Append(new WindowEntry(ts, Direction.In, 1m, 0, false, 1m, 0), pool: null);
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
    /// Appends, inserts and head drops in random order, over windows that share one pool, keep the entries a plain
    /// sorted list per window would hold, through each window's growth into larger segments (its former ones taken
    /// by others) and its moves of the entries back to the front. A window without a pool (as a restored state's is
    /// built) grows the same way.
    /// </summary>
    [Fact]
    public void RandomAppendsInsertsAndDrops_KeepWhatASortedListKeeps()
    {
        var random = new Random(11);
        for (var round = 0; round < 40; round++)
        {
            var pool = round % 10 == 0 ? null : new WindowPool();
            var windows = new WindowBuffer[12];
            var naives = new List<WindowEntry>[windows.Length];
            var newests = new long[windows.Length];
            for (var w = 0; w < windows.Length; w++)
            {
                windows[w] = new WindowBuffer();
                naives[w] = [];
            }
            for (var step = 0; step < 3_000; step++)
            {
                // Some windows busier than others, so that they grow at different times and far (into whole chunks).
                var w = Math.Min(random.Next(windows.Length), random.Next(windows.Length));
                ref var window = ref windows[w];
                var naive = naives[w];
                var choice = random.Next(10);
                if (choice < 6)
                {
                    newests[w] += random.Next(0, 3);
                    var entry = Entry(newests[w], step);
                    window.Append(entry, pool);
                    naive.Add(entry);
                }
                else if (choice < 8)
                {
                    var entry = Entry(newests[w] - random.Next(0, 10), step);
                    window.InsertSorted(entry, pool);
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
                var at = newests[w] - random.Next(0, 12);
                Assert.Equal(naive.FindIndex(e => e.Ts > at) is var later and >= 0 ? later : naive.Count, window.UpperBound(at));
                if (step % 50 != 0) continue;
                // Every window, not only the one written: a segment handed to two windows would show in either.
                for (var v = 0; v < windows.Length; v++)
                {
                    Assert.Equal(naives[v].Count, windows[v].Count);
                    for (var i = 0; i < naives[v].Count; i++) Assert.Equal(naives[v][i], windows[v][i]);
                }
            }
        }
    }

    /// <summary>
    /// Segments of every size, rented and given back at random, never overlap, and the chunks they are carved from are
    /// on the large object heap (generation 2 from the start), where the collector does not move them.
    /// </summary>
    [Fact]
    public void WindowPool_RandomRentsAndReturns_HandOutSegmentsThatNeverOverlapFromUnmovedArrays()
    {
        var random = new Random(17);
        var pool = new WindowPool();
        var held = new List<(WindowEntry[] Items, int Offset, int Capacity, long Mark)>();
        for (var step = 0; step < 5_000; step++)
        {
            if (held.Count > 0 && random.Next(3) == 0)
            {
                var at = random.Next(held.Count);
                var (items, offset, capacity, _) = held[at];
                held.RemoveAt(at);
                pool.Return(items, offset, capacity);
                continue;
            }
            var size = WindowPool.MinCapacity << Math.Min(random.Next(10), random.Next(12));
            var (array, start) = pool.Rent(size);
            Assert.Equal(2, GC.GetGeneration(array));
            Assert.InRange(start, 0, array.Length - size);
            // Marks every entry of the segment as its own: a segment overlapping another overwrites the other's marks.
            for (var i = 0; i < size; i++) array[start + i] = new WindowEntry(step, Direction.In, 0, 0, false, 0, 0);
            held.Add((array, start, size, step));
        }
        foreach (var (items, offset, capacity, mark) in held)
        {
            for (var i = 0; i < capacity; i++) Assert.Equal(mark, items[offset + i].Ts);
        }
    }

    /// <summary>Every event keeps one entry for a day: its size is most of an entity's memory (DESIGN.md §6).</summary>
    [Fact]
    public void WindowEntry_TakesFortyEightBytes() => Assert.Equal(48, System.Runtime.CompilerServices.Unsafe.SizeOf<WindowEntry>());

    private static WindowEntry Entry(long ts, int step) =>
        new(ts, Direction.In, step, 0, false, step, step);
}
