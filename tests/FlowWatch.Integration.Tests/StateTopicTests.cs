using System.Buffers.Binary;
using Confluent.Kafka;
using FlowWatch.Core.Engine;
using FlowWatch.Worker.Kafka;
using Xunit.Abstractions;

namespace FlowWatch.Integration.Tests;

/// <summary>
/// The state topic as a Kafka cluster keeps it: compacted, so that only the newest record of each key is left and
/// deleted keys go. The embedded broker never compacts, so the test compacts a copy of the topic the way the log
/// cleaner does and restores from it.
/// </summary>
public sealed class StateTopicTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Restore_FromTheCompactedStateTopic_GivesEveryEntityTheStateOfAnUninterruptedRun()
    {
        // Payments two minutes apart span four days, so ids saved early pass a one-day duplicate horizon and go.
        const int Payments = 3_000;
        using var harness = new DeliveryHarness(output, Payments, seed: 14, spacing: TimeSpan.FromMinutes(2));
        harness.Options.CheckpointInterval = TimeSpan.FromMilliseconds(300);
        harness.Options.StateIdsPerRecord = 40;   // the ids of one save span several records
        harness.Options.StateRecordBytes = 200;   // and so does the state of every entity but the quietest
        var rules = new RuleSettings { DuplicateHorizonDays = 1 };
        await RunUntilStopped(harness, rules, async worker =>
        {
            await harness.ProduceAsync();
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (worker.RecordsRead < Payments && DateTime.UtcNow < deadline) await Task.Delay(50);
            Assert.Equal(Payments, worker.RecordsRead);
        });
        // A worker that takes the partitions over and stops before any new payment leaves the state where it was.
        await RunUntilStopped(harness, rules, _ => Task.CompletedTask);

        const string CompactedTopic = "flowwatch.state.compacted";
        harness.Broker.CreateTopic(CompactedTopic, DeliveryHarness.Partitions);
        var config = new ConsumerConfig { BootstrapServers = harness.Broker.BootstrapServers };
        var records = Enumerable.Range(0, DeliveryHarness.Partitions).ToDictionary(p => p, p => ReadAll(harness, harness.Options.StateTopic, p));
        // What a worker that crashed halfway would have left: the topic up to a position record in its middle.
        var cuts = records.ToDictionary(r => r.Key, r => r.Value.FindLastIndex(r.Value.Count * 3 / 5, record => record.Key == "P"));
        var cutEnds = cuts.ToDictionary(c => c.Key, c => Position(records[c.Key][..(c.Value + 1)]));
        var oracleAtCut = harness.OracleEngines(rules, cutEnds);
        var oracle = harness.OracleEngines(rules);
        long replayed = 0;
        for (var partition = 0; partition < DeliveryHarness.Partitions; partition++)
        {
            var all = records[partition];
            Assert.Contains(all, r => r.Key.StartsWith("I/", StringComparison.Ordinal) && r.Value is null);
            Assert.Contains(all, r => r.Key.StartsWith("I/", StringComparison.Ordinal) && r.Key.EndsWith("/1", StringComparison.Ordinal));
            Assert.Contains(all, r => r.Key.StartsWith("F/2/", StringComparison.Ordinal));
            var compacted = Compact(all[..(cuts[partition] + 1)]);
            Write(harness, CompactedTopic, partition, compacted);

            var fromCompacted = new FlowEngine(harness.Reference, rules, models: harness.Models);
            var restored = StateStore.Restore(config, CompactedTopic, harness.Options.PaymentsTopic, partition, fromCompacted);
            Assert.Equal(cutEnds[partition], restored.ResumeAt);
            replayed += restored.Replayed;
            AssertSameEntities(oracleAtCut[partition], fromCompacted);

            // After a clean stop everything is saved: nothing to process again.
            var fromFinal = new FlowEngine(harness.Reference, rules, models: harness.Models);
            var final = StateStore.Restore(config, harness.Options.StateTopic, harness.Options.PaymentsTopic, partition, fromFinal);
            Assert.Equal((PaymentsEnd(harness, partition), 0L), (final.ResumeAt!.Value, final.Replayed));
            AssertSameEntities(oracle[partition], fromFinal);
            harness.Log($"partition {partition}: cut at offset {cutEnds[partition]}, {cuts[partition] + 1} records, {compacted.Count} after compaction, " +
                $"{all.Count(r => r.Key.StartsWith("F/", StringComparison.Ordinal) && r.Value is null)} parts deleted, {restored.Replayed} payments processed again");
        }
        Assert.True(replayed > 0, "no restore from a cut processed payments again");
    }

    /// <summary>
    /// A worker that has lost a partition without knowing it yet (frozen past its session) still commits what it
    /// holds after the new owner has claimed the partition. A later restore passes over those records and gives the
    /// new owner's state and position.
    /// </summary>
    [Fact]
    public async Task Restore_AfterANewerClaim_PassesOverWhatTheFormerOwnerStillCommits()
    {
        const int Partition = 0;
        using var harness = new DeliveryHarness(output, payments: 900, seed: 24);
        await harness.ProduceAsync();
        var payments = ReadAll(harness, harness.Options.PaymentsTopic, Partition);
        var (handedOver, newOwnerEnd, formerEnd) = (payments.Count / 3, payments.Count * 5 / 6, payments.Count / 2);
        var rules = new RuleSettings();
        using var claims = new ProducerBuilder<string?, byte[]>(new ProducerConfig { BootstrapServers = harness.Broker.BootstrapServers }).Build();

        var former = Owner(harness, claims, Partition, rules, "former");
        Process(former.Engine, payments, 0, handedOver);
        Commit(harness, former, Partition, handedOver);
        var successor = Owner(harness, claims, Partition, rules, "successor");
        Assert.Equal(handedOver, successor.ResumeAt);
        Process(successor.Engine, payments, handedOver, newOwnerEnd);
        Commit(harness, successor, Partition, newOwnerEnd);
        Process(former.Engine, payments, handedOver, formerEnd);
        Commit(harness, former, Partition, formerEnd);

        var restored = new FlowEngine(harness.Reference, rules, models: harness.Models);
        var restore = StateStore.Restore(new ConsumerConfig { BootstrapServers = harness.Broker.BootstrapServers }, harness.Options.StateTopic,
            harness.Options.PaymentsTopic, Partition, restored);
        Assert.Equal(newOwnerEnd, restore.ResumeAt);
        AssertSameEntities(harness.OracleEngines(rules, Enumerable.Range(0, DeliveryHarness.Partitions).ToDictionary(p => p, _ => (long)newOwnerEnd))[Partition], restored);
        former.Producer.Dispose();
        successor.Producer.Dispose();
    }

    private sealed record PartitionOwner(FlowEngine Engine, StateBook Book, IProducer<string?, byte[]> Producer, long? ResumeAt);

    /// <summary>A worker taking partition <paramref name="partition"/> over as the worker does: a claim, then a restore.</summary>
    private static PartitionOwner Owner(DeliveryHarness harness, IProducer<string?, byte[]> claims, int partition, RuleSettings rules, string name)
    {
        var engine = new FlowEngine(harness.Reference, rules, models: harness.Models);
        engine.TrackChanges();
        var claim = StateStore.ClaimPartition(claims, harness.Options.StateTopic, partition);
        var restored = StateStore.Restore(new ConsumerConfig { BootstrapServers = harness.Broker.BootstrapServers }, harness.Options.StateTopic,
            harness.Options.PaymentsTopic, partition, engine, claim: claim);
        var producer = new ProducerBuilder<string?, byte[]>(new ProducerConfig { BootstrapServers = harness.Broker.BootstrapServers, TransactionalId = name }).Build();
        producer.InitTransactions(TimeSpan.FromSeconds(30));
        return new PartitionOwner(engine, restored.Book, producer, restored.ResumeAt);
    }

    private static void Process(FlowEngine engine, List<StateRecord> payments, int from, int to)
    {
        var alerts = new List<Core.Contracts.Alert>();
        for (var offset = from; offset < to; offset++) engine.Process(payments[offset].Value, offset, alerts, out _);
    }

    /// <summary>Commits all of the owner's state with its position at <paramref name="nextOffset"/>, as a worker's commit does.</summary>
    private static void Commit(DeliveryHarness harness, PartitionOwner owner, int partition, long nextOffset)
    {
        owner.Producer.BeginTransaction();
        var writing = new StateWriting(TimeSpan.Zero, TimeSpan.FromMilliseconds(20), harness.Options.StateIdsPerRecord, harness.Options.StateRecordBytes);
        var position = StateStore.WriteCommit(owner.Producer, harness.Options.StateTopic, partition, owner.Engine, owner.Book, nextOffset, writing, all: true, _ => { });
        StateStore.Write(owner.Producer, position, _ => { });
        owner.Producer.CommitTransaction(TimeSpan.FromSeconds(30));
    }

    private static async Task RunUntilStopped(DeliveryHarness harness, RuleSettings rules, Func<StreamingWorker, Task> whileRunning)
    {
        var worker = new StreamingWorker(harness.Options, rules, harness.Reference, TimeProvider.System, logger: new LineLogger(harness.Log), models: harness.Models);
        using var stop = new CancellationTokenSource();
        var running = worker.RunAsync(stop.Token);
        await worker.Ready.WaitAsync(TimeSpan.FromSeconds(60));
        await whileRunning(worker);
        await stop.CancelAsync();
        await running;
    }

    /// <summary>
    /// A <c>txnId</c> forgotten past the duplicate horizon and accepted again is saved twice, in an older record of ids
    /// and a newer one. A restore must leave it with the day of its newer acceptance, whatever order the records come
    /// in once older records were deleted: with the older day it would count as forgotten, and the payment, delivered
    /// again, would be counted twice.
    /// </summary>
    [Fact]
    public void Restore_IdAcceptedAgainAfterTheHorizon_KeepsItsNewerDaySoThatItsRedeliveryIsADuplicate()
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var options = broker.WorkerOptions("ids", partitions: 1);
        var rules = new RuleSettings { DuplicateHorizonDays = 3 };
        var reference = Core.Reference.ReferenceDataLoader.LoadFile(options.ReferenceFile);
        var config = new ConsumerConfig { BootstrapServers = broker.BootstrapServers };
        var engine = new FlowEngine(reference, rules);
        engine.TrackChanges();
        var book = StateStore.Restore(config, options.StateTopic, options.PaymentsTopic, 0, engine).Book;
        using var producer = new ProducerBuilder<string?, byte[]>(new ProducerConfig { BootstrapServers = broker.BootstrapServers, TransactionalId = "ids" }).Build();
        producer.InitTransactions(TimeSpan.FromSeconds(30));
        var writing = new StateWriting(TimeSpan.Zero, TimeSpan.FromMilliseconds(20), options.StateIdsPerRecord, options.StateRecordBytes);
        using var paymentsProducer = new ProducerBuilder<string?, byte[]>(new ProducerConfig { BootstrapServers = broker.BootstrapServers }).Build();
        long offset = 0;
        void CommitAfter(params string[] payments)
        {
            // On the payments topic too: a restore checks that the partition reaches the saved position.
            foreach (var payment in payments) paymentsProducer.Produce(new TopicPartition(options.PaymentsTopic, 0), new Message<string?, byte[]> { Value = System.Text.Encoding.UTF8.GetBytes(payment) });
            paymentsProducer.Flush(TimeSpan.FromSeconds(30));
            foreach (var payment in payments) Assert.Equal(RecordOutcome.Accepted, engine.Process(System.Text.Encoding.UTF8.GetBytes(payment), offset++, [], out _));
            producer.BeginTransaction();
            StateStore.Write(producer, StateStore.WriteCommit(producer, options.StateTopic, 0, engine, book, offset, writing, all: true, _ => { }), _ => { });
            producer.CommitTransaction(TimeSpan.FromSeconds(30));
        }

        // Ids of 1 March (record 0); then X of 1 March with Y of 6 March (record 1), after which record 0 is past the
        // horizon and deleted, and so is X; X again on 6 March (record 2).
        CommitAfter(Payment("A", 1));
        CommitAfter(Payment("X", 1), Payment("Y", 6));
        var again = Payment("X", 6);
        CommitAfter(again);

        var restored = new FlowEngine(reference, rules);
        StateStore.Restore(config, options.StateTopic, options.PaymentsTopic, 0, restored);
        Assert.Equal(RecordOutcome.Duplicate, engine.Process(System.Text.Encoding.UTF8.GetBytes(again), offset, [], out _));
        Assert.Equal(RecordOutcome.Duplicate, restored.Process(System.Text.Encoding.UTF8.GetBytes(again), offset, [], out _));
    }

    private static string Payment(string txnId, int day) =>
        $$"""{"txnId":"{{txnId}}","ts":"2026-03-{{day:00}}T10:00:00+08:00","account":"EFE0001","direction":"OUT","amount":"100","currency":"CNY","cpKind":"DOMESTIC","cpAccount":"DOM-HQ-001","purpose":"GOODS_TRADE"}""";

    /// <summary>
    /// A read_committed client reports a partition's end at its last stable offset, which an undecided transaction holds
    /// back: a commit whose markers are still on their way. A restore reads at least through its own claim, written after
    /// it and readable only once it is decided, rather than stop at that end. The embedded broker decides transactions at
    /// once, so a claim not written yet stands for one held back here.
    /// </summary>
    [Fact]
    public void Restore_ItsClaimNotYetReadable_WaitsForItRatherThanStopAtTheReportedEnd()
    {
        using var harness = new DeliveryHarness(output, payments: 10, seed: 16);
        using var claims = new ProducerBuilder<string?, byte[]>(new ProducerConfig { BootstrapServers = harness.Broker.BootstrapServers }).Build();
        var claim = StateStore.ClaimPartition(claims, harness.Options.StateTopic, 1);
        var config = new ConsumerConfig { BootstrapServers = harness.Broker.BootstrapServers };

        var early = Assert.Throws<TimeoutException>(() => StateStore.Restore(config, harness.Options.StateTopic, harness.Options.PaymentsTopic, 1,
            new FlowEngine(harness.Reference, new RuleSettings()), TimeSpan.FromSeconds(2), claim with { Offset = claim.Offset + 1 }));
        var restored = StateStore.Restore(config, harness.Options.StateTopic, harness.Options.PaymentsTopic, 1,
            new FlowEngine(harness.Reference, new RuleSettings()), TimeSpan.FromSeconds(2), claim);

        Assert.Contains("did not reach its end", early.Message, StringComparison.Ordinal);
        Assert.Null(restored.ResumeAt);
    }

    [Fact]
    public void Restore_PositionOfAnotherFormat_FailsNamingThePartition()
    {
        using var harness = new DeliveryHarness(output, payments: 10, seed: 15);
        var earlier = new byte[8 + 16];
        BinaryPrimitives.WriteInt64LittleEndian(earlier, 1_234);   // the format before: the next offset, then parameters
        Write(harness, harness.Options.StateTopic, 1, [new StateRecord("P", earlier, null)]);

        var engine = new FlowEngine(harness.Reference, new RuleSettings());
        var error = Assert.Throws<InvalidDataException>(() =>
            StateStore.Restore(new ConsumerConfig { BootstrapServers = harness.Broker.BootstrapServers }, harness.Options.StateTopic, harness.Options.PaymentsTopic, 1, engine));
        Assert.Contains("partition 1 of the state topic holds a position of another format, written by an earlier FlowWatch", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Restore_PositionOfALaterFormat_SaysALaterFlowWatchWroteIt()
    {
        using var harness = new DeliveryHarness(output, payments: 10, seed: 16);
        var later = new byte[4 + 24];
        "FWP3"u8.CopyTo(later);
        Write(harness, harness.Options.StateTopic, 1, [new StateRecord("P", later, null)]);

        var engine = new FlowEngine(harness.Reference, new RuleSettings());
        var error = Assert.Throws<InvalidDataException>(() =>
            StateStore.Restore(new ConsumerConfig { BootstrapServers = harness.Broker.BootstrapServers }, harness.Options.StateTopic, harness.Options.PaymentsTopic, 1, engine));
        Assert.Contains("partition 1 of the state topic holds a position of another format, written by a later FlowWatch: run that version", error.Message, StringComparison.Ordinal);
    }

    private static void AssertSameEntities(FlowEngine expected, FlowEngine actual)
    {
        var entities = expected.Shards.SelectMany(s => s.Entities).ToList();
        Assert.NotEmpty(entities);
        Assert.Equal(entities.Count, actual.Shards.Sum(s => s.EntityCount));
        foreach (var entity in entities)
        {
            var restored = actual.FindEntity(entity.EntityId);
            Assert.True(restored is not null, $"entity {entity.EntityId} lost");
            Assert.True(StateCodec.Encode(entity).AsSpan().SequenceEqual(StateCodec.Encode(restored)), $"entity {entity.EntityId} differs from the uninterrupted run");
        }
    }

    private static long PaymentsEnd(DeliveryHarness harness, int partition)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = harness.Broker.BootstrapServers, GroupId = "ends" }).Build();
        return consumer.QueryWatermarkOffsets(new TopicPartition(harness.Options.PaymentsTopic, new Partition(partition)), TimeSpan.FromSeconds(10)).High.Value;
    }

    /// <summary>The next payments offset in the newest position record (the 8 bytes after its 4-byte format mark), or −1.</summary>
    private static long Position(List<StateRecord> records) =>
        records.LastOrDefault(r => r.Key == "P")?.Value is { } value ? BinaryPrimitives.ReadInt64LittleEndian(value.AsSpan(4)) : -1;

    private static List<StateRecord> ReadAll(DeliveryHarness harness, string topic, int partition)
    {
        using var consumer = new ConsumerBuilder<string?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = harness.Broker.BootstrapServers,
            GroupId = "state-reader",
            EnablePartitionEof = true,
            IsolationLevel = IsolationLevel.ReadCommitted,
        }).Build();
        consumer.Assign(new TopicPartitionOffset(topic, new Partition(partition), Offset.Beginning));
        var records = new List<StateRecord>();
        while (consumer.Consume(TimeSpan.FromSeconds(10)) is { IsPartitionEOF: false } record)
        {
            records.Add(new StateRecord(record.Message.Key!, record.Message.Value, record.Message.Headers));
        }
        consumer.Close();
        return records;
    }

    /// <summary>What the log cleaner leaves in the end: the newest record of each key, in log order, and no deleted key.</summary>
    private static List<StateRecord> Compact(List<StateRecord> records)
    {
        var newest = new Dictionary<string, int>();
        for (var i = 0; i < records.Count; i++) newest[records[i].Key] = i;
        return [.. records.Where((record, i) => newest[record.Key] == i && record.Value is not null)];
    }

    private static void Write(DeliveryHarness harness, string topic, int partition, List<StateRecord> records)
    {
        using var producer = new ProducerBuilder<string, byte[]?>(new ProducerConfig { BootstrapServers = harness.Broker.BootstrapServers }).Build();
        foreach (var record in records)
        {
            producer.Produce(new TopicPartition(topic, new Partition(partition)), new Message<string, byte[]?> { Key = record.Key, Value = record.Value, Headers = record.Headers });
        }
        Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
    }

    private sealed record StateRecord(string Key, byte[]? Value, Headers? Headers);
}
