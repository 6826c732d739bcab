using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Confluent.Kafka;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Engine;
using FlowWatch.Core.Reference;
using FlowWatch.Core.Serialization;

namespace FlowWatch.Worker.Kafka;

/// <summary>
/// The engine fed by Kafka: consumes the payments topic in a consumer group, publishes alerts (key = entity) and
/// dead letters (original bytes, source position and reason in headers), and stores each partition's offset only
/// after the records before it were processed and what they produced was delivered (at least once).
/// The consume loop follows confluent-kafka-dotnet's examples: a long-running task around <c>Consume</c>,
/// stop on fatal errors, <c>Close()</c> on the way out.
/// </summary>
public sealed class StreamingWorker(KafkaOptions options, RuleSettings rules, ReferenceData reference,
    TimeProvider? wallClock = null, Action<Alert>? onAlert = null)
{
    private readonly FlowEngine _engine = new(reference, rules, wallClock: wallClock);
    private readonly ArrayBufferWriter<byte> _json = new(4096);
    private volatile Error? _deliveryError;

    public EngineCounters Counters => _engine.Counters;

    /// <summary>Set once the consumer has partitions assigned.</summary>
    public Task Ready => _ready.Task;

    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task RunAsync(CancellationToken cancellation) =>
        Task.Factory.StartNew(() => Run(cancellation), cancellation, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Run(CancellationToken cancellation)
    {
        using var producer = new ProducerBuilder<string?, byte[]>(ProducerConfig()).Build();
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(ConsumerConfig())
            .SetPartitionsAssignedHandler((_, _) => _ready.TrySetResult())
            .Build();
        consumer.Subscribe(options.PaymentsTopic);
        var alerts = new List<Alert>();
        var processed = new Dictionary<TopicPartition, TopicPartitionOffset>();
        var batch = 0;
        var batchStarted = DateTime.UtcNow;
        try
        {
            while (!cancellation.IsCancellationRequested)
            {
                ConsumeResult<Ignore, byte[]>? record;
                try
                {
                    record = consumer.Consume(options.BatchInterval);
                }
                catch (ConsumeException ex) when (!ex.Error.IsFatal)
                {
                    continue;   // a transient error: librdkafka retries by itself
                }
                if (record is { IsPartitionEOF: false, Message: not null })
                {
                    Process(record, producer, alerts);
                    processed[record.TopicPartition] = new TopicPartitionOffset(record.TopicPartition, record.Offset + 1);
                    batch++;
                }
                if (batch >= options.BatchSize || (batch > 0 && DateTime.UtcNow - batchStarted >= options.BatchInterval))
                {
                    Complete(producer, consumer, processed);
                    batch = 0;
                    batchStarted = DateTime.UtcNow;
                }
            }
        }
        finally
        {
            if (batch > 0) Complete(producer, consumer, processed);
            consumer.Close();
        }
    }

    private void Process(ConsumeResult<Ignore, byte[]> record, IProducer<string?, byte[]> producer, List<Alert> alerts)
    {
        var value = record.Message.Value ?? [];
        if (_engine.Process(value, record.Offset.Value, alerts, out var reason) == RecordOutcome.Rejected)
        {
            producer.Produce(options.DeadLetterTopic, new Message<string?, byte[]>
            {
                Value = value,
                Headers = new Headers
                {
                    { "flowwatch.reason", Encoding.UTF8.GetBytes(reason!) },
                    { "flowwatch.topic", Encoding.UTF8.GetBytes(record.Topic) },
                    { "flowwatch.partition", Encoding.UTF8.GetBytes(record.Partition.Value.ToString(CultureInfo.InvariantCulture)) },
                    { "flowwatch.offset", Encoding.UTF8.GetBytes(record.Offset.Value.ToString(CultureInfo.InvariantCulture)) },
                },
            }, RecordFailure);
        }
        foreach (var alert in alerts)
        {
            producer.Produce(options.AlertsTopic, new Message<string?, byte[]> { Key = alert.EntityId, Value = Serialize(alert) }, RecordFailure);
            onAlert?.Invoke(alert);
        }
        alerts.Clear();
    }

    /// <summary>
    /// Waits until everything produced so far is delivered, then stores the offsets behind it. A delivery that
    /// failed stops the worker before its offsets are stored, so the records are processed again after restart.
    /// </summary>
    private void Complete(IProducer<string?, byte[]> producer, IConsumer<Ignore, byte[]> consumer,
        Dictionary<TopicPartition, TopicPartitionOffset> processed)
    {
        while (producer.Flush(TimeSpan.FromSeconds(1)) > 0)
        {
            // keep waiting: an offset is stored only after what its records produced is delivered
        }
        if (_deliveryError is { } error) throw new KafkaException(error);
        foreach (var offset in processed.Values)
        {
            try
            {
                consumer.StoreOffset(offset);
            }
            catch (KafkaException ex) when (ex.Error.Code == ErrorCode.Local_State)
            {
                // the partition was revoked meanwhile; its new owner resumes from the last committed offset
            }
        }
        processed.Clear();
    }

    /// <summary>Runs on the producer's thread: remember the failure, and let the consume loop stop on it.</summary>
    private void RecordFailure(DeliveryReport<string?, byte[]> report)
    {
        if (report.Error.IsError) _deliveryError ??= report.Error;
    }

    private byte[] Serialize(Alert alert)
    {
        _json.ResetWrittenCount();
        using (var writer = new Utf8JsonWriter(_json, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            FlowWatchJsonContext.Write(writer, alert);
        }
        return _json.WrittenSpan.ToArray();
    }

    private ProducerConfig ProducerConfig() => new(options.Client)
    {
        BootstrapServers = options.BootstrapServers,
        EnableIdempotence = true,
        LingerMs = 5,
    };

    private ConsumerConfig ConsumerConfig() => new(options.Client)
    {
        BootstrapServers = options.BootstrapServers,
        GroupId = options.GroupId,
        AutoOffsetReset = AutoOffsetReset.Earliest,
        EnableAutoOffsetStore = false,
        EnableAutoCommit = true,
        AutoCommitIntervalMs = 1_000,
        IsolationLevel = IsolationLevel.ReadCommitted,
    };
}
