using FlowWatch.Core.Contracts;

namespace FlowWatch.Worker.Dashboard;

/// <summary>A committed alert with its place in the feed: ids rise by one per alert, so a reader resumes after the last it saw.</summary>
public sealed record FeedEntry(long Id, Alert Alert);

/// <summary>
/// The latest committed alerts, in a bounded ring (the oldest are forgotten), for the API and the live stream.
/// One writer (the worker's consumer thread, once per commit) and any number of readers; a lock guards the ring,
/// taken once per commit by the writer, never per event.
/// </summary>
public sealed class AlertFeed
{
    private readonly Lock _gate = new();
    private readonly FeedEntry?[] _ring;
    private readonly long[] _bySeverity = new long[3];
    private long _lastId;
    private TaskCompletionSource _published = NewSignal();

    public AlertFeed(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _ring = new FeedEntry?[capacity];
    }

    /// <summary>Id of the newest alert; 0 before the first.</summary>
    public long LastId
    {
        get
        {
            lock (_gate) return _lastId;
        }
    }

    /// <summary>Alerts published so far, by severity (I, II, III).</summary>
    public IReadOnlyList<long> CountBySeverity()
    {
        lock (_gate) return [.. _bySeverity];
    }

    public void Publish(IReadOnlyList<Alert> alerts)
    {
        TaskCompletionSource published;
        lock (_gate)
        {
            foreach (var alert in alerts)
            {
                _lastId++;
                _ring[_lastId % _ring.Length] = new FeedEntry(_lastId, alert);
                _bySeverity[(int)alert.Severity - 1]++;
            }
            published = _published;
            _published = NewSignal();
        }
        published.TrySetResult();
    }

    /// <summary>Up to <paramref name="limit"/> alerts that pass <paramref name="filter"/>, newest first.</summary>
    public IReadOnlyList<FeedEntry> Latest(int limit, Func<Alert, bool> filter)
    {
        var found = new List<FeedEntry>(Math.Min(limit, 256));
        lock (_gate)
        {
            for (var id = _lastId; id > Math.Max(0, _lastId - _ring.Length) && found.Count < limit; id--)
            {
                var entry = _ring[id % _ring.Length]!;
                if (filter(entry.Alert)) found.Add(entry);
            }
        }
        return found;
    }

    /// <summary>
    /// The alerts after <paramref name="afterId"/> still held, oldest first, and a task that completes when more
    /// are published. An id from beyond the newest (a reader of an earlier process) reads from the oldest held.
    /// </summary>
    public (IReadOnlyList<FeedEntry> Entries, Task More) After(long afterId)
    {
        lock (_gate)
        {
            if (afterId < 0 || afterId > _lastId) afterId = 0;
            var from = Math.Max(afterId, _lastId - _ring.Length) + 1;
            var entries = new List<FeedEntry>((int)Math.Max(0, _lastId - from + 1));
            for (var id = from; id <= _lastId; id++) entries.Add(_ring[id % _ring.Length]!);
            return (entries, _published.Task);
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
