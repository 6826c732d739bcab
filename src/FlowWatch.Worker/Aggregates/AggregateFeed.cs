using System.Collections.Concurrent;
using System.Text.Json;
using Confluent.Kafka;
using FlowWatch.Core.Contracts;
using FlowWatch.Worker.Kafka;
using Microsoft.Extensions.Logging;

namespace FlowWatch.Worker.Aggregates;

/// <summary>
/// Moves committed aggregate rows and alerts from Kafka into the sink. It reads the aggregates and alerts topics
/// read_committed, so it sees only what the worker committed; it commits its own offsets only after the sink has
/// the rows. A crash or a sink outage therefore replays some messages into the sink, which ignores rows it already
/// holds (their keys carry the batch, alerts their ids): every committed row lands exactly once in analysts' results.
/// </summary>
public sealed class AggregateFeed(KafkaOptions kafka, AggregateOptions options, AggregateWriter writer, ILogger logger)
{
    private volatile Error? _fatal;
    // Where each partition was last read to its end, and how many rows were read and not yet written: what
    // WaitUntilWrittenAsync answers from.
    private readonly ConcurrentDictionary<TopicPartition, long> _readToEnd = new();
    private int _unwritten;

    public Task RunAsync(CancellationToken stop) => Task.Factory.StartNew(() => Run(stop), CancellationToken.None,
        TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Run(CancellationToken stop)
    {
        using var consumer = new ConsumerBuilder<string?, byte[]>(ConsumerConfig())
            .LogTo(logger, "aggregate feed", error =>
            {
                if (error.IsFatal) _fatal = error;
            })
            .Build();
        consumer.Subscribe([kafka.AggregatesTopic, kafka.AlertsTopic]);
        FeedLog.Started(logger, kafka.AggregatesTopic, kafka.AlertsTopic, writer.Sink.Description);
        var aggregates = new List<Core.Aggregates.AggregateBatch>();
        var alerts = new List<Alert>();
        var positions = new Dictionary<TopicPartition, Offset>();
        var rows = 0;
        var firstPending = DateTime.MinValue;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                if (_fatal is { } fatal) throw new KafkaException(fatal);
                ConsumeResult<string?, byte[]>? result;
                try
                {
                    result = consumer.Consume(TimeSpan.FromMilliseconds(100));
                }
                catch (ConsumeException ex) when (!ex.Error.IsFatal)
                {
                    // Most often a write that outlasted the group's poll interval (the sink was down long): the feed
                    // rejoins on the next poll and reads again from its committed offsets, rows the sink ignores.
                    FeedLog.Rejoining(logger, ex.Error.Reason);
                    continue;
                }
                if (result is { IsPartitionEOF: true })
                {
                    _readToEnd[result.TopicPartition] = result.Offset.Value;
                }
                else if (result is { Message.Value: { } value })
                {
                    if (rows == 0) firstPending = SteadyClock.Now;
                    try
                    {
                        if (result.Topic == kafka.AlertsTopic)
                        {
                            alerts.Add(PublishedAlert.Read(value));
                            rows++;
                        }
                        else
                        {
                            var batch = AggregatePublisher.Read(value);
                            aggregates.Add(batch);
                            rows += batch.RowCount;
                        }
                    }
                    catch (JsonException ex)
                    {
                        // Only FlowWatch writes these topics; a message it cannot read is reported and passed over.
                        FeedLog.Unreadable(logger, result.Topic, result.Partition.Value, result.Offset.Value, ex.Message);
                    }
                    positions[result.TopicPartition] = result.Offset + 1;
                    Volatile.Write(ref _unwritten, rows);
                }
                if (rows > 0 && (rows >= options.MaxRows || SteadyClock.Now - firstPending >= options.FlushInterval))
                {
                    writer.WriteAsync(new SinkBatch([.. aggregates], [.. alerts]), stop).GetAwaiter().GetResult();
                    try
                    {
                        consumer.Commit(positions.Select(p => new TopicPartitionOffset(p.Key, p.Value)));
                    }
                    catch (KafkaException ex) when (!ex.Error.IsFatal)
                    {
                        // The group moved on meanwhile (as above): these messages are read again, rows the sink ignores.
                        FeedLog.Rejoining(logger, ex.Error.Reason);
                    }
                    aggregates.Clear();
                    alerts.Clear();
                    positions.Clear();
                    rows = 0;
                    Volatile.Write(ref _unwritten, 0);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // what is not committed is read again at the next start
        }
        finally
        {
            consumer.Close();
        }
    }

    /// <summary>
    /// Waits until the feed has read the aggregates and alerts topics to the ends they have now and the sink holds what
    /// it read: <c>demo</c>'s last rows after its worker stopped. Gives up once the sink has written nothing for
    /// <paramref name="stalledFor"/> (a sink away that long), or when <paramref name="running"/> (this feed) ends.
    /// </summary>
    public async Task WaitUntilWrittenAsync(Task running, TimeSpan stalledFor)
    {
        var ends = EndOffsets();
        var (written, progress) = (writer.RowsWritten, SteadyClock.Now);
        while (!running.IsCompleted && !HasWritten(ends) && SteadyClock.Now - progress < stalledFor)
        {
            await Task.Delay(50).ConfigureAwait(false);
            if (writer.RowsWritten != written) (written, progress) = (writer.RowsWritten, SteadyClock.Now);
        }
    }

    // A partition's end is read after the rows ahead of it, which were counted as unwritten by then.
    private bool HasWritten(Dictionary<TopicPartition, long> ends) =>
        ends.All(end => _readToEnd.TryGetValue(end.Key, out var readTo) && readTo >= end.Value) && Volatile.Read(ref _unwritten) == 0;

    /// <summary>The end offset of every partition of the two topics that holds anything.</summary>
    private Dictionary<TopicPartition, long> EndOffsets()
    {
        var timeout = TimeSpan.FromSeconds(10);
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(ConsumerConfig()).Build();
        using var admin = new DependentAdminClientBuilder(consumer.Handle).Build();
        var ends = new Dictionary<TopicPartition, long>();
        foreach (var topic in admin.GetMetadata(timeout).Topics.Where(t => t.Topic == kafka.AggregatesTopic || t.Topic == kafka.AlertsTopic))
        {
            foreach (var partition in topic.Partitions.Select(p => new TopicPartition(topic.Topic, p.PartitionId)))
            {
                var watermarks = consumer.QueryWatermarkOffsets(partition, timeout);
                if (watermarks.High > watermarks.Low) ends[partition] = watermarks.High.Value;
            }
        }
        return ends;
    }

    private ConsumerConfig ConsumerConfig() => new(new Dictionary<string, string>(kafka.Client))
    {
        BootstrapServers = kafka.BootstrapServers,
        GroupId = kafka.GroupId + ".aggregates",
        AutoOffsetReset = AutoOffsetReset.Earliest,
        EnableAutoCommit = false,
        IsolationLevel = IsolationLevel.ReadCommitted,
        FetchWaitMaxMs = 50,
        EnablePartitionEof = true,
    };
}

internal static partial class FeedLog
{
    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "writing {AggregatesTopic} and {AlertsTopic} to {Sink}")]
    public static partial void Started(ILogger logger, string aggregatesTopic, string alertsTopic, string sink);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Warning, Message = "the feed left its consumer group and rejoins; what it wrote since its last commit is read again and ignored: {Reason}")]
    public static partial void Rejoining(ILogger logger, string reason);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Error, Message = "unreadable message at {Topic}/{Partition}@{Offset} passed over: {Reason}")]
    public static partial void Unreadable(ILogger logger, string topic, int partition, long offset, string reason);
}
