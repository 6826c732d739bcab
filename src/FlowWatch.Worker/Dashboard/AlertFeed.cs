using System.Text.Json;
using System.Text.Json.Serialization;
using FlowWatch.Worker.Kafka;

namespace FlowWatch.Worker.Dashboard;

/// <summary>
/// A committed alert with its place in the feed: ids rise by one per alert, so a reader resumes after the last it
/// saw, and a later process's ids start above an earlier one's. Written as <c>{"id":…,"alert":{…}}</c>, the alert
/// exactly as on the alerts topic.
/// </summary>
[JsonConverter(typeof(FeedEntryConverter))]
public sealed record FeedEntry(long Id, PublishedAlert Alert);

/// <summary>
/// The latest committed alerts, in a bounded ring (the oldest are forgotten), for the API and the live stream.
/// One writer (the worker's consumer thread, once per commit) and any number of readers; a lock guards the ring,
/// taken once per commit by the writer, never per event. Alerts are held as their published JSON, so keeping
/// thousands costs the collector little.
/// </summary>
public sealed class AlertFeed
{
    private readonly Lock _gate = new();
    private readonly FeedEntry?[] _ring;
    private readonly long[] _bySeverity = new long[3];
    private readonly long _firstId;
    private long _lastId;
    private TaskCompletionSource _published = NewSignal();

    /// <param name="capacity">Alerts held.</param>
    /// <param name="firstId">Id of the first alert; see <see cref="FirstIdAt"/>.</param>
    public AlertFeed(int capacity, long firstId = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(firstId, 1);
        _ring = new FeedEntry?[capacity];
        _firstId = firstId;
        _lastId = firstId - 1;
    }

    /// <summary>
    /// A first id for a feed started at <paramref name="now"/>: a thousand per millisecond since 1970, so that a process
    /// started later begins above every id an earlier one gave (unless that one gave more than a thousand alerts a
    /// millisecond), and a reader's id from an earlier process is told apart. Under 2^53, so exact in JavaScript.
    /// </summary>
    public static long FirstIdAt(DateTimeOffset now) => now.ToUnixTimeMilliseconds() * 1000 + 1;

    /// <summary>Id of the newest alert; one below the first id before the first alert.</summary>
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

    /// <param name="alerts">Alerts in the order they were committed.</param>
    /// <param name="countAsNew">
    /// False for alerts committed before this feed started (read back from the alerts topic): they are listed, but not
    /// counted in <see cref="CountBySeverity"/>.
    /// </param>
    public void Publish(IReadOnlyList<PublishedAlert> alerts, bool countAsNew = true)
    {
        TaskCompletionSource published;
        lock (_gate)
        {
            foreach (var alert in alerts)
            {
                _lastId++;
                _ring[_lastId % _ring.Length] = new FeedEntry(_lastId, alert);
                if (countAsNew) _bySeverity[(int)alert.Severity - 1]++;
            }
            published = _published;
            _published = NewSignal();
        }
        published.TrySetResult();
    }

    /// <summary>
    /// Up to <paramref name="limit"/> alerts that pass <paramref name="filter"/>, newest first, and the id of the
    /// newest alert at that moment, where a stream opened next should carry on. The ring is scanned outside the lock,
    /// since a filtered scan of a large ring would hold up the worker's commits: it ends where newer alerts have
    /// taken the place of older ones meanwhile.
    /// </summary>
    public (IReadOnlyList<FeedEntry> Entries, long LastId) Latest(int limit, Func<PublishedAlert, bool> filter)
    {
        long last, oldest;
        lock (_gate) (last, oldest) = (_lastId, Math.Max(_firstId, _lastId - _ring.Length + 1));
        var found = new List<FeedEntry>(Math.Min(limit, 256));
        for (var id = last; id >= oldest && found.Count < limit; id--)
        {
            var entry = Volatile.Read(ref _ring[id % _ring.Length]);
            if (entry is null || entry.Id != id) break;
            if (filter(entry.Alert)) found.Add(entry);
        }
        return (found, last);
    }

    /// <summary>
    /// The alerts after <paramref name="afterId"/> still held, oldest first, and a task that completes when more
    /// are published. <c>Missed</c> when some alerts after it are no longer held (the ring went past them) or were
    /// never in this feed (an id of an earlier process, or one this feed has not given): the entries then start at
    /// the oldest held, and a reader should reload what it shows.
    /// </summary>
    public (IReadOnlyList<FeedEntry> Entries, bool Missed, Task More) After(long afterId)
    {
        lock (_gate)
        {
            var oldestHeld = Math.Max(_firstId, _lastId - _ring.Length + 1);
            var missed = afterId < oldestHeld - 1 || afterId > _lastId;
            var from = missed ? oldestHeld : afterId + 1;
            var entries = new List<FeedEntry>((int)Math.Max(0, _lastId - from + 1));
            for (var id = from; id <= _lastId; id++) entries.Add(_ring[id % _ring.Length]!);
            return (entries, missed, _published.Task);
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>Writes a feed entry with its alert's published JSON as is.</summary>
internal sealed class FeedEntryConverter : JsonConverter<FeedEntry>
{
    public override FeedEntry Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        throw new NotSupportedException("feed entries are written, never read");

    public override void Write(Utf8JsonWriter writer, FeedEntry value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        writer.WriteNumber("id", value.Id);
        writer.WritePropertyName("alert");
        writer.WriteRawValue(value.Alert.Json, skipInputValidation: true);
        writer.WriteEndObject();
    }
}
