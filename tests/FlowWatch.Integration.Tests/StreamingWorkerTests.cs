using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using FlowWatch.Core.Engine;
using FlowWatch.Core.Reference;
using FlowWatch.Core.Scoring;
using FlowWatch.Worker.Kafka;
using FlowWatch.Worker.Replay;
using static FlowWatch.Integration.Tests.TestKafka;

namespace FlowWatch.Integration.Tests;

/// <summary>The streaming worker over real Kafka protocol (embedded broker) against the replay of the same input.</summary>
public sealed class StreamingWorkerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flowwatch-stream-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Run_SampleStream_PublishesTheSameAlertsAsReplayAndDeadLettersTheBadRecords()
    {
        var reference = ReferenceDataLoader.LoadFile(Samples("reference.json"));
        var lines = File.ReadAllLines(Samples("events.jsonl")).Where(l => l.Trim().Length > 0).ToList();
        var replay = ReplayCommand.Replay(reference, new RuleSettings(), 1, Samples("events.jsonl"), Path.Combine(_dir, "alerts.jsonl"), null);
        var expected = File.ReadAllLines(Path.Combine(_dir, "alerts.jsonl")).Select(WithoutDetectedAt).ToList();
        Assert.NotEmpty(expected);

        using var broker = EmbeddedBroker.Start(brokers: 1);
        // One partition keeps the file's order, control records included, so replay is the oracle.
        var options = broker.WorkerOptions("equivalence", partitions: 1);
        using (var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = broker.BootstrapServers }).Build())
        {
            foreach (var line in lines) producer.Produce(options.PaymentsTopic, new Message<Null, string> { Value = line });
            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        }

        var worker = NewWorker(options);
        using var run = WorkerRun.Of(worker);
        var alerts = ReadAll(broker.BootstrapServers, options.AlertsTopic, expected.Count);
        var deadLetters = ReadAll(broker.BootstrapServers, options.DeadLetterTopic, (int)replay.Counters.DeadLetters);
        await run.StopAsync();

        Assert.Equal(expected.Order(StringComparer.Ordinal), alerts.Select(m => WithoutDetectedAt(Encoding.UTF8.GetString(m.Value))).Order(StringComparer.Ordinal));
        Assert.All(alerts, m => Assert.Equal(JsonNode.Parse(m.Value)!["entityId"]!.GetValue<string>(), m.Key));
        Assert.Equal(replay.Counters.DeadLetters, deadLetters.Count);
        Assert.All(deadLetters, m =>
        {
            Assert.NotEmpty(Header(m, "flowwatch.reason"));
            Assert.Equal(options.PaymentsTopic, Header(m, "flowwatch.topic"));
            Assert.Contains(Encoding.UTF8.GetString(m.Value), lines);
        });
        Assert.Equal(replay.Counters.Accepted, worker.Counters.Accepted);
    }

    [Fact]
    public async Task Run_RecordTooLargeToSendAgain_IsDeadLetteredByItsFirstBytesAndTheStreamGoesOn()
    {
        var good = File.ReadAllLines(Samples("events.jsonl")).First(l => l.Contains("\"txnId\"", StringComparison.Ordinal));
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var options = broker.WorkerOptions("oversized", partitions: 1);
        // Under Kafka's default limit of a broker (1,048,588 bytes) and a Java producer, over this client's 1,000,000.
        var big = new byte[1_040_000];
        Array.Fill(big, (byte)'x');
        using (var producer = new ProducerBuilder<Null, byte[]>(new ProducerConfig { BootstrapServers = broker.BootstrapServers, MessageMaxBytes = 2_000_000 }).Build())
        {
            producer.Produce(options.PaymentsTopic, new Message<Null, byte[]> { Value = big });
            producer.Produce(options.PaymentsTopic, new Message<Null, byte[]> { Value = Encoding.UTF8.GetBytes(good) });
            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        }

        var worker = NewWorker(options);
        using var run = WorkerRun.Of(worker);
        var deadLetter = Assert.Single(ReadAll(broker.BootstrapServers, options.DeadLetterTopic, 1));
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (worker.Counters.Accepted == 0 && DateTime.UtcNow < deadline) await Task.Delay(100);
        await run.StopAsync();

        Assert.Equal(1, worker.Counters.Accepted);
        Assert.Equal(1, worker.Counters.DeadLetters);
        Assert.Equal(big.AsSpan(0, deadLetter.Value.Length).ToArray(), deadLetter.Value);
        Assert.Equal(PartitionPipeline.MaxDeadLetterBytes, deadLetter.Value.Length);
        Assert.Equal("1040000", Header(deadLetter, "flowwatch.truncated-from"));
        Assert.Equal("0", Header(deadLetter, "flowwatch.offset"));
    }

    [Fact]
    public async Task Run_EventDatedHoursAfterItsRecordsTimestamp_IsDeadLetteredAndTheStreamGoesOn()
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var options = broker.WorkerOptions("future", partitions: 1);
        var published = new DateTime(2026, 3, 2, 1, 0, 0, DateTimeKind.Utc);   // 09:00 in Shanghai
        static string Payment(string txnId, string ts) =>
            $$"""{"txnId": "{{txnId}}", "ts": "{{ts}}", "account": "EFE0001", "direction": "IN", "amount": "100", "currency": "CNY", "cpKind": "OFFSHORE"}""";
        using (var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = broker.BootstrapServers }).Build())
        {
            foreach (var (payment, at) in new[]
            {
                (Payment("F1", "2026-03-02T10:00:00+08:00"), published),                 // within the hour
                (Payment("F2", "2026-03-02T10:00:00.001+08:00"), published),             // a millisecond beyond it
                (Payment("F3", "2099-03-02T10:00:00+08:00"), published.AddHours(2)),
                (Payment("F4", "2026-03-02T11:00:00+08:00"), published.AddHours(2)),
            })
            {
                producer.Produce(options.PaymentsTopic, new Message<Null, string> { Value = payment, Timestamp = new Timestamp(at) });
            }
            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        }

        var worker = NewWorker(options);
        using var run = WorkerRun.Of(worker);
        var deadLetters = ReadAll(broker.BootstrapServers, options.DeadLetterTopic, 2);
        await Until(() => worker.Counters.Read == 4, "every record read");
        await run.StopAsync();

        Assert.Equal(["1", "2"], deadLetters.Select(m => Header(m, "flowwatch.offset")));
        // Each keeps its record's timestamp, for whoever sends it again.
        Assert.Equal([new DateTimeOffset(published).ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture),
            new DateTimeOffset(published.AddHours(2)).ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)],
            deadLetters.Select(m => Header(m, "flowwatch.timestamp")));
        Assert.Equal("ts: 2026-03-02T02:00:00.0010000Z is more than FlowWatch:Rules:FutureEventBound (01:00:00) after the record was published " +
                     "(2026-03-02T01:00:00.0000000Z)", Header(deadLetters[0], "flowwatch.reason"));
        Assert.Equal(2, worker.Counters.Accepted);
        Assert.Equal(0, worker.Counters.Late);
    }

    /// <summary>A supervisor's parameters change every cap of the partition: a change read in the payments stream is said, with where it was.</summary>
    [Fact]
    public async Task Run_ParametersRecordInThePaymentsStream_IsLoggedWithItsPartitionAndOffset()
    {
        var (worker, lines) = await RunOver("parameters-in-stream", partitions: 1,
            (0, File.ReadLines(Samples("events.jsonl")).First()),
            (0, """{"type":"PARAMETERS","ts":"2026-03-02T12:00:00+08:00","macroPrudentialFactor":0.5}"""));

        Assert.Equal(1, worker.Counters.ControlRecords);
        Assert.Single(lines, line => line == "parameters changed by a PARAMETERS record in the payments stream (partition 0, offset 1) dated 2026-03-02T12:00:00+08:00: "
            + "macroPrudentialFactor 0.5, inflowLeverage 1, outflowLeverage 1, whitelistRequired true, penetrationKinds [EFE]; they apply to that partition's payments");
    }

    /// <summary>
    /// A duplicate is ignored (RULES.md §1); one that is another payment reusing the id is said, with where it was, up to
    /// 100 a partition, after which the metric alone counts them.
    /// </summary>
    [Fact]
    public async Task Run_RepeatedTxnIdWithOtherContent_IsIgnoredCountedAndLoggedWithItsPartitionAndOffset()
    {
        var payment = File.ReadLines(Samples("events.jsonl")).First();
        var txnId = System.Text.Json.JsonDocument.Parse(payment).RootElement.GetProperty("txnId").GetString();
        var otherAmounts = Enumerable.Range(1, 101)
            .Select(i => System.Text.RegularExpressions.Regex.Replace(payment, "\"amount\":\\s*\"?[0-9.]+\"?", $"\"amount\":\"{9_000_000 + i}\"")).ToList();
        Assert.DoesNotContain(payment, otherAmounts);

        var (worker, lines) = await RunOver("differing-duplicate", partitions: 1, [.. new[] { payment, payment }.Concat(otherAmounts).Select(record => (0, record))]);

        Assert.Equal((1, 102, 101, 0), (worker.Counters.Accepted, worker.Counters.Duplicates, worker.Counters.DifferingDuplicates, worker.Counters.DeadLetters));
        var logged = lines.Where(line => line.StartsWith($"txnId {txnId} was accepted before", StringComparison.Ordinal)).ToList();
        Assert.Equal(100, logged.Count);
        Assert.Equal($"txnId {txnId} was accepted before with other content; ignored as a duplicate (partition 0, offset 2)", logged[0]);
        Assert.EndsWith("(partition 0, offset 101); further ones in this partition are counted (flowwatch_differing_duplicates_total), not logged", logged[^1], StringComparison.Ordinal);
    }

    /// <summary>
    /// The 100 differing duplicates logged one by one are a partition's over the worker's life: a session restarted after
    /// a failure (here a partition's engine stops on an error of the code around it, at the first alert) takes the
    /// partition up again and processes again what was not committed, without logging 100 more.
    /// </summary>
    [Fact]
    public async Task Run_PartitionTakenUpAgainAfterAFailure_LogsNoMoreThan100DifferingDuplicatesInAll()
    {
        var sample = File.ReadLines(Samples("events.jsonl")).ToList();
        static string WithAmount(string payment, string amount) =>
            System.Text.RegularExpressions.Regex.Replace(payment, "\"amount\":\\s*\"?[0-9.]+\"?", $"\"amount\":\"{amount}\"");
        var quiet = WithAmount(sample[0], "1000");
        List<string> Reusing(int from) => [.. Enumerable.Range(from, 60).Select(i => WithAmount(quiet, (9_000_000 + i).ToString(System.Globalization.CultureInfo.InvariantCulture)))];
        // A quiet payment, 60 reusing its id, a payment of 3,000,000 CNY (a large-value report: the first alert), 60 more.
        List<string> records = [quiet, .. Reusing(0), sample[1], .. Reusing(60)];

        var (worker, lines) = await RunFailingAtTheFirstAlert("differing-after-restart", records);

        Assert.Equal((2, 120), (worker.Counters.Accepted, worker.Counters.DifferingDuplicates));
        var logged = lines.Where(line => line.Contains("was accepted before with other content", StringComparison.Ordinal)).ToList();
        Assert.Equal(100, logged.Count);
        Assert.EndsWith("; further ones in this partition are counted (flowwatch_differing_duplicates_total), not logged", logged[^1], StringComparison.Ordinal);
    }

    /// <summary>A field the event contract does not define is passed over, and said once, since a misspelt one loses what it says.</summary>
    [Fact]
    public async Task Run_PaymentsWithAnUnknownField_AreCountedAndTheNameLoggedOnceWithWhereItWasFirst()
    {
        var payments = File.ReadLines(Samples("events.jsonl")).Take(3).Select(line => (0, line.Insert(1, "\"metod\":\"CASH\",")));

        var (worker, lines) = await RunOver("unknown-field", partitions: 1, [.. payments]);

        Assert.Equal(3, worker.Counters.UnknownFields);
        Assert.Single(lines, line => line.Contains("metod", StringComparison.Ordinal));
        Assert.Contains("payments carry a field 'metod' that the event contract does not define: it is passed over (first at partition 0, offset 0)", lines);
    }

    /// <summary>State is per partition: an entity whose payments reach two partitions has it split, and the worker says so.</summary>
    [Fact]
    public async Task Run_EntityWithPaymentsInTwoPartitions_IsCountedAndLoggedNamingBoth()
    {
        // The samples' first two payments are both of account EFE0001, which reference data gives to E-HQ-001.
        var payments = File.ReadLines(Samples("events.jsonl")).Take(2).ToList();

        var (worker, lines) = await RunOver("split-entity", partitions: 2, (0, payments[0]), (1, payments[1]));

        Assert.Equal(2, worker.Counters.Accepted);
        Assert.Equal(1, worker.SplitEntities);
        Assert.Single(lines, line => line.StartsWith("entity E-HQ-001 has payments in partitions ", StringComparison.Ordinal));
    }

    /// <summary>
    /// Payments the topic's retention deleted before the worker read them (a worker far behind, or stopped for long):
    /// said, with which, and counted, where a consumer's reset to the partition's start would pass over them unseen; the
    /// position past them is committed, so that the next start does not say the loss again.
    /// </summary>
    [Fact]
    public async Task Run_PaymentsDeletedBeforeTheWorkerReadThem_SaysWhichOnceAndCountsThem()
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var options = broker.WorkerOptions("far-behind", partitions: 1);
        var payments = File.ReadLines(Samples("events.jsonl")).Where(line => line.Contains("\"txnId\"", StringComparison.Ordinal)).Take(12).ToList();
        Produce(broker, options, payments[..4]);
        await RunUntil(options, worker => worker.Counters.Read == 4);
        Produce(broker, options, payments[4..10]);
        broker.DeleteRecords(options.PaymentsTopic, 0, 7);

        var (second, secondLines) = await RunUntil(options, worker => worker.Counters.Read == 3);
        Produce(broker, options, payments[10..]);
        broker.DeleteRecords(options.PaymentsTopic, 0, 12);
        var (third, thirdLines) = await RunUntil(options, worker => worker.PaymentsDeletedUnread == 2 && worker.Status.IsConsuming);
        var (fourth, fourthLines) = await RunUntil(options, worker => worker.Status.IsConsuming);

        Assert.Equal([Deleted(4, 7)], secondLines.Where(line => line.Contains("deleted", StringComparison.Ordinal)));
        Assert.Equal((3, 3L), (second.Counters.Read, second.PaymentsDeletedUnread));
        Assert.Equal([Deleted(10, 12)], thirdLines.Where(line => line.Contains("deleted", StringComparison.Ordinal)));
        Assert.Equal(0, third.Counters.Read);
        Assert.DoesNotContain(fourthLines, line => line.Contains("deleted", StringComparison.Ordinal));
        Assert.EndsWith("resuming at offset 12", fourthLines.First(line => line.StartsWith("partition 0 restored in ", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.Equal(0, fourth.PaymentsDeletedUnread);

        static string Deleted(long from, long to) => $"partition 0: payments {from} to {to} (exclusive) were deleted from the payments topic (its retention) "
            + $"before the worker read them; it goes on from offset {to}, and the rules miss what they held";
    }

    /// <summary>
    /// While running, a partition's position that the payments topic no longer holds starts the session again, whose
    /// restore finds what was lost (here nothing: the broker only answered a fetch so), where a consumer would reset to
    /// the partition's start by itself and process it all again on top of the state.
    /// </summary>
    [Fact]
    public async Task Run_PositionOutOfRangeWhileRunning_StartsTheSessionAgainAndLosesNothing()
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var options = broker.WorkerOptions("out-of-range", partitions: 1);
        var payments = File.ReadLines(Samples("events.jsonl")).Where(line => line.Contains("\"txnId\"", StringComparison.Ordinal)).Take(6).ToList();
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var worker = NewWorker(options, new LineLogger(lines.Enqueue));
        using var run = WorkerRun.Of(worker);
        await worker.Ready.WaitAsync(TimeSpan.FromSeconds(60));
        Produce(broker, options, payments[..3]);
        await Until(() => worker.Counters.Read == 3, "the first three payments read");

        broker.FailNextRequests(Fetch, ErrorCode.OffsetOutOfRange);
        await Until(() => lines.Any(line => line.StartsWith("partition 0: the payments topic no longer holds the worker's position 3 ", StringComparison.Ordinal)),
            "the position said to be out of range");
        Produce(broker, options, payments[3..]);
        await Until(() => worker.Status.IsConsuming && worker.ConsumerLag == 0 && worker.Counters.Read == 6, "every payment read after the restart");
        await run.StopAsync();

        Assert.Equal(2, lines.Count(line => line.StartsWith("partition 0 restored in ", StringComparison.Ordinal)));
        Assert.DoesNotContain(lines, line => line.Contains("were deleted", StringComparison.Ordinal));
        Assert.Equal((6, 0L), (worker.Counters.Accepted + worker.Counters.DeadLetters + worker.Counters.Duplicates, worker.PaymentsDeletedUnread));
    }

    /// <summary>The Kafka protocol's Fetch request.</summary>
    private const short Fetch = 1;

    /// <summary>Runs a worker until <paramref name="done"/> holds, then stops it; answers it and the lines it logged.</summary>
    private static async Task<(StreamingWorker Worker, IReadOnlyCollection<string> Lines)> RunUntil(KafkaOptions options, Func<StreamingWorker, bool> done)
    {
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var worker = NewWorker(options, new LineLogger(lines.Enqueue));
        using var run = WorkerRun.Of(worker);
        await Until(() => done(worker), "the worker's work done");
        await run.StopAsync();
        return (worker, lines);
    }

    private static void Produce(EmbeddedBroker broker, KafkaOptions options, IEnumerable<string> values)
    {
        using var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = broker.BootstrapServers }).Build();
        foreach (var value in values) producer.Produce(new TopicPartition(options.PaymentsTopic, new Partition(0)), new Message<Null, string> { Value = value });
        Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
    }

    /// <summary>
    /// Runs a worker of a group of its own on the embedded broker over these records, each produced into the partition
    /// given, until it has read them all; answers the worker, stopped, and the lines it logged.
    /// </summary>
    private static async Task<(StreamingWorker Worker, IReadOnlyCollection<string> Lines)> RunOver(string group, int partitions, params (int Partition, string Value)[] records)
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var options = broker.WorkerOptions(group, partitions);
        using (var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = broker.BootstrapServers }).Build())
        {
            foreach (var (partition, value) in records)
            {
                producer.Produce(new TopicPartition(options.PaymentsTopic, new Partition(partition)), new Message<Null, string> { Value = value });
            }
            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        }
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var worker = NewWorker(options, new LineLogger(lines.Enqueue));
        using var run = WorkerRun.Of(worker);
        await Until(() => worker.Counters.Read == records.Length, "every record read");
        await run.StopAsync();
        return (worker, lines);
    }

    /// <summary>
    /// Runs a worker of a group of its own whose partition engine stops at its first alert on an error of the code around
    /// it, over these payments, until the failed session has restarted and every payment is read; answers the worker,
    /// stopped, and the lines it logged.
    /// </summary>
    private static async Task<(StreamingWorker Worker, IReadOnlyCollection<string> Lines)> RunFailingAtTheFirstAlert(string group, List<string> payments)
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var options = broker.WorkerOptions(group, partitions: 1);
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var failed = 0;
        var worker = new StreamingWorker(options, new RuleSettings(), ReferenceDataLoader.LoadFile(options.ReferenceFile), TimeProvider.System,
            logger: new LineLogger(lines.Enqueue))
        {
            AlertProducedForTests = _ =>
            {
                if (Interlocked.Exchange(ref failed, 1) == 0) throw new InvalidOperationException("the first alert's listener fails");
            },
        };
        using var run = WorkerRun.Of(worker);
        await worker.Ready.WaitAsync(TimeSpan.FromSeconds(60));
        using (var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = broker.BootstrapServers }).Build())
        {
            foreach (var payment in payments) producer.Produce(options.PaymentsTopic, new Message<Null, string> { Value = payment });
            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        }
        await Until(() => lines.Any(l => l.Contains("restarting from the committed state", StringComparison.Ordinal)), "the failed session's restart");
        await Until(() => worker.Status.IsConsuming && worker.ConsumerLag == 0 && worker.Counters.Read == payments.Count, "every payment read after the restart");
        await run.StopAsync();
        return (worker, lines);
    }

    [Fact]
    public async Task Status_BrokerDownAndUpAgain_SaysNotConsumingWithoutALagThenConsumingAgain()
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var options = broker.WorkerOptions("status", partitions: 2);
        var worker = NewWorker(options);
        Assert.False(worker.Status.IsConsuming);
        using var run = WorkerRun.Of(worker);
        await worker.Ready.WaitAsync(TimeSpan.FromSeconds(60));
        await Until(() => worker.Status.IsConsuming, "consuming at the start");
        Assert.Equal(0, worker.ConsumerLag);

        broker.SetBrokerDown(1);
        await Until(() => !worker.Status.IsConsuming, "not consuming with the broker down");
        Assert.Null(worker.ConsumerLag);
        Assert.NotEqual(WorkerStatus.Consuming.Description, worker.Status.Description);

        broker.SetBrokerUp(1);
        // The session may still fail on what the outage left behind (a commit), restart and consume again.
        await Until(() => worker.ConsumerLag == 0, "consuming again, with its lag, with the broker up");
        await run.StopAsync();
        Assert.Equal(new WorkerStatus(false, "stopped"), worker.Status);
    }

    [Theory]
    [InlineData("0")]        // switched off: the session alone says whether it consumes
    [InlineData("4000")]     // every 4 s: more than 3 s without them is no silence
    public async Task Status_ConsumerStatisticsOffOrRare_ConsumingOnceItsPartitionsAreRestored(string interval)
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var options = broker.WorkerOptions("rare-statistics", partitions: 1, o => o.Client["statistics.interval.ms"] = interval);
        var worker = NewWorker(options);
        using var run = WorkerRun.Of(worker);
        await worker.Ready.WaitAsync(TimeSpan.FromSeconds(60));

        // Past two reports at 4 s, each time between them watched.
        for (var watched = System.Diagnostics.Stopwatch.StartNew(); watched.Elapsed < TimeSpan.FromSeconds(9); await Task.Delay(100))
        {
            Assert.Equal(WorkerStatus.Consuming, worker.Status);
        }
        await run.StopAsync();
    }

    [Fact]
    public async Task Run_Stopped_LogsTheRevokedPartitionsByNumber()
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var options = broker.WorkerOptions("revoked", partitions: 2);
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var worker = NewWorker(options, new LineLogger(lines.Enqueue));
        using var run = WorkerRun.Of(worker);
        await worker.Ready.WaitAsync(TimeSpan.FromSeconds(60));
        using (var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = broker.BootstrapServers }).Build())
        {
            await producer.ProduceAsync(new TopicPartition(options.PaymentsTopic, 1),
                new Message<string, string> { Key = "EFE0001", Value = File.ReadLines(Samples("events.jsonl")).First() });
        }
        await Until(() => worker.Counters.Read == 1, "the payment processed");

        await run.StopAsync();

        // Not librdkafka's fetch positions ("payments [[0]] @Unset [-1001]" for partition 0, which fetched nothing),
        // which an operator would take for the offsets committed.
        Assert.Contains("partitions 0, 1 released as the session ends (their last commit stands)", lines);
    }

    /// <summary>
    /// A session that fails while its transaction is still usable (here a partition's engine stops on an error of the
    /// code around it) leaves that transaction uncommitted. Closing the consumer revokes the partitions, and the commit
    /// on revocation used to run with none left: it committed the alerts and dead letters made since the last commit,
    /// with no offsets, beside the same outputs made again after the restart.
    /// </summary>
    [Fact]
    public async Task Run_SessionFailedWithAUsableTransaction_CommitsNothingOfItWhenTheConsumerCloses()
    {
        var (_, lines) = await RunFailingAtTheFirstAlert("failed-session", [.. File.ReadLines(Samples("events.jsonl"))]);

        Assert.Contains(lines, l => l.Contains("partitions 0 released as the session ends", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("revoked after a commit", StringComparison.Ordinal));
    }

    /// <summary>
    /// A commit that saves every entity (here after a control record, and at the stop) writes a record per entity:
    /// more than the client's queue holds when there are many entities. The queue is made small here (100 messages, the
    /// default being 100,000) to stand in for a large population. A full queue used to fail the commit, restarting the
    /// session, and the stop's last save was lost.
    /// </summary>
    [Fact]
    public async Task Run_SaveOfMoreEntitiesThanTheProducerQueueHolds_WaitsForRoomAndSavesThemAll()
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var traffic = new FlowWatch.Simulator.SyntheticPayments(entities: 300, seed: 3, violationRate: 0.0);
        var referenceFile = Path.Combine(Path.GetTempPath(), $"flowwatch-queue-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(referenceFile, traffic.ReferenceJson());
        try
        {
            var options = broker.WorkerOptions("queue-full", partitions: 1, o =>
            {
                o.ReferenceFile = referenceFile;
                o.ControlTopic = "flowwatch.control";
                o.CheckpointInterval = TimeSpan.FromMinutes(10);
                o.Client["queue.buffering.max.messages"] = "100";
            });
            broker.CreateTopic(options.ControlTopic, 1);
            var payments = traffic.KeyedEvents(2_000, new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.FromHours(8)), TimeSpan.FromSeconds(7), "Q-");
            var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
            var worker = NewWorker(options, new LineLogger(lines.Enqueue));
            using var run = WorkerRun.Of(worker);
            await worker.Ready.WaitAsync(TimeSpan.FromSeconds(60));
            using (var producer = new ProducerBuilder<string?, byte[]>(new ProducerConfig { BootstrapServers = broker.BootstrapServers }).Build())
            {
                foreach (var payment in payments) producer.Produce(options.PaymentsTopic, new Message<string?, byte[]> { Key = payment.Account, Value = payment.Line });
                await Until(() => worker.Counters.Read == payments.Count, "every payment read");
                await producer.ProduceAsync(options.ControlTopic, new Message<string?, byte[]>
                {
                    Value = Encoding.UTF8.GetBytes("""{"type":"PARAMETERS","ts":"2026-03-03T00:00:00+08:00","macroPrudentialFactor":0.5}"""),
                });
                await Until(() => lines.Any(l => l.Contains("parameters changed", StringComparison.Ordinal)), "the control record applied");
                // One more payment, so that a commit follows the change.
                await producer.ProduceAsync(options.PaymentsTopic, new Message<string?, byte[]> { Key = "X", Value = Encoding.UTF8.GetBytes("""{"txnId":"Q-bad"}""") });
            }
            await Until(() => worker.Counters.DeadLetters == 1 && worker.Status.IsConsuming, "the last record processed");
            await Task.Delay(TimeSpan.FromSeconds(2));

            await run.StopAsync();

            Assert.DoesNotContain(lines, l => l.Contains("restarting from the committed state", StringComparison.Ordinal));
            var restored = new FlowEngine(ReferenceDataLoader.LoadFile(referenceFile), new RuleSettings());
            var resumeAt = StateStore.Restore(new ConsumerConfig { BootstrapServers = broker.BootstrapServers }, options.StateTopic, options.PaymentsTopic, 0, restored).ResumeAt;
            Assert.Equal(payments.Count + 1, resumeAt);
            var oracle = new FlowEngine(ReferenceDataLoader.LoadFile(referenceFile), new RuleSettings());
            var sequence = 0L;
            foreach (var payment in payments) oracle.Process(payment.Line, sequence++, [], out _);
            Assert.Equal(oracle.Shards.Sum(shard => shard.EntityCount), restored.Shards.Sum(shard => shard.EntityCount));
            Assert.True(restored.Shards.Sum(shard => shard.EntityCount) > 100, "more entities than the queue holds");
        }
        finally
        {
            File.Delete(referenceFile);
        }
    }

    /// <summary>
    /// New models change what ML_ANOMALY's silences hold from then on: the worker saves every entity at the next commit,
    /// as after new parameters, so that a restore never processes payments scored by the old models again under the
    /// new ones. With a checkpoint interval of ten minutes nothing else would save them meanwhile.
    /// </summary>
    [Fact]
    public async Task Run_ModelsReplaced_SavesEveryEntityAtTheNextCommit()
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var traffic = new FlowWatch.Simulator.SyntheticPayments(entities: 300, seed: 5);
        var reference = ReferenceDataLoader.Parse(Encoding.UTF8.GetBytes(traffic.ReferenceJson()));
        var options = broker.WorkerOptions("models-replaced", partitions: 1, o => o.CheckpointInterval = TimeSpan.FromMinutes(10));
        var modelsDirectory = Path.Combine(AppContext.BaseDirectory, "models");
        var models = new ModelHolder(FlowWatch.Training.ModelFiles.Load(modelsDirectory));
        var worker = new StreamingWorker(options, new RuleSettings(), reference, TimeProvider.System, models: models);
        using var run = WorkerRun.Of(worker);
        await worker.Ready.WaitAsync(TimeSpan.FromSeconds(60));
        var payments = traffic.KeyedEvents(1_500, new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.FromHours(8)), TimeSpan.FromSeconds(7), "M-");
        using (var producer = new ProducerBuilder<string?, byte[]>(new ProducerConfig { BootstrapServers = broker.BootstrapServers }).Build())
        {
            // In ten parts, each read before the next is sent: the entities are saved at commits between them, with
            // changes after their saves; all sent at once, a busy machine may read them all before the first commit,
            // which then saves everything.
            var sent = 0;
            foreach (var part in payments.Chunk(payments.Count / 10))
            {
                foreach (var payment in part) producer.Produce(options.PaymentsTopic, new Message<string?, byte[]> { Key = payment.Account, Value = payment.Line });
                Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
                sent += part.Length;
                await Until(() => worker.Counters.Read == sent, "the part read");
            }
        }
        await Until(() => ToProcessAgain() > 0, "every payment committed");
        // Saves of the ten-minute checkpoint spread over its commits: a restore now processes many payments again.
        Assert.InRange(ToProcessAgain(), payments.Count / 2, payments.Count);

        models.Swap(FlowWatch.Training.ModelFiles.Load(modelsDirectory));

        // Everything saved: a restore processes nothing again, its restart point at its position.
        await Until(() => ToProcessAgain() == 0, "every entity saved");
        await run.StopAsync();

        long ToProcessAgain() => StateStore.Restore(new ConsumerConfig { BootstrapServers = broker.BootstrapServers }, options.StateTopic, options.PaymentsTopic, 0,
            new FlowEngine(reference, new RuleSettings())).Replayed;
    }

    [Fact]
    public async Task Run_StoppedWhileNoBrokerAnswers_EndsWithoutWaitingOutItsTimeouts()
    {
        // Nothing listens on port 1: the worker's first session waits for a broker (its producer's transactions).
        var options = new KafkaOptions { BootstrapServers = "127.0.0.1:1", ReferenceFile = Samples("reference.json"), GroupId = "unanswered" };
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var worker = NewWorker(options, new LineLogger(lines.Enqueue));
        using var run = WorkerRun.Of(worker);
        await Task.Delay(3_000);
        // With why, as the producer reports it: a timeout alone would not tell a refused connection from a slow broker.
        Assert.False(worker.Status.IsConsuming);
        Assert.StartsWith("waiting for the Kafka broker to ready transactions (the producer reports: ", worker.Status.Description, StringComparison.Ordinal);
        Assert.Contains("Connection refused", worker.Status.Description, StringComparison.Ordinal);

        // Well within the 30 s a host gives its services to stop, which the broker's timeouts (30 s) would pass.
        await run.StopAsync(within: TimeSpan.FromSeconds(10));
        Assert.Equal(new WorkerStatus(false, "stopped"), worker.Status);
        // It waited for a broker in the session it had: a broker not answering for a few seconds is no failure.
        Assert.DoesNotContain(lines, line => line.Contains("restart", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Run_FetchFailsDuringARestore_RestoresAndConsumes()
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var options = broker.WorkerOptions("restore-fetch", partitions: 1);
        // Nothing fetches before the restore does (it reads the state topic): its first fetches fail, as in a broker's hiccup.
        const short Fetch = 1;
        broker.FailNextRequests(Fetch, ErrorCode.RequestTimedOut, ErrorCode.RequestTimedOut);
        var worker = NewWorker(options);
        using var run = WorkerRun.Of(worker);
        using (var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = broker.BootstrapServers }).Build())
        {
            await producer.ProduceAsync(options.PaymentsTopic, new Message<string, string> { Key = "EFE0001", Value = File.ReadLines(Samples("events.jsonl")).First() });
        }

        await Until(() => worker.Counters.Read == 1 && worker.Status.IsConsuming, "consuming the payment");

        await run.StopAsync();
    }

    [Fact]
    public async Task Run_StoppedDuringARestore_EndsWithoutWaitingOutTheCatchUpTimeout()
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var options = broker.WorkerOptions("restore-stop", partitions: 1);
        // Nothing fetches before the restore does (it reads the state topic): it finds no answer for longer than the test waits.
        const short Fetch = 1;
        broker.FailNextRequests(Fetch, [.. Enumerable.Repeat(ErrorCode.RequestTimedOut, 5_000)]);
        var worker = NewWorker(options);
        using var run = WorkerRun.Of(worker);
        await Until(() => worker.Status.Description.StartsWith("restoring", StringComparison.Ordinal), "restoring");

        // Well within the 30 s a host gives its services to stop, which the CatchUpTimeout (60 s) would pass.
        await run.StopAsync(within: TimeSpan.FromSeconds(10));
        Assert.Equal(new WorkerStatus(false, "stopped"), worker.Status);
    }

    [Fact]
    public async Task Status_ReferenceTopicMissing_NamesTheTopicItWaitsForAndWhy()
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var options = broker.WorkerOptions("status", partitions: 1, o => o.ReferenceTopic = "reference-missing");
        var worker = NewWorker(options);
        using var run = WorkerRun.Of(worker);
        // Well within the CatchUpTimeout (60 s) the session waits for the topic.
        await Until(() => worker.Status.Description.EndsWith(')'), "saying why it waits");

        var status = worker.Status;

        await run.StopAsync();
        Assert.Equal(new WorkerStatus(false, "reading the reference topic 'reference-missing' to its end (Broker: Unknown topic or partition)"), status);
    }

    /// <summary>Waits up to a minute for <paramref name="condition"/>: how long it takes is not what is tested.</summary>
    private static async Task Until(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"not {what} within a minute");
            await Task.Delay(100);
        }
    }

    private static string WithoutDetectedAt(string alertJson)
    {
        var alert = JsonNode.Parse(alertJson)!.AsObject();
        alert.Remove("detectedAt");
        return alert.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    private static string Header(Message<string, byte[]> message, string name) =>
        Encoding.UTF8.GetString(message.Headers.GetLastBytes(name));

    /// <summary>Reads a topic from the start with read_committed until <paramref name="count"/> messages came, or 60 s passed.</summary>
    internal static List<Message<string, byte[]>> ReadAll(string bootstrapServers, string topic, int count)
    {
        using var consumer = new ConsumerBuilder<string, byte[]>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = "reader-" + Guid.NewGuid(),
            AutoOffsetReset = AutoOffsetReset.Earliest,
            IsolationLevel = IsolationLevel.ReadCommitted,
        }).Build();
        consumer.Subscribe(topic);
        var messages = new List<Message<string, byte[]>>();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (messages.Count < count && DateTime.UtcNow < deadline)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { Message: not null } result) messages.Add(result.Message);
        }
        // A little longer, so that a duplicate after the expected count would be seen.
        var settle = DateTime.UtcNow.AddSeconds(1);
        while (DateTime.UtcNow < settle)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is { Message: not null } result) messages.Add(result.Message);
        }
        consumer.Close();
        return messages;
    }
}
