using System.Net;
using System.Text.Json.Nodes;

namespace FlowWatch.Integration.Tests;

public sealed class DashboardStatsClockTests
{
    /// <summary>
    /// The time of day may stand still or step back (a clock set by NTP): rates and uptime are measured on steady time,
    /// so /api/stats still answers numbers, none negative.
    /// </summary>
    [Fact]
    public async Task Stats_WhileTheTimeOfDayStandsStillOrStepsBack_AnswersRatesAndUptime()
    {
        var clock = new SettableClock(DateTimeOffset.UtcNow);
        await using var harness = await DashboardHarness.StartAsync(clock: clock);
        harness.Produce(DashboardHarness.Cash(harness.NewEntity("CLOCK"), "T-CLOCK-1"));
        await Task.Delay(2_500);   // samples a second apart with the time of day standing still
        clock.Now -= TimeSpan.FromHours(1);
        await Task.Delay(1_500);

        using var response = await harness.Client.GetAsync("api/stats");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var stats = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.True(stats["uptimeSeconds"]!.GetValue<double>() >= 2.5, stats.ToJsonString());
        Assert.True(stats["eventsPerSecond"]!.GetValue<double>() >= 0, stats.ToJsonString());
        Assert.All(stats["alertsPerSecond"]!.AsObject(), rate => Assert.True(rate.Value!.GetValue<double>() >= 0, stats.ToJsonString()));
    }
}
