using FlowWatch.Worker.Kafka;
using Microsoft.Extensions.Hosting;

namespace FlowWatch.Worker.Dashboard;

/// <summary>What <c>/api/stats</c> answers: rates over the last second, totals, lag and uptime.</summary>
public sealed record StatsSnapshot(
    double EventsPerSecond,
    long Events,
    long DeadLetters,
    long ConsumerLag,
    IReadOnlyDictionary<string, double> AlertsPerSecond,
    IReadOnlyDictionary<string, long> Alerts,
    double UptimeSeconds,
    DateTimeOffset StartedAt,
    bool Ready);

/// <summary>
/// Samples the worker's counters once a second, off the hot path, and keeps the rates between the last two
/// samples for the API.
/// </summary>
public sealed class LiveStats(StreamingWorker worker, AlertFeed feed, TimeProvider clock) : BackgroundService
{
    private static readonly string[] Severities = ["I", "II", "III"];
    private readonly DateTimeOffset _startedAt = clock.GetUtcNow();
    private Sample? _previous;
    private volatile StatsSnapshot? _current;

    public StatsSnapshot Current => _current ?? Describe(_previous ?? Take(), Take());

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _previous = Take();
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), clock);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            var sample = Take();
            _current = Describe(_previous, sample);
            _previous = sample;
        }
    }

    private Sample Take()
    {
        var counters = worker.Counters;
        return new Sample(clock.GetUtcNow(), counters.Read, counters.DeadLetters, feed.CountBySeverity());
    }

    private StatsSnapshot Describe(Sample from, Sample to)
    {
        var seconds = (to.At - from.At).TotalSeconds;
        double Rate(long before, long after) => seconds > 0 ? (after - before) / seconds : 0;
        return new StatsSnapshot(
            Rate(from.Events, to.Events),
            to.Events,
            to.DeadLetters,
            worker.ConsumerLag,
            Severities.Select((s, i) => (s, Rate(from.Alerts[i], to.Alerts[i]))).ToDictionary(p => p.s, p => p.Item2),
            Severities.Select((s, i) => (s, to.Alerts[i])).ToDictionary(p => p.s, p => p.Item2),
            (to.At - _startedAt).TotalSeconds,
            _startedAt,
            worker.Ready.IsCompletedSuccessfully);
    }

    private sealed record Sample(DateTimeOffset At, long Events, long DeadLetters, IReadOnlyList<long> Alerts);
}
