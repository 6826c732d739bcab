using Confluent.Kafka;
using FlowWatch.Core.Decoding;
using FlowWatch.Core.Reference;
using Microsoft.Extensions.Logging;

namespace FlowWatch.Worker.Kafka;

/// <summary>
/// Follows the reference topic (each record a whole reference document, DESIGN.md §3.2; compacted, the latest
/// wins) and the control topic (PARAMETERS records, DESIGN.md §3.4), both of one partition. A change applies to
/// the events a worker processes after it reads the change. A broken record is reported and skipped: the worker
/// keeps its last good reference data.
/// </summary>
public sealed class ReferenceFeed : IDisposable
{
    private readonly IConsumer<Ignore, byte[]>? _consumer;
    private readonly string _referenceTopic;
    private readonly ILogger _log;
    private readonly List<ConsumeResult<Ignore, byte[]>> _arrived = [];
    private readonly HoldersWithoutRecordWarning _holders;

    /// <summary>
    /// Reads the topics to their end, saying what it still waits for through <paramref name="waiting"/>; a stop asked
    /// for meanwhile (<paramref name="cancellation"/>) ends the wait with an <see cref="OperationCanceledException"/>.
    /// Its consumer logs through <paramref name="clientLog"/> when given (one that served the feeds before this one), and
    /// the holders without a record of the document in force are said through <paramref name="holders"/> (likewise).
    /// </summary>
    public ReferenceFeed(KafkaOptions options, ReferenceData initial, ILogger log, Action<string>? waiting = null,
        KafkaClientLog? clientLog = null, HoldersWithoutRecordWarning? holders = null, CancellationToken cancellation = default)
    {
        Current = initial;
        _holders = holders ?? new HoldersWithoutRecordWarning();
        _referenceTopic = options.ReferenceTopic;
        _log = log;
        var topics = new[] { options.ReferenceTopic, options.ControlTopic }.Where(t => t.Length > 0).ToList();
        if (topics.Count == 0) return;
        _consumer = new ConsumerBuilder<Ignore, byte[]>(new ConsumerConfig(new Dictionary<string, string>(options.Client))
        {
            BootstrapServers = options.BootstrapServers,
            GroupId = "flowwatch-reference",   // assign() only: every worker reads everything, nothing is committed
            EnableAutoCommit = false,
            EnablePartitionEof = true,
        }).LogTo(clientLog ?? new KafkaClientLog(log, "reference consumer")).Build();
        try
        {
            _consumer.Assign(topics.Select(t => new TopicPartitionOffset(t, new Partition(0), Offset.Beginning)));
            CatchUp(_consumer, topics, options.CatchUpTimeout, waiting, cancellation);
            // Checked once the topics were read to their end: their metadata is at hand then, and a broker out of reach
            // has already ended the wait.
            foreach (var topic in topics) RefuseSeveralPartitions(_consumer, topic, RoleOf(topic));
        }
        catch
        {
            // A feed that never started is nobody's to dispose: its consumer (and its threads) would wait for a collection.
            _consumer.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Refuses a topic of more than one partition: the feed reads partition 0, in the order its records were written,
    /// and a record in another partition (a keyed producer, a cluster's default of several) would never be applied.
    /// A topic whose metadata does not come in time is let be.
    /// </summary>
    private static void RefuseSeveralPartitions(IClient client, string topic, string role)
    {
        if (client.KnownTopic(topic, MetadataWait) is { Partitions.Count: > 1 and var partitions })
        {
            throw new InvalidDataException($"the {role} topic '{topic}' has {partitions} partitions: it must have one, whose records are applied in the order they were written");
        }
    }

    private static readonly TimeSpan MetadataWait = TimeSpan.FromSeconds(10);

    /// <summary>How long the catch-up waits for its topics' ends before it asks the broker what keeps them.</summary>
    private static readonly TimeSpan LookInterval = TimeSpan.FromSeconds(2);

    /// <summary>How long it waits for that answer of each topic: a broker out of reach must not hold up a stop for long.</summary>
    private static readonly TimeSpan LookWait = TimeSpan.FromSeconds(1);

    /// <summary>True when a feed is configured: its parameters then override those saved in snapshots.</summary>
    public bool Enabled => _consumer is not null;

    public ReferenceData Current { get; private set; }

    /// <summary>Applies whatever arrived since the last call; answers whether anything changed.</summary>
    public bool Poll()
    {
        if (_consumer is null) return false;
        while (_consumer.ConsumeOrNothing(TimeSpan.Zero) is { } record)
        {
            if (!record.IsPartitionEOF && record.Message?.Value is not null) _arrived.Add(record);
        }
        var changed = ApplyArrived();
        if (changed) _holders.Say(_log, Current);
        return changed;
    }

    /// <summary>
    /// Applies records of both topics in the order they were written, not the order the consumer hands the two
    /// partitions over: a reference document replaces the parameters a control record set before it, and a control
    /// record changes those of the document before it, whichever topic is read first. Each topic's records keep their
    /// own order, that of their offsets; the two are merged by timestamp. Timestamps alone could reorder one topic's
    /// records (producers' clocks differ, a record may carry the time it was made), and then the superseded
    /// document would win.
    /// </summary>
    private bool ApplyArrived()
    {
        if (_arrived.Count == 0) return false;
        var changed = false;
        // Each record with its place in arrival order, which breaks ties of timestamps as before.
        var arrived = _arrived.Select((record, place) => (Record: record, Place: place)).ToList();
        var documents = arrived.Where(r => r.Record.Topic == _referenceTopic).ToList();
        var controls = arrived.Where(r => r.Record.Topic != _referenceTopic).ToList();
        for (int d = 0, c = 0; d < documents.Count || c < controls.Count;)
        {
            var document = c == controls.Count || (d < documents.Count && WrittenBefore(documents[d], controls[c]));
            var record = (document ? documents[d++] : controls[c++]).Record;
            changed |= Apply(record.Topic, record.Message.Value);
        }
        _arrived.Clear();
        return changed;

        static bool WrittenBefore((ConsumeResult<Ignore, byte[]> Record, int Place) a, (ConsumeResult<Ignore, byte[]> Record, int Place) b) =>
            (a.Record.Message.Timestamp.UnixTimestampMs, a.Place).CompareTo((b.Record.Message.Timestamp.UnixTimestampMs, b.Place)) < 0;
    }

    private void CatchUp(IConsumer<Ignore, byte[]> consumer, List<string> topics, TimeSpan timeout, Action<string>? waiting, CancellationToken cancellation)
    {
        // Each topic counts once: a record arriving after a topic's end gives that topic a second end.
        var pending = new List<string>(topics);
        string? lastError = null;
        var deadline = SteadyClock.Now + timeout;
        var nextLook = SteadyClock.Now + LookInterval;
        waiting?.Invoke(Waiting(pending, lastError));
        while (pending.Count > 0)
        {
            // A stop is not kept waiting for the CatchUpTimeout: nothing has been processed yet.
            cancellation.ThrowIfCancellationRequested();
            // What keeps a topic from its end (missing, not authorised) is said.
            var record = consumer.ConsumeOrNothing(TimeSpan.FromSeconds(1), error =>
            {
                if (error.Reason != lastError) waiting?.Invoke(Waiting(pending, lastError = error.Reason));
            });
            if (record is null)
            {
                if (SteadyClock.Now >= nextLook)
                {
                    // A missing topic gives its consumer no error for a long while (librdkafka waits for it to be created).
                    nextLook = SteadyClock.Now + LookInterval;
                    if (Problem(consumer, pending, deadline, cancellation) is { } problem && problem != lastError)
                    {
                        waiting?.Invoke(Waiting(pending, lastError = problem));
                    }
                }
                if (SteadyClock.Now > deadline)
                {
                    throw new TimeoutException($"{Topics(pending)} did not reach {End(pending)} in {timeout.TotalSeconds:0.#} s{Because(lastError)}");
                }
                continue;
            }
            if (record.IsPartitionEOF)
            {
                if (pending.Remove(record.Topic) && pending.Count > 0) waiting?.Invoke(Waiting(pending, lastError = null));
            }
            else if (record.Message?.Value is not null)
            {
                _arrived.Add(record);
            }
        }
        // Said of the document in force once the topics are read, not of every one they held before it.
        if (ApplyArrived()) _holders.Say(_log, Current);
    }

    /// <summary>
    /// What the broker says of the first pending topic it has an error for (named when more than one is pending), or
    /// null; each asked for no longer than <see cref="LookWait"/>, nor past the deadline or a stop.
    /// </summary>
    private string? Problem(IConsumer<Ignore, byte[]> consumer, List<string> pending, DateTime deadline, CancellationToken cancellation)
    {
        foreach (var topic in pending)
        {
            var wait = SteadyClock.Until(deadline, LookWait);
            if (cancellation.IsCancellationRequested || wait <= TimeSpan.Zero) return null;
            if (consumer.TopicMetadata(topic, wait)?.Error is { IsError: true } error)
            {
                return pending.Count == 1 ? error.Reason : $"the {RoleOf(topic)} topic '{topic}': {error.Reason}";
            }
        }
        return null;
    }

    /// <summary>E.g. "reading the control topic 'flowwatch-control' to its end (Broker: Unknown topic or partition)".</summary>
    private string Waiting(List<string> pending, string? error) => $"reading {Topics(pending)} to {End(pending)}{Because(error)}";

    /// <summary>E.g. "the reference topic 'flowwatch-reference' and the control topic 'flowwatch-control'".</summary>
    private string Topics(List<string> pending) => string.Join(" and ", pending.Select(topic => $"the {RoleOf(topic)} topic '{topic}'"));

    private static string End(List<string> pending) => pending.Count == 1 ? "its end" : "their end";

    private static string Because(string? error) => error is null ? "" : $" ({error})";

    private string RoleOf(string topic) => topic == _referenceTopic ? "reference" : "control";

    private bool Apply(string topic, byte[] value)
    {
        if (topic == _referenceTopic)
        {
            try
            {
                Current = ReferenceDataLoader.Parse(value);
                WorkerLog.ReferenceUpdated(_log);
                return true;
            }
            catch (ReferenceDataException ex)
            {
                WorkerLog.ReferenceRejected(_log, UnseenCharacters.Shown(ex.Message));
                return false;
            }
        }
        if (ControlRecordParser.TryParse(value, Current.Parameters, out var control, out var reason))
        {
            Current = Current.WithParameters(control.Parameters);
            WorkerLog.ParametersChanged(_log, control.Dated, control.Parameters);
            return true;
        }
        // The reason quotes the record's field names: shown so that none breaks or turns the log line.
        WorkerLog.ControlRejected(_log, UnseenCharacters.Shown(reason!));
        return false;
    }

    public void Dispose()
    {
        _consumer?.Close();
        _consumer?.Dispose();
    }
}
