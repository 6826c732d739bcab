using FlowWatch.Core.Engine;
using FlowWatch.Core.Scoring;

namespace FlowWatch.Core.Tests.Rules;

/// <summary>
/// The trailing counts the scored rules and models read (RULES.md §6): for every event that is not late, the entity's
/// accepted events in (ts − 1 minute, ts], (ts − 1 hour, ts] and (ts − 24 hours, ts], itself included. The engine
/// keeps the hour's start as events arrive; a naive count over every earlier event must agree, whatever the order.
/// </summary>
public sealed class WindowCountTests
{
    /// <summary>
    /// logGapSeconds is the time since the entity's previous activity by event time: its newest earlier event at or before
    /// the event, whatever the order they came in; 0 for its first.
    /// </summary>
    [Theory]
    [InlineData(4)]
    [InlineData(5)]
    public void GapSincePreviousActivity_OfEveryEvent_EqualsANaiveOneByEventTime(int seed)
    {
        var random = new Random(seed);
        var stream = TestStreams.Reference().Entity("E1").Stream(new RuleSettings { LateEventBound = TimeSpan.FromMinutes(90) });
        var observed = new List<float>();
        stream.Engine.Shards[0].Observer = (in e, features) => observed.Add(features[Features.LogGapSeconds]);

        var accepted = new List<long>();
        var newest = TestStreams.T0;
        for (var i = 0; i < 800; i++)
        {
            var step = random.Next(4) == 0 ? -TimeSpan.FromMinutes(random.Next(0, 90)) : TimeSpan.FromSeconds(random.Next(0, 20_000));
            var ts = newest + step;
            if (ts > newest) newest = ts;
            observed.Clear();
            stream.Send(TestStreams.Event().At(ts));

            var ticks = ts.UtcTicks;
            var previous = accepted.Where(t => t <= ticks).DefaultIfEmpty(long.MinValue).Max();
            accepted.Add(ticks);
            var expected = previous == long.MinValue ? 0 : MathF.Log(1 + (ticks - previous) / (float)TimeSpan.TicksPerSecond);
            Assert.Equal(expected, Assert.Single(observed));
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void TrailingCounts_OfEveryEvent_EqualANaiveCount(int seed)
    {
        var random = new Random(seed);
        // A lateness bound past an hour lets out-of-order events land before the current hour as well as inside it.
        var stream = TestStreams.Reference().Entity("E1").Stream(new RuleSettings { LateEventBound = TimeSpan.FromMinutes(90) });
        var observed = new List<(long Ts, float Count1m, float Count1h, float Count24h)>();
        stream.Engine.Shards[0].Observer = (in e, features) => observed.Add(
            (e.TimestampTicks, features[Features.LogCount1m], features[Features.LogCount1h], features[Features.LogCount24h]));

        var accepted = new List<long>();
        var newest = TestStreams.T0;
        for (var i = 0; i < 1_500; i++)
        {
            var step = random.Next(10) switch
            {
                0 => -TimeSpan.FromMinutes(random.Next(0, 90)),      // out of order, not late
                1 => TimeSpan.FromHours(random.Next(1, 30)),          // a gap past the hour or the day
                _ => TimeSpan.FromSeconds(random.Next(0, 400)),
            };
            var ts = newest + step;
            if (ts > newest) newest = ts;
            observed.Clear();
            stream.Send(TestStreams.Event().At(ts));

            var ticks = ts.UtcTicks;
            accepted.Add(ticks);
            int Within(TimeSpan span) => accepted.Count(t => t > ticks - span.Ticks && t <= ticks);
            var (_, count1m, count1h, count24h) = Assert.Single(observed);
            Assert.Equal(MathF.Log(Within(TimeSpan.FromMinutes(1))), count1m);
            Assert.Equal(MathF.Log(Within(TimeSpan.FromHours(1))), count1h);
            Assert.Equal(MathF.Log(Within(TimeSpan.FromHours(24))), count24h);
        }
    }

    [Fact]
    public void TrailingWindow_ShorterThanTheTrailingHour_IsRefused()
    {
        // The trailing hour is counted in the entity's window: a 30-minute window would hold half of it.
        var settings = new RuleSettings { TrailingWindow = TimeSpan.FromMinutes(30) };

        var ex = Assert.Throws<ArgumentException>(() => TestStreams.Reference().Entity("E1").Stream(settings));

        Assert.Contains("FlowWatch:Rules:TrailingWindow", ex.Message, StringComparison.Ordinal);
    }
}
