using FlowWatch.Worker.Dashboard;

namespace FlowWatch.Integration.Tests;

/// <summary>Refused requests are logged one by one up to a limit a minute, then counted.</summary>
public sealed class RefusalLogTests
{
    [Fact]
    public void Admit_MoreRefusalsThanAMinutesLimit_LogsTheFirstAndThenHowManyMoreCame()
    {
        var now = new DateTime(2026, 1, 1);
        var lines = new List<string>();
        var refusals = new RefusalLog(new LineLogger(lines.Add), () => now);

        var first = Enumerable.Range(0, RefusalLog.PerWindow + 15).Select(_ => refusals.Admit()).ToList();
        now += RefusalLog.Window - TimeSpan.FromTicks(1);
        var stillInTheMinute = refusals.Admit();
        now += TimeSpan.FromTicks(1);
        var nextMinute = refusals.Admit();

        Assert.Equal([.. Enumerable.Repeat(true, RefusalLog.PerWindow), .. Enumerable.Repeat(false, 15)], first);
        Assert.False(stillInTheMinute);
        Assert.True(nextMinute);
        Assert.Equal(["16 more requests refused (events 3002, 3003, 3007) in a minute after its first 10, not logged one by one"], lines);
    }

    /// <summary>A burst followed by silence is reported once its minute is over, not only when another refusal comes.</summary>
    [Fact]
    public void ReportEndedMinute_AfterABurstAndSilence_LogsHowManyMoreCameOnce()
    {
        var now = new DateTime(2026, 1, 1);
        var lines = new List<string>();
        var refusals = new RefusalLog(new LineLogger(lines.Add), () => now);
        for (var i = 0; i < RefusalLog.PerWindow + 8; i++) refusals.Admit();

        now += RefusalLog.Window - TimeSpan.FromTicks(1);
        refusals.ReportEndedMinute();
        var beforeTheEnd = lines.Count;
        now += TimeSpan.FromTicks(1);
        refusals.ReportEndedMinute();
        refusals.ReportEndedMinute();
        var nextMinute = refusals.Admit();

        Assert.Equal(0, beforeTheEnd);
        Assert.Equal(["8 more requests refused (events 3002, 3003, 3007) in a minute after its first 10, not logged one by one"], lines);
        Assert.True(nextMinute);
    }

    [Fact]
    public void Admit_FewRefusals_LogsEachAndNoCount()
    {
        var now = new DateTime(2026, 1, 1);
        var lines = new List<string>();
        var refusals = new RefusalLog(new LineLogger(lines.Add), () => now);

        for (var minute = 0; minute < 3; minute++, now += RefusalLog.Window)
        {
            Assert.All(Enumerable.Range(0, RefusalLog.PerWindow), _ => Assert.True(refusals.Admit()));
        }

        Assert.Empty(lines);
    }
}
