using System.Text;
using FlowWatch.Core.Engine;

namespace FlowWatch.Core.Tests.Engine;

public sealed class DuplicateFilterTests
{
    private static readonly long Day = TimeSpan.TicksPerDay;
    private static readonly long Start = new DateTime(2026, 3, 1, 0, 0, 0, DateTimeKind.Utc).Ticks;

    private static bool Add(DuplicateFilter filter, string txnId, long ticks, uint print = 7) => filter.TryAdd(Encoding.UTF8.GetBytes(txnId), ticks, print) == Repeat.None;

    [Fact]
    public void TryAdd_RepeatWithTheSamePrint_IsTheSameAndWithAnotherDiffers()
    {
        var filter = new DuplicateFilter(horizonDays: 0);
        var id = Encoding.UTF8.GetBytes("T1");

        Assert.Equal(Repeat.None, filter.TryAdd(id, Start, print: 7));
        Assert.Equal(Repeat.Same, filter.TryAdd(id, Start + Day, print: 7));
        Assert.Equal(Repeat.Differing, filter.TryAdd(id, Start + Day, print: 9));
        Assert.Equal(Repeat.Same, filter.Check(id, print: 7));
        Assert.Equal(Repeat.Differing, filter.Check(id, print: 9));
        Assert.Equal(Repeat.None, filter.Check("T2"u8, print: 7));
        Assert.Equal(Repeat.Same, filter.TryAdd(id, Start, print: 7));   // the repeat that differed did not replace the print
    }

    [Fact]
    public void Restore_IdWithoutAPrint_TakesEveryRepeatForTheSame()
    {
        var filter = new DuplicateFilter(horizonDays: 0);
        var id = Encoding.UTF8.GetBytes("T1");
        var (low, high) = TxnIdTable.KeyOf(id);

        filter.Restore(new TxnIdRecord(low, high, ShanghaiTime.DayNumber(Start), Sequence: 5, Print: 0));

        Assert.Equal(Repeat.Same, filter.TryAdd(id, Start, print: 9));
        Assert.Equal(Repeat.Same, filter.Check(id, print: 11));
    }

    [Fact]
    public void Restore_TheSameIdTwice_KeepsTheLaterPrint()
    {
        var filter = new DuplicateFilter(horizonDays: 0);
        var id = Encoding.UTF8.GetBytes("T1");
        var (low, high) = TxnIdTable.KeyOf(id);
        var day = ShanghaiTime.DayNumber(Start);

        filter.Restore(new TxnIdRecord(low, high, day, Sequence: 5, Print: 7));
        filter.Restore(new TxnIdRecord(low, high, day, Sequence: 9, Print: 9));

        Assert.Equal(Repeat.Same, filter.Check(id, print: 9));
        Assert.Equal(Repeat.Differing, filter.Check(id, print: 7));
    }

    [Fact]
    public void TryAdd_RepeatAfterHorizonWithAnotherPrint_IsAcceptedAndKeepsTheNewPrint()
    {
        var filter = new DuplicateFilter(horizonDays: 1);
        var id = Encoding.UTF8.GetBytes("T1");
        Assert.Equal(Repeat.None, filter.TryAdd(id, Start, print: 7));
        Assert.Equal(Repeat.None, filter.TryAdd("T2"u8, Start + 2 * Day, print: 7));

        Assert.Equal(Repeat.None, filter.TryAdd(id, Start + 2 * Day, print: 9));

        Assert.Equal(Repeat.Same, filter.Check(id, print: 9));
        Assert.Equal(Repeat.Differing, filter.Check(id, print: 7));
    }

    [Fact]
    public void TryAdd_NoHorizon_RemembersEveryIdForever()
    {
        var filter = new DuplicateFilter(horizonDays: 0);

        Assert.True(Add(filter, "T1", Start));
        Assert.True(Add(filter, "T2", Start + 400 * Day));
        Assert.False(Add(filter, "T1", Start + 400 * Day));
        Assert.Equal(2, filter.Count);
    }

    [Fact]
    public void TryAdd_RepeatWithinHorizon_IsADuplicate()
    {
        var filter = new DuplicateFilter(horizonDays: 2);

        Assert.True(Add(filter, "T1", Start));
        Assert.True(Add(filter, "T2", Start + 2 * Day));

        Assert.False(Add(filter, "T1", Start + 2 * Day));
    }

    [Fact]
    public void TryAdd_RepeatAfterHorizon_IsForgottenAndMemoryShrinks()
    {
        var filter = new DuplicateFilter(horizonDays: 2);
        Assert.True(Add(filter, "T1", Start));
        Assert.True(Add(filter, "T2", Start + Day));

        Assert.True(Add(filter, "T3", Start + 3 * Day));   // day of T1 is now more than 2 days behind

        Assert.Equal(2, filter.Count);
        Assert.False(Add(filter, "T2", Start + 3 * Day));
        Assert.True(Add(filter, "T1", Start + 3 * Day));
    }

    [Fact]
    public void Forgets_DaysAroundTheHorizon_ForgetsExactlyTheDaysARepeatWouldBeAcceptedAgainFrom()
    {
        var filter = new DuplicateFilter(horizonDays: 2);
        Assert.True(Add(filter, "T1", Start + 10 * Day));
        var newest = ShanghaiTime.DayNumber(Start + 10 * Day);

        Assert.False(filter.Forgets(newest - 1));
        Assert.False(filter.Forgets(newest - 2));   // at the horizon: a repeat is still a duplicate
        Assert.True(filter.Forgets(newest - 3));
        Assert.False(new DuplicateFilter(horizonDays: 0).Forgets(int.MinValue + 1));
    }

    [Fact]
    public void TxnIdTable_ManyIdsThroughGrowthAndSweeps_KeepsExactlyTheIdsOfKeptDays()
    {
        var table = new TxnIdTable();
        for (var i = 0; i < 300_000; i++)
        {
            var (low, high) = TxnIdTable.KeyOf(Encoding.UTF8.GetBytes($"ID{i}"));
            table.GetOrAdd(low, high, day: i / 100_000, print: (uint)i, out var known);
            Assert.False(known);
        }
        Assert.Equal(300_000, table.Count);

        table.RemoveDaysBefore(2);

        Assert.Equal(100_000, table.Count);
        for (var i = 0; i < 300_000; i += 997)
        {
            var (low, high) = TxnIdTable.KeyOf(Encoding.UTF8.GetBytes($"ID{i}"));
            var slot = table.GetOrAdd(low, high, day: 9, print: 1, out var known);
            Assert.Equal(i >= 200_000, known);
            Assert.Equal(known ? 2 : 9, slot.Day);
            Assert.Equal(known ? (uint)i : 1, slot.Print);
        }
    }
}
