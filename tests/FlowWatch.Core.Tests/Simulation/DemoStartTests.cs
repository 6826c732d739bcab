using FlowWatch.Worker.Kafka;

namespace FlowWatch.Core.Tests.Simulation;

/// <summary>The demo's simulated traffic runs on Shanghai days, as the simulator means them.</summary>
public sealed class DemoStartTests
{
    [Theory]
    [InlineData("2026-11-28T04:00:00+00:00", "2026-11-18T00:00:00+08:00")]   // noon in Shanghai
    [InlineData("2026-11-28T17:30:00+00:00", "2026-11-19T00:00:00+08:00")]   // already the 29th in Shanghai
    [InlineData("2026-11-28T15:59:59+00:00", "2026-11-18T00:00:00+08:00")]   // the last second of the 28th there
    public void SimulationStart_IsShanghaiMidnightDaysBeforeTodayInShanghai(string now, string expected)
    {
        var start = DemoCommand.SimulationStart(DateTimeOffset.Parse(now, System.Globalization.CultureInfo.InvariantCulture), 10);

        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), start);
        Assert.Equal(TimeSpan.FromHours(8), start.Offset);
        Assert.Equal(TimeSpan.Zero, start.TimeOfDay);
    }
}
