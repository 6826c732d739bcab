using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Channel = System.Threading.Channels.Channel;
using Confluent.Kafka;
using FlowWatch.Core.Aggregates;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Engine;
using FlowWatch.Core.Reference;
using FlowWatch.Core.Serialization;
using Microsoft.Extensions.Logging;

namespace FlowWatch.Worker.Kafka;

/// <summary>
/// One payments partition's engine on a task of its own, fed batches of records through a bounded channel
/// (one writer: the consumer thread; one reader: this task), so that consuming and processing overlap and the
/// engine's state needs no locks. Payments are keyed by entity, so a partition is a shard of entities. The
/// consumer thread touches the engine only after <see cref="DrainAsync"/>, when this task is idle.
/// </summary>
internal sealed class PartitionPipeline : IDisposable
{
    /// <summary>The most bytes of a record a dead letter carries: well under the 1 MB a message that Kafka clients and brokers take by default.</summary>
    internal const int MaxDeadLetterBytes = 512 * 1024;

    private const int BatchSize = 256;

    private readonly Channel<Batch> _inbox = Channel.CreateBounded<Batch>(new BoundedChannelOptions(8)
    {
        SingleReader = true,
        SingleWriter = true,
    });
    private readonly IProducer<string?, byte[]> _producer;
    private readonly KafkaOptions _options;
    private readonly ILogger _log;
    private readonly TopicPartition _alertsTopic;
    private readonly TopicPartition _deadLetters;
    private readonly Action<Alert>? _onAlert;
    private readonly Action<DeliveryReport<string?, byte[]>> _onDelivery;
    private readonly ArrayBufferWriter<byte> _json = new(4096);
    private readonly Utf8JsonWriter _writer;
    private readonly List<Alert> _alerts = [];
    private readonly EntityPartitions _entityPartitions;

    /// <summary>Entities the engine met for the first time in the record being processed.</summary>
    private readonly List<string> _entitiesMet = [];
    private readonly List<PublishedAlert>? _uncommittedAlerts;
    private readonly Task _loop;
    private Batch _current = new();
    private long _nextOffset;
    private long _aggregatedFrom = -1;

    private const string LaterOnesCounted = "; further ones in this partition are counted (flowwatch_differing_duplicates_total), not logged";

    /// <summary>The differing duplicates of this partition the worker has logged, over all its take-ups of it.</summary>
    private readonly LogAllowance _differingDuplicatesLogged;

    /// <summary>How many of the engine's unknown fields were logged: those met while restoring are said at the next record, with their own offsets.</summary>
    private int _unknownFieldsLogged;

