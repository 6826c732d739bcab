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
public sealed class AggregateFeed(KafkaOptions kafka, AggregateOptions options, AggregateWriter writer, ILogger logger,
    FeedCounters? counters = null)
{
    private readonly FeedCounters _counters = counters ?? new();
    private volatile Error? _fatal;
    // Where each partition was last read to its end, and how many rows were read and not yet written: what
    // WaitUntilWrittenAsync answers from.
    private readonly ConcurrentDictionary<TopicPartition, long> _readToEnd = new();
    private int _unwritten;

    public Task RunAsync(CancellationToken stop) => Task.Factory.StartNew(() => Run(stop), CancellationToken.None,
        TaskCreationOptions.LongRunning, TaskScheduler.Default);

    // Positions to commit as soon as the partitions are assigned (past messages deleted unwritten, or up to rows written
    // whose commit failed), kept until a commit succeeds, so that a loss is said once and not at every start.
    private readonly Dictionary<TopicPartition, long> _positionsToCommit = [];

    // How far this feed has handled each partition: written to the sink, or said lost. A commit that failed (the group
    // moved on while the sink was slow) leaves the committed position behind it; what lies between is not lost.
    private readonly Dictionary<TopicPartition, long> _handledTo = [];

    private void Run(CancellationToken stop)
    {
        while (RunSession(stop))
        {
            // A position its topic no longer holds ended the session: the next one's assignment says what was lost.
            stop.WaitHandle.WaitOne(TimeSpan.FromSeconds(1));
        }
    }

    /// <summary>Feeds the sink until a stop (false) or until a partition's position is gone from its topic (true).</summary>
    private bool RunSession(CancellationToken stop)
    {
        var config = ConsumerConfig();
        // A reset would pass over messages deleted before they were written; they are said and counted instead
        // (StartPositions), and a partition without a committed position starts at its first message kept.
        config.AutoOffsetReset = AutoOffsetReset.Error;
        var pending = new PendingRows();
        using var consumer = new ConsumerBuilder<string?, byte[]>(config)
            .LogTo(logger, "aggregate feed", error =>
            {
                if (error.IsFatal) _fatal = error;
            })
            .SetPartitionsAssignedHandler(StartPositions)
            // Partitions given up are not committed by this feed any more (their new owner may be ahead of it); their
            // rows read are still written, which the sink ignores if the new owner wrote them too.
            .SetPartitionsRevokedHandler((_, revoked) =>
            {
                foreach (var partition in revoked)
                {
                    pending.Positions.Remove(partition.TopicPartition);
                    _positionsToCommit.Remove(partition.TopicPartition);
                }
            })
            .Build();
        consumer.Subscribe([kafka.AggregatesTopic, kafka.AlertsTopic]);
        FeedLog.Started(logger, kafka.AggregatesTopic, kafka.AlertsTopic, writer.Sink.Description);
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
                catch (ConsumeException ex) when (ex.Error.Code == ErrorCode.Local_AutoOffsetReset)
                {
                    // The topic's retention deleted messages this feed had not read yet (a sink away for longer than
                    // the retention), or the topic was recreated. What was read is written first, so that the next
                    // session's assignment starts from where this one got to.
                    var position = ex.ConsumerRecord?.TopicPartitionOffset;
                    FeedLog.PositionDeleted(logger, position?.Topic ?? "?", position?.Partition.Value ?? -1, position?.Offset.Value ?? -1);
                    CommitPositionsDue(consumer);
                    Flush(consumer, pending, stop);
                    return true;
                }
                catch (ConsumeException ex) when (!ex.Error.IsFatal)
                {
                    // Most often a write that outlasted the group's poll interval (the sink was down long): the feed
                    // rejoins on the next poll and reads again from its committed offsets, rows the sink ignores.
                    FeedLog.Rejoining(logger, ex.Error.Reason);
                    continue;
                }
                CommitPositionsDue(consumer);
                if (result is { IsPartitionEOF: true })
                {
                    _readToEnd[result.TopicPartition] = result.Offset.Value;
                }
                else if (result is { Message.Value: { } value })
                {
                    pending.Add(result, value, kafka.AlertsTopic, logger);
                    Volatile.Write(ref _unwritten, pending.Rows);
                }
                if (pending.Rows > 0 && (pending.Rows >= options.MaxRows || SteadyClock.Now - pending.Since >= options.FlushInterval))
                {
                    Flush(consumer, pending, stop);
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
        return false;
    }

    /// <summary>Writes the rows read to the sink, then commits the positions after them.</summary>
    private void Flush(IConsumer<string?, byte[]> consumer, PendingRows pending, CancellationToken stop)
    {
        if (pending.Rows > 0) writer.WriteAsync(pending.Batch(), stop).GetAwaiter().GetResult();
        foreach (var (partition, next) in pending.Positions) Handled(partition, next.Value);
        if (pending.Positions.Count > 0 && CommitOrRejoin(consumer, pending.Positions.Select(p => new TopicPartitionOffset(p.Key, p.Value))))
        {
            foreach (var partition in pending.Positions.Keys) _positionsToCommit.Remove(partition);   // committed past them
        }
        pending.Clear();
        Volatile.Write(ref _unwritten, 0);
    }

    private void Handled(TopicPartition partition, long to)
    {
        if (!_handledTo.TryGetValue(partition, out var before) || to > before) _handledTo[partition] = to;
    }

    private void CommitPositionsDue(IConsumer<string?, byte[]> consumer)
    {
        if (_positionsToCommit.Count > 0 && CommitOrRejoin(consumer, _positionsToCommit.Select(p => new TopicPartitionOffset(p.Key, p.Value))))
        {
            _positionsToCommit.Clear();
        }
    }

    /// <summary>Commits <paramref name="positions"/>; false when the group had moved on, and the feed rejoins it.</summary>
    private bool CommitOrRejoin(IConsumer<string?, byte[]> consumer, IEnumerable<TopicPartitionOffset> positions)
    {
        try
        {
            consumer.Commit(positions);
            return true;
        }
        catch (KafkaException ex) when (!ex.Error.IsFatal)
        {
            // The group moved on meanwhile (as above): these messages are read again, rows the sink ignores.
            FeedLog.Rejoining(logger, ex.Error.Reason);
            return false;
        }
    }

    /// <summary>
    /// Where each assigned partition starts: after what it committed or this feed handled since (written, or said lost,
    /// whose commit may have failed); at its first message kept when there is neither (a first start) or when its topic
    /// was recreated since; and past the messages its retention deleted before they were written, which are said (event
    /// 2104) and counted, once. A broker that does not answer leaves the committed positions to the consumer, which
    /// stops at one its topic no longer holds, and the next session looks again.
    /// </summary>
    private List<TopicPartitionOffset> StartPositions(IConsumer<string?, byte[]> consumer, List<TopicPartition> assigned)
    {
        var timeout = TimeSpan.FromSeconds(10);
        var starts = new List<TopicPartitionOffset>(assigned.Count);
        List<TopicPartitionOffset> committed;
        try
        {
            committed = consumer.Committed(assigned, timeout);
        }
        catch (KafkaException)
        {
            return [.. assigned.Select(partition => new TopicPartitionOffset(partition, Offset.Unset))];
        }
        foreach (var position in committed)
        {
            var partition = position.TopicPartition;
            var from = Math.Max(position.Offset == Offset.Unset ? -1 : position.Offset.Value, _handledTo.GetValueOrDefault(partition, -1));
            if (from < 0)
            {
                starts.Add(new TopicPartitionOffset(partition, Offset.Beginning));
                continue;
            }
            WatermarkOffsets kept;
            try
            {
                kept = consumer.QueryWatermarkOffsets(partition, timeout);
            }
            catch (KafkaException)
            {
                starts.Add(new TopicPartitionOffset(partition, from));
                continue;
            }
            if (from < kept.Low)
            {
                FeedLog.DeletedUnwritten(logger, position.Topic, position.Partition.Value, from, kept.Low.Value);
                _counters.AddDeletedUnwritten(kept.Low.Value - from);
                Handled(partition, kept.Low.Value);
                from = kept.Low.Value;
            }
            else if (from > kept.High)
            {
                FeedLog.TopicRecreated(logger, position.Topic, position.Partition.Value, from, kept.High.Value);
                starts.Add(new TopicPartitionOffset(partition, Offset.Beginning));
                continue;
            }
            var start = new TopicPartitionOffset(partition, from);
            if (from > position.Offset.Value) _positionsToCommit[partition] = from;
            starts.Add(start);
        }
        return starts;
    }

    /// <summary>What the feed has read and not yet written: rows, alerts, and the positions after them.</summary>
    private sealed class PendingRows
    {
        private readonly List<Core.Aggregates.AggregateBatch> _aggregates = [];
        private readonly List<Alert> _alerts = [];

        public Dictionary<TopicPartition, Offset> Positions { get; } = [];

        public int Rows { get; private set; }

        /// <summary>When the first of the rows was read.</summary>
        public DateTime Since { get; private set; }

        public void Add(ConsumeResult<string?, byte[]> result, byte[] value, string alertsTopic, ILogger logger)
        {
            if (Rows == 0) Since = SteadyClock.Now;
            try
            {
                if (result.Topic == alertsTopic)
                {
                    _alerts.Add(PublishedAlert.Read(value));
                    Rows++;
                }
                else
                {
                    var batch = AggregatePublisher.Read(value);
                    _aggregates.Add(batch);
                    Rows += batch.RowCount;
                }
            }
            catch (JsonException ex)
            {
                // Only FlowWatch writes these topics; a message it cannot read is reported and passed over.
                FeedLog.Unreadable(logger, result.Topic, result.Partition.Value, result.Offset.Value, ex.Message);
            }
            Positions[result.TopicPartition] = result.Offset + 1;
        }

        public SinkBatch Batch() => new([.. _aggregates], [.. _alerts]);

        public void Clear()
        {
            _aggregates.Clear();
            _alerts.Clear();
            Positions.Clear();
            Rows = 0;
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

/// <summary>What the aggregate feed counts for the worker's metrics.</summary>
public sealed class FeedCounters
{
    private long _deletedUnwritten;

    /// <summary>
    /// Offsets of the aggregates and alerts topics that their retention deleted before the feed wrote them to the sink,
    /// since the process started (event 2104): rows and alerts missing from the sink.
    /// </summary>
    public long DeletedUnwritten => Interlocked.Read(ref _deletedUnwritten);

    internal void AddDeletedUnwritten(long offsets) => Interlocked.Add(ref _deletedUnwritten, offsets);
}

internal static partial class FeedLog
{
    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "writing {AggregatesTopic} and {AlertsTopic} to {Sink}")]
    public static partial void Started(ILogger logger, string aggregatesTopic, string alertsTopic, string sink);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Warning, Message = "the feed left its consumer group and rejoins; what it wrote since its last commit is read again and ignored: {Reason}")]
    public static partial void Rejoining(ILogger logger, string reason);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Error, Message = "unreadable message at {Topic}/{Partition}@{Offset} passed over: {Reason}")]
    public static partial void Unreadable(ILogger logger, string topic, int partition, long offset, string reason);

    [LoggerMessage(EventId = 2104, Level = LogLevel.Error,
        Message = "{Topic} [{Partition}]: messages {From} to {To} (exclusive) were deleted (the topic's retention) before the feed wrote them; their rows and alerts are missing from the sink, and the feed goes on from offset {To}")]
    public static partial void DeletedUnwritten(ILogger logger, string topic, int partition, long from, long to);

    [LoggerMessage(EventId = 2105, Level = LogLevel.Error,
        Message = "{Topic} [{Partition}] no longer holds the feed's position {Offset} (its retention deleted messages before they were read, or the topic was recreated); what was read is written, and the feed starts again from its committed positions")]
    public static partial void PositionDeleted(ILogger logger, string topic, int partition, long offset);

    [LoggerMessage(EventId = 2106, Level = LogLevel.Warning,
        Message = "{Topic} [{Partition}] ends at offset {End}, before the feed's committed position {Offset}: the topic was recreated, and the feed reads it from its start (rows the sink holds already are ignored)")]
    public static partial void TopicRecreated(ILogger logger, string topic, int partition, long offset, long end);
}
