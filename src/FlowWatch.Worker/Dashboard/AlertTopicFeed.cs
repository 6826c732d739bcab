using System.Text.Json;
using Confluent.Kafka;
using FlowWatch.Worker.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FlowWatch.Worker.Dashboard;

/// <summary>
/// With <see cref="DashboardOptions.AlertsFromTopic"/>, fills the dashboard's <see cref="AlertFeed"/> with the alerts of
/// every worker of the group instead of this worker's own: a worker holds only its partitions' alerts, so with several
/// workers each dashboard would show a part. It reads every partition of the alerts topic read_committed (what any
/// worker committed, as bank systems see it), starting with the newest <see cref="DashboardOptions.RecentAlerts"/> of
/// each. Those written before this dashboard started (by their messages' timestamps) fill the list without counting as
/// alerts since the start; what was written later counts, though it is read only once the broker and the topic are
/// there, which may be well after the start. No consumer group is joined:
/// nothing is committed, and every dashboard reads everything. Partitions added to the topic later are read after a restart.
/// </summary>
public sealed class AlertTopicFeed(StreamingWorker worker, IOptions<DashboardOptions> dashboard, AlertFeed feed, TimeProvider clock,
    ILogger<AlertTopicFeed> logger) : BackgroundService
{
    private const int MaxBatch = 1_000;

    /// <summary>How long one request about the topic may take: short, so that a stop while no broker answers ends soon.</summary>
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(2);

    /// <summary>How long the start's reading of what the topic already held may take before the feed goes live.</summary>
    private static readonly TimeSpan CatchUpLimit = TimeSpan.FromSeconds(30);

    private readonly DateTime _startedAt = clock.GetUtcNow().UtcDateTime;

    private volatile Error? _fatal;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => !dashboard.Value.AlertsFromTopic
        ? Task.CompletedTask
        : Task.Factory.StartNew(() => Run(stoppingToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Run(CancellationToken stop)
    {
        var kafka = worker.Options;
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(new ConsumerConfig(new Dictionary<string, string>(kafka.Client))
            {
                BootstrapServers = kafka.BootstrapServers,
                // Required by the client, never joined: partitions are assigned, nothing is committed.
                GroupId = kafka.GroupId + ".dashboard",
                EnableAutoCommit = false,
                IsolationLevel = IsolationLevel.ReadCommitted,
                FetchWaitMaxMs = 50,
                EnablePartitionEof = true,
            })
            .LogTo(logger, "dashboard alert feed", error =>
            {
                if (error.IsFatal) _fatal = error;
            })
            .Build();
        try
        {
            CatchUp(consumer, Assign(consumer, kafka.AlertsTopic, stop), stop);
            var batch = new List<PublishedAlert>();
            var earlier = false;
            while (!stop.IsCancellationRequested)
            {
                if (_fatal is { } fatal) throw new KafkaException(fatal);
                var result = consumer.ConsumeOrNothing(TimeSpan.FromMilliseconds(batch.Count == 0 ? 100 : 0));
                if (result?.Message?.Value is { } json)
                {
                    var isEarlier = result.Message.Timestamp.UtcDateTime < _startedAt;
                    if (batch.Count > 0 && isEarlier != earlier) Publish(batch, earlier);
                    earlier = isEarlier;
                    if (Read(result, json) is { } alert) batch.Add(alert);
                    if (batch.Count < MaxBatch) continue;
                }
                if (batch.Count > 0) Publish(batch, earlier);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // stopping
        }
        finally
        {
            consumer.Close();
        }
    }

    /// <summary>
    /// Reads the partitions up to where they ended when assigned (<paramref name="toRead"/>: partition → end offset, for
    /// those that held anything to read) and publishes what they held in the order it was written, by the messages'
    /// timestamps: the list and the live stream then begin in time order across partitions, and the feed's ring keeps
    /// the newest. A partition that cannot be read to its end within <see cref="CatchUpLimit"/> is left to the live loop.
    /// </summary>
    private void CatchUp(IConsumer<Ignore, byte[]> consumer, Dictionary<int, long> toRead, CancellationToken stop)
    {
        var held = new List<(DateTime At, PublishedAlert Alert)>();
        var deadline = SteadyClock.Now + CatchUpLimit;
        while (toRead.Count > 0 && SteadyClock.Now < deadline)
        {
            stop.ThrowIfCancellationRequested();
            if (_fatal is { } fatal) throw new KafkaException(fatal);
            if (consumer.ConsumeOrNothing(TimeSpan.FromMilliseconds(100)) is not { } result) continue;
            if (!result.IsPartitionEOF && result.Message?.Value is { } json && Read(result, json) is { } alert)
            {
                held.Add((result.Message.Timestamp.UtcDateTime, alert));
            }
            // The end as it was at the assignment: a transaction's marker after the last alert ends a partition too.
            if (result.IsPartitionEOF || result.Offset.Value + 1 >= toRead.GetValueOrDefault(result.Partition.Value, long.MaxValue))
            {
                toRead.Remove(result.Partition.Value);
            }
        }
        var inOrder = held.OrderBy(h => h.At).ToList();
        var earlier = inOrder.TakeWhile(h => h.At < _startedAt).Select(h => h.Alert).ToList();
        if (earlier.Count > 0) feed.Publish(earlier, countAsNew: false);
        if (inOrder.Count > earlier.Count) feed.Publish([.. inOrder.Skip(earlier.Count).Select(h => h.Alert)]);
    }

    private void Publish(List<PublishedAlert> batch, bool earlier)
    {
        feed.Publish(batch, countAsNew: !earlier);
        batch.Clear();
    }

    /// <summary>
    /// Assigns every partition of <paramref name="topic"/> from its newest RecentAlerts; answers, for each partition with
    /// something to read, its end offset.
    /// </summary>
    private Dictionary<int, long> Assign(IConsumer<Ignore, byte[]> consumer, string topic, CancellationToken stop)
    {
        using var admin = new DependentAdminClientBuilder(consumer.Handle).Build();
        for (var pause = TimeSpan.FromSeconds(1); ; pause = TimeSpan.FromSeconds(Math.Min(pause.TotalSeconds * 2, 30)))
        {
            try
            {
                var metadata = admin.GetMetadata(topic, RequestTimeout).Topics.Single();
                var partitions = metadata.Partitions;
                if (partitions.Count == 0)
                {
                    // The topic's own error says why when there is one (not authorised, unknown).
                    DashboardLog.AlertsTopicUnavailable(logger, topic,
                        metadata.Error.Code == ErrorCode.NoError ? "the broker knows no partition of it" : metadata.Error.Reason);
                }
                else
                {
                    var ends = partitions.ToDictionary(p => p.PartitionId,
                        p => consumer.QueryWatermarkOffsets(new TopicPartition(topic, p.PartitionId), RequestTimeout));
                    var from = ends.ToDictionary(e => e.Key, e => Math.Max(e.Value.Low.Value, e.Value.High.Value - dashboard.Value.RecentAlerts));
                    consumer.Assign(from.Select(f => new TopicPartitionOffset(topic, f.Key, f.Value)));
                    DashboardLog.ReadingAlerts(logger, topic, ends.Count);
                    return ends.Where(e => e.Value.High.Value > from[e.Key]).ToDictionary(e => e.Key, e => e.Value.High.Value);
                }
            }
            catch (KafkaException ex) when (!ex.Error.IsFatal)
            {
                DashboardLog.AlertsTopicUnavailable(logger, topic, ex.Error.Reason);
            }
            // The broker out of reach or the topic not there yet: the worker waits for them too.
            stop.WaitHandle.WaitOne(pause);
            stop.ThrowIfCancellationRequested();
        }
    }

    /// <summary>
    /// An alert as its producer wrote it, on one line: the live stream sends each alert as one <c>data:</c> line, which a
    /// line break of indented JSON would end. In JSON a raw line break can only be whitespace between tokens (inside a
    /// string it is escaped), so a space stands for it.
    /// </summary>
    private static byte[] OnOneLine(byte[] json)
    {
        if (json.AsSpan().IndexOfAny((byte)'\r', (byte)'\n') < 0) return json;
        var line = (byte[])json.Clone();
        line.AsSpan().Replace((byte)'\r', (byte)' ');
        line.AsSpan().Replace((byte)'\n', (byte)' ');
        return line;
    }

    private PublishedAlert? Read(ConsumeResult<Ignore, byte[]> result, byte[] json)
    {
        try
        {
            return PublishedAlert.Of(PublishedAlert.Read(json), OnOneLine(json));
        }
        catch (JsonException ex)
        {
            // Only FlowWatch writes the alerts topic; a message it cannot read is reported and passed over.
            DashboardLog.UnreadableAlert(logger, result.Topic, result.Partition.Value, result.Offset.Value, ex.Message);
            return null;
        }
    }
}
