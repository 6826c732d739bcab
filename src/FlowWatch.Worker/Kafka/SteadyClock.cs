using System.Diagnostics;

namespace FlowWatch.Worker.Kafka;

/// <summary>
/// The time the worker schedules by (commits, saves, feed polls, timeouts): it never steps with the wall clock. A wall
/// clock set back (an NTP correction, a virtual machine resumed) would hold commits back for as long as the step; set
/// forward, it would make every save due at once. Its values are comparable only with one another, in this process.
/// </summary>
internal static class SteadyClock
{
    public static DateTime Now => new(Stopwatch.GetElapsedTime(0).Ticks, DateTimeKind.Unspecified);

    /// <summary>The time left until <paramref name="deadline"/>, at most <paramref name="atMost"/>: a wait in steps that ends by the deadline.</summary>
    public static TimeSpan Until(DateTime deadline, TimeSpan atMost) => TimeSpan.FromTicks(Math.Clamp((deadline - Now).Ticks, 0, atMost.Ticks));
}
