using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using FlowWatch.Core.Aggregates;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Serialization;
using FlowWatch.Worker.Aggregates;
using FlowWatch.Worker.Kafka;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FlowWatch.Integration.Tests.Aggregates;

/// <summary>The feed from the aggregates topic to the sink, through the embedded broker into a DuckDB file.</summary>
public sealed class AggregateFeedTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flowwatch-feed-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A DuckDB file whose first write takes as long as a server that is away for a while.</summary>
    private sealed class SlowFirstWrite(IAggregateSink sink, TimeSpan delay) : IAggregateSink
    {
        private int _writes;

        /// <summary>Writes begun, the slow first one included.</summary>
        public int Writes => Volatile.Read(ref _writes);

        public string Description => sink.Description;

        public Task MigrateAsync(CancellationToken cancellation) => sink.MigrateAsync(cancellation);

        public async Task WriteAsync(SinkBatch batch, CancellationToken cancellation)
        {
            if (Interlocked.Increment(ref _writes) == 1) await Task.Delay(delay, cancellation);
            await sink.WriteAsync(batch, cancellation);
        }

        public Task<IReadOnlyList<string[]>> QueryAsync(string sql, CancellationToken cancellation) => sink.QueryAsync(sql, cancellation);

        public bool IsTransient(Exception failure) => sink.IsTransient(failure);

        public ValueTask DisposeAsync() => sink.DisposeAsync();
    }

    /// <summary>A DuckDB file in the test's folder, its tables made, whose first write takes <paramref name="firstWrite"/>.</summary>
    private async Task<SlowFirstWrite> SlowDuckDb(TimeSpan firstWrite)
    {
        var duckDb = new DuckDbSink(Path.Combine(_dir, "flows.duckdb"));
        await duckDb.MigrateAsync(CancellationToken.None);
        return new SlowFirstWrite(duckDb, firstWrite);
    }

    /// <summary>A feed of the topics into the test's DuckDB file, running until disposed.</summary>
    private sealed class FeedRun(SlowFirstWrite sink, AggregateWriter writer, AggregateFeed feed, CancellationTokenSource stop) : IAsyncDisposable
    {
        public SlowFirstWrite Sink => sink;

        public AggregateFeed Feed => feed;

        public Task Running { get; } = feed.RunAsync(stop.Token);

        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync();
            await Running;
            await writer.DisposeAsync();
            await sink.DisposeAsync();
            stop.Dispose();
        }
    }

    /// <summary>
    /// Starts a feed of <paramref name="kafka"/>'s topics into the test's DuckDB file, whose first write takes
    /// <paramref name="firstWrite"/>, flushing every 100 ms.
    /// </summary>
    private async Task<FeedRun> StartFeed(KafkaOptions kafka, TimeSpan firstWrite, ILogger? logger = null, FeedCounters? counters = null)
    {
        var sink = await SlowDuckDb(firstWrite);
        var options = new AggregateOptions { FlushInterval = TimeSpan.FromMilliseconds(100) };
        var writer = new AggregateWriter(sink, options, NullLogger.Instance);
        return new FeedRun(sink, writer, new AggregateFeed(kafka, options, writer, logger ?? NullLogger.Instance, counters), new CancellationTokenSource());
    }

    /// <summary>
    /// Runs a feed until the sink holds what the topics hold: the payments the sink counts, and whether the feed had
    /// stopped by then.
    /// </summary>
    private async Task<(string Events, bool FeedStopped)> FeedUntilWritten(KafkaOptions kafka, TimeSpan firstWrite,
        ILogger? logger = null, FeedCounters? counters = null)
    {
        await using var run = await StartFeed(kafka, firstWrite, logger, counters);
        await run.Feed.WaitUntilWrittenAsync(run.Running, stalledFor: TimeSpan.FromSeconds(30));
        return (await Events(run.Sink), run.Running.IsCompleted);
    }

    private static byte[] Batch(string id, long minuteTicks) => JsonSerializer.SerializeToUtf8Bytes(new AggregateBatch(id,
        [new PaymentsMinuteRow("E1", minuteTicks, AccountKind.FTE, Channel.CrossBorder, Direction.In, "USD", 1, 10m, 71m)], [], []),
        FlowWatchJsonContext.Default.AggregateBatch);

    [Fact]
    public async Task WaitUntilWritten_SlowSink_ReturnsOnceTheSinkHoldsEverythingOnTheTopics()
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var kafka = new KafkaOptions { BootstrapServers = broker.BootstrapServers, GroupId = "until-written", PublishAggregates = true };
        broker.CreateFlowWatchTopics(kafka, partitions: 2);
        using (var producer = new ProducerBuilder<string?, byte[]>(new ProducerConfig { BootstrapServers = broker.BootstrapServers }).Build())
        {
            var minute = new DateTimeOffset(2026, 3, 2, 9, 0, 0, TimeSpan.FromHours(8)).UtcTicks;
            for (var i = 0; i < 3; i++)
            {
                producer.Produce(new TopicPartition(kafka.AggregatesTopic, i % 2), new Message<string?, byte[]>
                {
                    Key = "a", Value = Batch($"payments/{i % 2}@{i}-{i}", minute + i * TimeSpan.TicksPerMinute),
                });
            }
            producer.Flush(TimeSpan.FromSeconds(10));
        }
        // A write that takes far longer than the feed's flush interval, with nothing written meanwhile.
        var (events, _) = await FeedUntilWritten(kafka, firstWrite: TimeSpan.FromSeconds(3));

        Assert.Equal("3", events);
    }

    /// <summary>
    /// Messages that read as JSON but lack what a row or an alert needs are passed over like unreadable ones. They used
    /// to stop the feed (a null list, or a null alert reaching the sink), and again after every restart.
    /// </summary>
    [Fact]
    public async Task Feed_MessagesLackingWhatTheSinkNeeds_ArePassedOverAndTheRestWritten()
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var kafka = new KafkaOptions { BootstrapServers = broker.BootstrapServers, GroupId = "lacking", PublishAggregates = true };
        broker.CreateFlowWatchTopics(kafka, partitions: 1);
        var minute = new DateTimeOffset(2026, 3, 2, 9, 0, 0, TimeSpan.FromHours(8)).UtcTicks;
        using (var producer = new ProducerBuilder<string?, byte[]>(new ProducerConfig { BootstrapServers = broker.BootstrapServers }).Build())
        {
            string[] lacking =
            [
                "null", """{"batchId":"payments/0@0-0"}""", """{"batchId":"payments/0@1-1","payments":[{"minuteTicks":1}],"corridors":[],"positions":[]}""",
                """{"batchId":"payments/0@2-2","payments":[],"corridors":[],"positions":[null]}""",
            ];
            foreach (var value in lacking)
            {
                producer.Produce(kafka.AggregatesTopic, new Message<string?, byte[]> { Key = "a", Value = Encoding.UTF8.GetBytes(value) });
            }
            producer.Produce(kafka.AlertsTopic, new Message<string?, byte[]> { Key = "E1", Value = "null"u8.ToArray() });
            producer.Produce(kafka.AggregatesTopic, new Message<string?, byte[]> { Key = "a", Value = Batch("payments/0@3-3", minute) });
            producer.Flush(TimeSpan.FromSeconds(10));
        }
        var (events, feedStopped) = await FeedUntilWritten(kafka, firstWrite: TimeSpan.Zero);

        Assert.False(feedStopped, "the feed stopped");
        Assert.Equal("1", events);
    }

    [Fact]
    public async Task Feed_WhoseWriteOutlastsTheGroupsPollInterval_KeepsFeedingTheSink()
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var kafka = new KafkaOptions
        {
            BootstrapServers = broker.BootstrapServers, GroupId = "slow-sink", PublishAggregates = true,
            // 6 s stands for the default 300 s, against a sink away for longer.
            Client = new() { ["max.poll.interval.ms"] = "6000", ["session.timeout.ms"] = "6000" },
        };
        broker.CreateFlowWatchTopics(kafka, partitions: 1);
        await using var run = await StartFeed(kafka, firstWrite: TimeSpan.FromSeconds(10));
        using var producer = new ProducerBuilder<string?, byte[]>(new ProducerConfig { BootstrapServers = broker.BootstrapServers }).Build();
        var minute = new DateTimeOffset(2026, 3, 2, 9, 0, 0, TimeSpan.FromHours(8)).UtcTicks;

        producer.Produce(kafka.AggregatesTopic, new Message<string?, byte[]> { Key = "a", Value = Batch("payments/0@0-0", minute) });
        producer.Flush(TimeSpan.FromSeconds(10));
        await Task.Delay(TimeSpan.FromSeconds(14));   // the first write ends after 10 s, past the poll interval
        producer.Produce(kafka.AggregatesTopic, new Message<string?, byte[]> { Key = "a", Value = Batch("payments/0@1-1", minute + TimeSpan.TicksPerMinute) });
        producer.Flush(TimeSpan.FromSeconds(10));

        await Until(async () => await Events(run.Sink) == "2", run.Running);
    }

    /// <summary>
    /// Rows the aggregates topic's retention deleted before the feed wrote them (a sink away for longer than the
    /// retention): said, with which offsets, and counted, where a consumer's reset would pass over them unseen; the
    /// position past them is committed, so that the next start does not say the loss again.
    /// </summary>
    [Fact]
    public async Task Feed_MessagesDeletedBeforeTheyWereWritten_SaysWhichOnceAndCountsThem()
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var kafka = new KafkaOptions { BootstrapServers = broker.BootstrapServers, GroupId = "deleted-unwritten", PublishAggregates = true, Client = RejoinSoon };
        broker.CreateFlowWatchTopics(kafka, partitions: 1);
        ProduceBatches(broker, kafka, 0..3);
        var (first, _) = await FeedUntilWritten(kafka, firstWrite: TimeSpan.Zero);
        ProduceBatches(broker, kafka, 3..6);
        // All of them: nothing after the gap moves the committed position past it, but the feed's own commit.
        broker.DeleteRecords(kafka.AggregatesTopic, 0, 6);

        var (secondLines, secondCounters) = (new List<string>(), new FeedCounters());
        await using (var run = await StartFeed(kafka, TimeSpan.Zero, new LineLogger(Locked(secondLines)), secondCounters))
        {
            await Until(() => Task.FromResult(secondCounters.DeletedUnwritten > 0), run.Running);
            await Task.Delay(TimeSpan.FromSeconds(1));   // its commit past them, made at once
        }
        ProduceBatches(broker, kafka, 6..7);
        var (thirdLines, thirdCounters) = (new List<string>(), new FeedCounters());
        var (third, _) = await FeedUntilWritten(kafka, TimeSpan.Zero, new LineLogger(Locked(thirdLines)), thirdCounters);

        Assert.Equal(("3", "4"), (first, third));
        Assert.Equal([Deleted(kafka, 3, 6)], Snapshot(secondLines).Where(line => line.Contains("deleted", StringComparison.Ordinal)));
        Assert.Equal(3, secondCounters.DeletedUnwritten);
        Assert.DoesNotContain(thirdLines, line => line.Contains("deleted", StringComparison.Ordinal));
        Assert.Equal(0, thirdCounters.DeletedUnwritten);
    }

    private static string Deleted(KafkaOptions kafka, long from, long to) =>
        $"{kafka.AggregatesTopic} [0]: messages {from} to {to} (exclusive) were deleted (the topic's retention) before the feed wrote them; "
        + $"their rows and alerts are missing from the sink, and the feed goes on from offset {to}";

    /// <summary>
    /// A commit past the deleted messages that the group refuses (it moved on) is made again after the feed rejoins: the
    /// loss is said and counted once, in that run and at the next start.
    /// </summary>
    [Fact]
    public async Task Feed_CommitPastDeletedMessagesRefused_SaysAndCountsTheLossOnce()
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var kafka = new KafkaOptions { BootstrapServers = broker.BootstrapServers, GroupId = "deleted-commit-refused", PublishAggregates = true, Client = RejoinSoon };
        broker.CreateFlowWatchTopics(kafka, partitions: 1);
        ProduceBatches(broker, kafka, 0..3);
        await FeedUntilWritten(kafka, firstWrite: TimeSpan.Zero);
        ProduceBatches(broker, kafka, 3..6);
        broker.DeleteRecords(kafka.AggregatesTopic, 0, 6);
        broker.FailNextRequests(OffsetCommit, ErrorCode.UnknownMemberId);

        var (lines, counters) = (new List<string>(), new FeedCounters());
        await using (var run = await StartFeed(kafka, TimeSpan.Zero, new LineLogger(Locked(lines)), counters))
        {
            await Until(() => Task.FromResult(Snapshot(lines).Count(line => line.StartsWith("the feed left its consumer group", StringComparison.Ordinal)) == 1), run.Running);
            await Task.Delay(TimeSpan.FromSeconds(15));   // rejoined (the embedded broker waits out the 6 s session), and committed
        }
        ProduceBatches(broker, kafka, 6..7);   // so that the next start reads on, once it has its partitions
        var (nextLines, nextCounters) = (new List<string>(), new FeedCounters());
        await FeedUntilWritten(kafka, TimeSpan.Zero, new LineLogger(Locked(nextLines)), nextCounters);

        Assert.Equal([Deleted(kafka, 3, 6)], Snapshot(lines).Where(line => line.Contains("deleted", StringComparison.Ordinal)));
        Assert.Equal(3, counters.DeletedUnwritten);
        Assert.DoesNotContain(nextLines, line => line.Contains("deleted", StringComparison.Ordinal));
        Assert.Equal(0, nextCounters.DeletedUnwritten);
    }

    /// <summary>
    /// Rows written whose commit the group refused (the write outlasted its poll interval) are not lost when retention
    /// deletes them meanwhile: the feed goes on after what it wrote, and says nothing of a loss.
    /// </summary>
    [Fact]
    public async Task Feed_RowsWrittenWhoseCommitWasRefusedThenDeleted_AreNotSaidLost()
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var kafka = new KafkaOptions
        {
            BootstrapServers = broker.BootstrapServers, GroupId = "written-then-deleted", PublishAggregates = true,
            Client = new() { ["max.poll.interval.ms"] = "6000", ["session.timeout.ms"] = "6000" },
        };
        broker.CreateFlowWatchTopics(kafka, partitions: 1);
        ProduceBatches(broker, kafka, 0..3);
        await FeedUntilWritten(kafka, firstWrite: TimeSpan.Zero);
        ProduceBatches(broker, kafka, 3..6);
        var (lines, counters) = (new List<string>(), new FeedCounters());
        await using (var run = await StartFeed(kafka, TimeSpan.FromSeconds(10), new LineLogger(Locked(lines)), counters))
        {
            await Until(() => Task.FromResult(run.Sink.Writes >= 1), run.Running);   // writing 3 to 5, for 10 s
            await Task.Delay(500);

            broker.DeleteRecords(kafka.AggregatesTopic, 0, 6);
            await Until(async () => await Events(run.Sink) == "6", run.Running);
            ProduceBatches(broker, kafka, 6..7);
            await Until(async () => await Events(run.Sink) == "7", run.Running);   // rejoined and read on
        }

        Assert.Contains(Snapshot(lines), line => line.StartsWith("the feed left its consumer group", StringComparison.Ordinal));
        Assert.DoesNotContain(Snapshot(lines), line => line.Contains("deleted", StringComparison.Ordinal));
        Assert.Equal(0, counters.DeletedUnwritten);
    }

    /// <summary>The Kafka protocol's OffsetCommit request.</summary>
    private const short OffsetCommit = 8;

    /// <summary>
    /// While running, a position the topic no longer holds ends the feed's session after what it read is written; the
    /// next session starts from the committed positions and finds nothing lost (the broker only answered a fetch so).
    /// </summary>
    [Fact]
    public async Task Feed_PositionOutOfRangeWhileRunning_StartsAgainAndLosesNothing()
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var kafka = new KafkaOptions { BootstrapServers = broker.BootstrapServers, GroupId = "feed-out-of-range", PublishAggregates = true, Client = RejoinSoon };
        broker.CreateFlowWatchTopics(kafka, partitions: 1);
        var (lines, counters) = (new List<string>(), new FeedCounters());
        await using (var run = await StartFeed(kafka, TimeSpan.Zero, new LineLogger(Locked(lines)), counters))
        {
            ProduceBatches(broker, kafka, 0..3);
            await Until(async () => await Events(run.Sink) == "3", run.Running);

            broker.FailNextRequests(Fetch, ErrorCode.OffsetOutOfRange);
            // The broker answers whichever fetch comes next so: the aggregates' partition's, or the alerts'.
            await Until(() => Task.FromResult(Snapshot(lines).Any(line => line.Contains("no longer holds the feed's position ", StringComparison.Ordinal))), run.Running);
            ProduceBatches(broker, kafka, 3..6);
            await Until(async () => await Events(run.Sink) == "6", run.Running);
        }

        Assert.Equal(2, Snapshot(lines).Count(line => line.StartsWith("writing ", StringComparison.Ordinal)));
        Assert.DoesNotContain(Snapshot(lines), line => line.Contains("were deleted", StringComparison.Ordinal));
        Assert.Equal(0, counters.DeletedUnwritten);
    }

    /// <summary>The Kafka protocol's Fetch request.</summary>
    private const short Fetch = 1;

    /// <summary>
    /// The embedded broker gives a group's partitions to a new member only once the member that left has timed out:
    /// 6 s, in place of the default 45 s, for a feed started again in the same group.
    /// </summary>
    private static Dictionary<string, string> RejoinSoon => new() { ["session.timeout.ms"] = "6000" };

    private static void ProduceBatches(EmbeddedBroker broker, KafkaOptions kafka, Range batches)
    {
        var minute = new DateTimeOffset(2026, 3, 2, 9, 0, 0, TimeSpan.FromHours(8)).UtcTicks;
        using var producer = new ProducerBuilder<string?, byte[]>(new ProducerConfig { BootstrapServers = broker.BootstrapServers }).Build();
        for (var i = batches.Start.Value; i < batches.End.Value; i++)
        {
            producer.Produce(new TopicPartition(kafka.AggregatesTopic, 0), new Message<string?, byte[]>
            {
                Key = "a", Value = Batch($"payments/0@{i}-{i}", minute + i * TimeSpan.TicksPerMinute),
            });
        }
        Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(10)));
    }

    private static async Task<string> Events(IAggregateSink sink) =>
        (await sink.QueryAsync("SELECT coalesce(sum(events), 0) FROM payments_minute", CancellationToken.None)).Single().Single();

    /// <summary>Waits up to 30 s for <paramref name="done"/>; fails at once should the feed stop meanwhile.</summary>
    private static async Task Until(Func<Task<bool>> done, Task feed)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await done())
        {
            Assert.False(feed.IsCompleted, "the feed stopped");
            Assert.True(DateTime.UtcNow < deadline, "not done within 30 s");
            await Task.Delay(100);
        }
    }

    private static Action<string> Locked(List<string> lines) => line =>
    {
        lock (lines) lines.Add(line);
    };

    private static List<string> Snapshot(List<string> lines)
    {
        lock (lines) return [.. lines];
    }
}