    /// <summary>
    /// A pipeline for one partition whose records resume at <paramref name="resumeAt"/>, which is its position until a
    /// record is processed.
    /// </summary>
    public PartitionPipeline(int partition, long resumeAt, FlowEngine engine, StateBook book, IProducer<string?, byte[]> producer, KafkaOptions options,
        ILogger log, EntityPartitions entityPartitions, LogAllowance differingDuplicatesLogged, Action<Alert>? onAlert,
        Action<DeliveryReport<string?, byte[]>> onDelivery, bool keepAlerts = false)
    {
        _log = log;
        _differingDuplicatesLogged = differingDuplicatesLogged;
        _entityPartitions = entityPartitions;
        // Only noted while the engine runs: what is done with them (a log line) is done after, outside the engine, where a
        // failure cannot make a good payment a dead letter.
        engine.OnEntityMet(_entitiesMet.Add);
        _nextOffset = resumeAt;
        Book = book;
        // Kept until the commit hands them to readers of committed alerts (MarkCommitted).
        _uncommittedAlerts = keepAlerts ? [] : null;
        Partition = partition;
        Engine = engine;
        _producer = producer;
        _options = options;
        _alertsTopic = new TopicPartition(options.AlertsTopic, Confluent.Kafka.Partition.Any);
        _deadLetters = new TopicPartition(options.DeadLetterTopic, Confluent.Kafka.Partition.Any);
        _onAlert = onAlert;
        _onDelivery = onDelivery;
        _writer = new Utf8JsonWriter(_json, FlowWatchJsonContext.LineWriterOptions);
        _loop = Task.Factory.StartNew(Loop, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    public int Partition { get; }

    public FlowEngine Engine { get; }

    /// <summary>What of this partition's state is saved; used by the consumer thread.</summary>
    public StateBook Book { get; }

    /// <summary>Records were handed over since the last commit.</summary>
    public bool Pending { get; set; }

    /// <summary>
    /// The next commit saves all of this partition's state: the reference data changed, or came from the reference and
    /// control topics at the restore, so that a later restore never processes payments of one reference under another.
    /// </summary>
    public bool SaveAllDue { get; set; }

    /// <summary>The engine's counters as of the last commit that included this partition's records.</summary>
    public EngineCounters Committed { get; } = new();

    /// <summary>
    /// Notes the engine's counters as committed and moves the alerts of the records committed into
    /// <paramref name="committedAlerts"/>; call after the commit, with the pipeline drained.
    /// </summary>
    public void MarkCommitted(List<PublishedAlert>? committedAlerts)
    {
        Committed.Clear();
        Committed.Add(Engine.Counters);
        if (committedAlerts is not null) committedAlerts.AddRange(TakeAlerts());
    }

    /// <summary>
    /// The alerts of the records processed since the last commit, taken out of the pipeline (none unless it keeps
    /// them); call with the pipeline drained or disposed.
    /// </summary>
    public List<PublishedAlert> TakeAlerts()
    {
        if (_uncommittedAlerts is not { Count: > 0 }) return [];
        List<PublishedAlert> alerts = [.. _uncommittedAlerts];
        _uncommittedAlerts.Clear();
        return alerts;
    }

    /// <summary>The offset after the last record processed; read after <see cref="DrainAsync"/>.</summary>
    public long NextOffset => Volatile.Read(ref _nextOffset);

    public void Add(ConsumeResult<Ignore, byte[]> record)
    {
        _current.Records.Add(record);
        Pending = true;
        if (_current.Records.Count >= BatchSize) Send(new Batch());
    }

    /// <summary>Reference data for the records after this point.</summary>
    public void UpdateReference(ReferenceData reference) => Send(new Batch(), new Batch { Reference = reference });

    /// <summary>Hands the records held back for a fuller batch to the engine now.</summary>
    public void HandOver()
    {
        if (_current.Records.Count > 0) Send(new Batch());
    }

    /// <summary>Completes once every record handed over so far is processed and what it produced is handed to the producer.</summary>
    public Task DrainAsync()
    {
        var barrier = new Batch { Done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        Send(new Batch(), barrier);
        return barrier.Done.Task;
    }

    /// <summary>
    /// After <see cref="DrainAsync"/>: the aggregate rows of the records since the last call, named after their offsets
    /// (a committed range of offsets is never processed again, so the name is unique); null when there are none.
    /// </summary>
    public AggregateBatch? TakeAggregates()
    {
        if (Engine.Aggregator is not { } aggregator || _aggregatedFrom < 0) return null;
        var id = string.Create(CultureInfo.InvariantCulture, $"{_options.PaymentsTopic}/{Partition}@{_aggregatedFrom}-{NextOffset - 1}");
        _aggregatedFrom = -1;
        return aggregator.IsEmpty ? null : aggregator.Take(id);
    }

    /// <summary>Stops the task once it has processed what it was given.</summary>
    public void Dispose()
    {
        Send(new Batch());
        _inbox.Writer.TryComplete();
        try
        {
            _loop.GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // already reported to whoever drained it; the session is ending anyway
        }
        _writer.Dispose();
    }

    private void Send(Batch next, Batch? after = null)
    {
        var full = _current;
        _current = next;
        if (full.Records.Count > 0) Write(full);
        if (after is not null) Write(after);
    }

    private void Write(Batch batch)
    {
        if (!_inbox.Writer.TryWrite(batch))
        {
            // The bounded inbox is full: the consumer waits for the engine (backpressure, never dropping).
            if (!_inbox.Writer.WaitToWriteAsync().AsTask().GetAwaiter().GetResult() || !_inbox.Writer.TryWrite(batch))
            {
                throw new InvalidOperationException($"partition {Partition}'s pipeline has stopped");
            }
        }
    }

    private async Task Loop()
    {
        Exception? failure = null;
        await foreach (var batch in _inbox.Reader.ReadAllAsync())
        {
            if (failure is not null)
            {
                batch.Done?.TrySetException(failure);
                continue;
            }
            try
            {
                if (batch.Reference is not null) Engine.UpdateReference(batch.Reference);
                var records = batch.Records;
                for (var i = 0; i < records.Count; i++)
                {
                    if (i + 1 < records.Count && records[i + 1].Message?.Value is { } next) FlowEngine.Prefetch(next);
                    Process(records[i]);
                }
                if (WorkerMetrics.ProcessingLatency.Enabled) RecordLatency(batch.Records);
                batch.Done?.TrySetResult();
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                failure = ex;
                batch.Done?.TrySetException(ex);
            }
        }
    }

    private void Process(ConsumeResult<Ignore, byte[]> record)
    {
        var value = record.Message.Value ?? [];
        if (_aggregatedFrom < 0) _aggregatedFrom = record.Offset.Value;
        var outcome = Engine.Process(value, record.Offset.Value, record.PublishedAt(), _alerts, out var reason);
        // Parameters a supervisor changes move every cap of the partition: the change is said, where it came from too.
        if (outcome == RecordOutcome.Control && Engine.LatestControl is { } control)
        {
            WorkerLog.ParametersChangedInStream(_log, record.Partition.Value, record.Offset.Value, control.Dated, control.Parameters);
        }
        if (_entitiesMet.Count > 0)
        {
            foreach (var entityId in _entitiesMet) _entityPartitions.Hold(entityId, Partition);
            _entitiesMet.Clear();
        }
        // Ignored as a duplicate (RULES.md §1), yet another payment than the one its id was accepted with: said, with where it is.
        if (outcome == RecordOutcome.DifferingDuplicate && _differingDuplicatesLogged.TryTake(out var last))
        {
            WorkerLog.DifferingDuplicate(_log, reason!, record.Partition.Value, record.Offset.Value, last ? LaterOnesCounted : "");
        }
        // A field passed over may be a misspelt one (metod), whose content is lost: each name is said the first time.
        while (_unknownFieldsLogged < Engine.UnknownFields.Count)
        {
            var (name, offset) = Engine.UnknownFields[_unknownFieldsLogged++];
            WorkerLog.UnknownField(_log, name, record.Partition.Value, offset);
        }
        if (outcome == RecordOutcome.Rejected)
        {
            var headers = new Headers
            {
                { "flowwatch.reason", Encoding.UTF8.GetBytes(reason!) },
                { "flowwatch.topic", Encoding.UTF8.GetBytes(record.Topic) },
                { "flowwatch.partition", Encoding.UTF8.GetBytes(record.Partition.Value.ToString(CultureInfo.InvariantCulture)) },
                { "flowwatch.offset", Encoding.UTF8.GetBytes(record.Offset.Value.ToString(CultureInfo.InvariantCulture)) },
                // The dead letter's own timestamp is when it was written: the record's is kept for whoever sends it again.
                { "flowwatch.timestamp", Encoding.UTF8.GetBytes(record.Message.Timestamp.UnixTimestampMs.ToString(CultureInfo.InvariantCulture)) },
            };
            // A record too large to send again whole (producers and brokers may allow more than this client's 1 MB) is
            // dead-lettered by its first bytes: refused whole, it would stop the partition at this record for good.
            if (value.Length > MaxDeadLetterBytes)
            {
                headers.Add("flowwatch.truncated-from", Encoding.UTF8.GetBytes(value.Length.ToString(CultureInfo.InvariantCulture)));
                value = value[..MaxDeadLetterBytes];
            }
            _producer.ProduceInTransaction(_deadLetters, new Message<string?, byte[]> { Value = value, Headers = headers }, _onDelivery);
        }
        foreach (var alert in _alerts)
        {
            var json = Serialize(alert);
            _producer.ProduceInTransaction(_alertsTopic, new Message<string?, byte[]> { Key = alert.EntityId, Value = json }, _onDelivery);
            _onAlert?.Invoke(alert);
            _uncommittedAlerts?.Add(PublishedAlert.Of(alert, json));
        }
        _alerts.Clear();
        Volatile.Write(ref _nextOffset, record.Offset.Value + 1);
    }

    /// <summary>From each record's timestamp (its producer's clock) to the end of its batch's processing.</summary>
    private static void RecordLatency(List<ConsumeResult<Ignore, byte[]>> records)
    {
        var now = DateTime.UtcNow;
        foreach (var record in records)
        {
            if (record.PublishedAt() is { } published) WorkerMetrics.ProcessingLatency.Record((now - published.UtcDateTime).TotalSeconds);
        }
    }

    private byte[] Serialize(Alert alert)
    {
        _json.ResetWrittenCount();
        _writer.Reset(_json);
        FlowWatchJsonContext.Write(_writer, alert);
        _writer.Flush();
        return _json.WrittenSpan.ToArray();
    }

    private sealed class Batch
    {
        public List<ConsumeResult<Ignore, byte[]>> Records { get; } = [];
        public ReferenceData? Reference { get; init; }
        public TaskCompletionSource? Done { get; init; }
    }
}
