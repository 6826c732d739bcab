using System.Text.Json.Serialization;
using FlowWatch.Core.Engine;
using FlowWatch.Worker.Kafka;
using Microsoft.Extensions.Hosting;

namespace FlowWatch.Worker.Dashboard;

/// <summary>
/// What <c>/api/stats</c> answers: rates over the last second, totals, lag (null while the worker is not consuming),
/// uptime, and whether the worker is consuming (<see cref="Ready"/>) and if not why (<see cref="Status"/>). Three
/// totals count payments the rules may not see whole: repeats of an accepted <c>txnId</c> saying something else
/// (ignored), payments naming another holder or kind for an account than reference data (judged as they say), and
/// entities met in two partitions (their state split).
/// </summary>
public sealed record StatsSnapshot(
    double EventsPerSecond,
    long Events,
    long DeadLetters,
    long DifferingDuplicates,
    long ReferenceConflicts,
    long SplitEntities,
    // Written as null, not left out as absent values elsewhere are: the page tells "not consuming" by it.
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] long? ConsumerLag,
    IReadOnlyDictionary<string, double> AlertsPerSecond,
    IReadOnlyDictionary<string, long> Alerts,
    double UptimeSeconds,
    DateTimeOffset StartedAt,
    bool Ready,
    string Status);

/// <summary>
/// Samples the worker's counters once a second, off the hot path, for the rates between the last two samples;
/// totals are read when asked. Rates and uptime are measured on the clock's steady timestamps: the time of day can stand
/// still or step back (a clock set by NTP), which would make a rate infinite, not a number, or negative.
/// </summary>
public sealed class LiveStats(StreamingWorker worker, AlertFeed feed, TimeProvider clock) : BackgroundService
{
    private static readonly string[] Severities = ["I", "II", "III"];
    private readonly DateTimeOffset _startedAt = clock.GetUtcNow();
    private readonly long _started = clock.GetTimestamp();
    private volatile Rates _rates = new(0, [0, 0, 0]);

    public StatsSnapshot Current
    {
        get
        {
            var now = Take();
            var rates = _rates;
            var status = worker.Status;
            return new StatsSnapshot(
                rates.Events,
                now.Counters.Read,
                now.Counters.DeadLetters,
                now.Counters.DifferingDuplicates,
                now.Counters.ReferenceConflicts,
                worker.SplitEntities,
                worker.ConsumerLag,
                Severities.Select((s, i) => (s, rates.Alerts[i])).ToDictionary(p => p.s, p => p.Item2),
                Severities.Select((s, i) => (s, now.Alerts[i])).ToDictionary(p => p.s, p => p.Item2),
                clock.GetElapsedTime(_started, now.At).TotalSeconds,
                _startedAt,
                status.IsConsuming,
                status.Description);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var previous = Take();
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var sample = Take();
                var seconds = clock.GetElapsedTime(previous.At, sample.At).TotalSeconds;
                if (seconds <= 0) continue;
                _rates = new Rates((sample.Counters.Read - previous.Counters.Read) / seconds, [.. sample.Alerts.Select((n, i) => (n - previous.Alerts[i]) / seconds)]);
                previous = sample;
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // stopping
        }
    }

    private Sample Take() => new(clock.GetTimestamp(), worker.Counters, feed.CountBySeverity());

    /// <summary>The counters at a steady timestamp of the clock (<see cref="TimeProvider.GetTimestamp"/>).</summary>
    private sealed record Sample(long At, EngineCounters Counters, IReadOnlyList<long> Alerts);

    private sealed record Rates(double Events, IReadOnlyList<double> Alerts);
}
