using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using FlowWatch.Core.Engine;
using FlowWatch.Core.Reference;
using FlowWatch.Worker.Kafka;
using static FlowWatch.Integration.Tests.TestKafka;
using static FlowWatch.Testing.CommandRunner;

namespace FlowWatch.Integration.Tests;

/// <summary>
/// A state topic that cannot belong to the payments it sits beside (corrupted records, too few partitions, a
/// payments topic recreated under it) stops the restore with the partition and the record named: never a silent
/// restore without them, never a worker restarting on it forever. And where parameters come from.
/// </summary>
public sealed class StateRestoreFailureTests
{
    private const string Breach = """{"txnId":"{0}","ts":"2026-03-03T10:00:00+08:00","account":"EFE0001","direction":"OUT","amount":"{1}","currency":"CNY","cpKind":"DOMESTIC","cpAccount":"DOM-HQ-001","purpose":"GOODS_TRADE"}""";

    /// <summary>A position record as the worker writes it ("FWP2", next offset, restart point, the parameters at each).</summary>
    private static byte[] Position(long nextOffset, long restartPoint, Parameters? parameters = null)
    {
        var encoded = StateCodec.Encode(parameters ?? new Parameters());
        var value = new byte[4 + 3 * sizeof(long) + 2 * encoded.Length];
        "FWP2"u8.CopyTo(value);
        BinaryPrimitives.WriteInt64LittleEndian(value.AsSpan(4), nextOffset);
        BinaryPrimitives.WriteInt64LittleEndian(value.AsSpan(12), restartPoint);
        BinaryPrimitives.WriteInt64LittleEndian(value.AsSpan(20), encoded.Length);
        encoded.CopyTo(value, 28);
        encoded.CopyTo(value, 28 + encoded.Length);
        return value;
    }

    private static Headers Through(long sequence)
    {
        var bytes = new byte[sizeof(long)];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, sequence);
        return new Headers { { "flowwatch.through", bytes } };
    }

    private static void Write(EmbeddedBroker broker, string topic, params (string Key, byte[] Value, Headers? Headers)[] records)
    {
        using var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = broker.BootstrapServers }).Build();
        foreach (var (key, value, headers) in records)
        {
            producer.Produce(new TopicPartition(topic, new Partition(0)), new Message<string, byte[]> { Key = key, Value = value, Headers = headers });
        }
        Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
    }

    private static byte[] Payment(string txnId, string amount) => Encoding.UTF8.GetBytes(Breach.Replace("{0}", txnId, StringComparison.Ordinal).Replace("{1}", amount, StringComparison.Ordinal));

    /// <summary>An engine of the sample reference data, ready to be restored (it tracks changes, as a worker's does).</summary>
    private static FlowEngine RestorableEngine()
    {
        var engine = new FlowEngine(ReferenceDataLoader.LoadFile(Samples("reference.json")), new RuleSettings());
        engine.TrackChanges();
        return engine;
    }

    private static Exception? Restore(EmbeddedBroker broker, KafkaOptions options, int partition = 0)
    {
        var engine = RestorableEngine();
        return Record.Exception(() => StateStore.Restore(new ConsumerConfig { BootstrapServers = broker.BootstrapServers },
            options.StateTopic, options.PaymentsTopic, partition, engine));
    }

    [Fact]
    public void Restore_EntityStateThatCannotBeRead_FailsNamingPartitionAndKey()
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var options = broker.WorkerOptions("restore", partitions: 1);
        Write(broker, options.StateTopic, ("E/E-HQ-001", [3, 20, (byte)'E'], Through(0)), ("P", Position(nextOffset: 1, restartPoint: 1), null));

        var error = Restore(broker, options);

        var invalid = Assert.IsType<InvalidDataException>(error);
        Assert.StartsWith("partition 0 of the state topic: record 'E/E-HQ-001' cannot be read", invalid.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, Headers?, string> StateRecordsWithoutReadableHeaders => new()
    {
        { "E/E-HQ-001", null, "it has no 'flowwatch.through' header of 8 bytes" },
        { "E/E-HQ-001", new Headers { { "flowwatch.through", new byte[4] } }, "it has no 'flowwatch.through' header of 8 bytes" },
        { "F/1/E-HQ-001", null, "it has no 'flowwatch.through' header of 8 bytes" },
        { "E/E-HQ-001", WithParts(Through(-1), new byte[2]), "its 'flowwatch.parts' header is not a count of parts" },
        { "E/E-HQ-001", WithParts(Through(-1), BitConverter.GetBytes(0)), "its 'flowwatch.parts' header is not a count of parts" },
    };

    private static Headers WithParts(Headers headers, byte[] parts)
    {
        headers.Add("flowwatch.parts", parts);
        return headers;
    }

    /// <summary>
    /// Every part of an entity's state a worker writes names the last payment it includes, and a first part of several
    /// says how many: one without them was not written by a worker, and is refused rather than left out unseen.
    /// </summary>
    [Theory]
    [MemberData(nameof(StateRecordsWithoutReadableHeaders))]
    public void Restore_EntityStateWithoutReadableHeaders_FailsNamingPartitionAndKey(string key, Headers? headers, string reason)
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var options = broker.WorkerOptions("restore", partitions: 1);
        Write(broker, options.PaymentsTopic, ("EFE0001", Payment("A1", "1"), null));
        Write(broker, options.StateTopic, (key, StateCodec.Encode(new EntityState("E-HQ-001")), headers), ("P", Position(nextOffset: 1, restartPoint: 1), null));

        var error = Restore(broker, options);

        Assert.Equal($"partition 0 of the state topic: record '{key}' cannot be read: {reason}", Assert.IsType<InvalidDataException>(error).Message);
    }

    [Theory]
    [InlineData("E-HQ-002", -1, "it holds the state of entity 'E-HQ-002'")]
    [InlineData("E-HQ-001", 0, "it holds a state through payment -1, its header says through 0")]
    public void Restore_EntityStateOfAnotherEntityOrPayment_FailsNamingPartitionAndKey(string entityId, long through, string reason)
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var options = broker.WorkerOptions("restore", partitions: 1);
        Write(broker, options.PaymentsTopic, ("EFE0001", Payment("A1", "1"), null));
        Write(broker, options.StateTopic, ("E/E-HQ-001", StateCodec.Encode(new EntityState(entityId)), Through(through)),
            ("P", Position(nextOffset: 1, restartPoint: 1), null));

        var error = Restore(broker, options);

        Assert.Equal($"partition 0 of the state topic: record 'E/E-HQ-001' cannot be read: {reason}", Assert.IsType<InvalidDataException>(error).Message);
    }

    [Fact]
    public void Restore_EntityStateDeletedWithATombstone_IsNotRestored()
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var options = broker.WorkerOptions("restore", partitions: 1);
        Write(broker, options.PaymentsTopic, ("EFE0001", Payment("A1", "1"), null));
        // As the topic reads after compaction, whatever the cleaner has done yet: the tombstone leaves no state of E-HQ-001.
        Write(broker, options.StateTopic, ("E/E-HQ-001", StateCodec.Encode(new EntityState("E-HQ-001")), Through(-1)), ("E/E-HQ-001", null!, null),
            ("P", Position(nextOffset: 1, restartPoint: 1), null));
        var engine = RestorableEngine();

        StateStore.Restore(new ConsumerConfig { BootstrapServers = broker.BootstrapServers }, options.StateTopic, options.PaymentsTopic, 0, engine);

        Assert.Null(engine.FindEntity("E-HQ-001"));
    }

    [Fact]
    public void Restore_IdsThatCannotBeRead_FailsNamingPartitionAndKey()
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var options = broker.WorkerOptions("restore", partitions: 1);
        Write(broker, options.StateTopic, ("I/0/0", new byte[StateCodec.TxnIdBytes + 1], null), ("P", Position(nextOffset: 1, restartPoint: 1), null));

        var error = Restore(broker, options);

        var invalid = Assert.IsType<InvalidDataException>(error);
        Assert.Equal("partition 0 of the state topic: record 'I/0/0' cannot be read: txnId records are a version byte 2 and 28 bytes each, or 24 bytes each without a version byte; these 29 bytes start with 0", invalid.Message);
    }

    [Fact]
    public async Task Run_StateTopicOfAnEarlierFormat_ExitsWithCannotRunAndTheReason()
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var options = broker.WorkerOptions("restore", partitions: 1);
        Write(broker, options.StateTopic, ("P", "FWP1, of an earlier FlowWatch"u8.ToArray(), null));
        var stderr = new StringWriter();

        var code = await FlowWatch.Worker.Cli.CommandLine.RunAsync(["run", "--bootstrap-servers", broker.BootstrapServers, "--reference", Samples("reference.json"),
            "--urls", "http://127.0.0.1:0"], new StringWriter(), stderr);

        Assert.Equal(FlowWatch.Worker.Cli.CommandLine.CannotRun, code);
        Assert.Contains("partition 0 of the state topic holds a position of another format", stderr.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1_000_000)]
    [InlineData(-1)]
    public void Restore_PositionWithACorruptedLength_FailsNamingPartitionAndKey(long length)
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var options = broker.WorkerOptions("restore", partitions: 1);
        var position = Position(nextOffset: 1, restartPoint: 1);
        BinaryPrimitives.WriteInt64LittleEndian(position.AsSpan(20), length);
        Write(broker, options.StateTopic, ("P", position, null));

        var error = Restore(broker, options);

        Assert.StartsWith("partition 0 of the state topic: record 'P' cannot be read", Assert.IsType<InvalidDataException>(error).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1, 2)]
    [InlineData(1, -1)]
    public void Restore_PositionWithARestartPointAfterItsNextOffset_FailsNamingPartitionAndKey(long nextOffset, long restartPoint)
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var options = broker.WorkerOptions("restore", partitions: 1);
        Write(broker, options.PaymentsTopic, ("EFE0001", Payment("A1", "1"), null), ("EFE0001", Payment("A2", "1"), null));
        // A2 (offset 1) is yet to be processed: restored, its id would make it a duplicate.
        Write(broker, options.StateTopic, ("I/0/0", StateCodec.Encode([new TxnIdRecord(1, 2, 20_515, 1, 7)]), null),
            ("P", Position(nextOffset, restartPoint), null));

        var error = Restore(broker, options);

        Assert.Equal($"partition 0 of the state topic: record 'P' cannot be read: its restart point {restartPoint} is not between 0 and its next offset {nextOffset}",
            Assert.IsType<InvalidDataException>(error).Message);
    }

    [Fact]
    public void Restore_PositionBeyondTheEndOfThePayments_FailsNamingBoth()
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var options = broker.WorkerOptions("restore", partitions: 1);
        Write(broker, options.PaymentsTopic, ("EFE0001", Payment("A1", "1"), null), ("EFE0001", Payment("A2", "1"), null));
        // As a state topic left from a payments topic that was recreated since: it has seen 1,000 payments.
        Write(broker, options.StateTopic, ("P", Position(nextOffset: 1_000, restartPoint: 0), null));

        var error = Restore(broker, options);

        Assert.StartsWith("payments partition 0 ends at offset 2, before the saved position 1000", Assert.IsType<InvalidDataException>(error).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Restore_PositionBeyondTheEndOfThePaymentsWithNothingToProcessAgain_FailsNamingBoth()
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var options = broker.WorkerOptions("restore", partitions: 1);
        Write(broker, options.PaymentsTopic, ("EFE0001", Payment("A1", "1"), null), ("EFE0001", Payment("A2", "1"), null));
        // Everything was saved at offset 1,000 (the restart point is the position): no payment is processed again.
        Write(broker, options.StateTopic, ("P", Position(nextOffset: 1_000, restartPoint: 1_000), null));

        var error = Restore(broker, options);

        Assert.StartsWith("payments partition 0 ends at offset 2, before the saved position 1000", Assert.IsType<InvalidDataException>(error).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 4, 4)]
    [InlineData(2, 2, 4, "partition 0: payments 0 to 2 (exclusive) are gone from the payments topic (its retention); the state is restored without them")]
    [InlineData(4, 0, 4, "partition 0: payments 0 to 4 (exclusive) are gone from the payments topic (its retention); the state is restored without them")]
    [InlineData(5, 0, 5, "partition 0: payments 0 to 4 (exclusive) are gone from the payments topic (its retention); the state is restored without them",
        "partition 0: payments 4 to 5 (exclusive) were deleted from the payments topic (its retention) before the worker read them; it goes on from offset 5, and the rules miss what they held")]
    public void Restore_PaymentsAfterTheRestartPointGoneFromTheTopic_GoesOnWithoutThemAndSaysSo(long keptFrom, long processedAgain, long resumeAt, params string[] said)
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var options = broker.WorkerOptions("restore", partitions: 1);
        Write(broker, options.PaymentsTopic, [.. Enumerable.Range(1, 5).Select(i => ("EFE0001", Payment($"A{i}", "1"), (Headers?)null))]);
        // Saved at offset 4 with every payment since 0 to process again.
        Write(broker, options.StateTopic, ("P", Position(nextOffset: 4, restartPoint: 0), null));
        if (keptFrom > 0) broker.DeleteRecords(options.PaymentsTopic, 0, keptFrom);
        var engine = RestorableEngine();
        var lines = new List<string>();

        var restored = StateStore.Restore(new ConsumerConfig { BootstrapServers = broker.BootstrapServers }, options.StateTopic, options.PaymentsTopic, 0,
            engine, log: new LineLogger(lines.Add));

        Assert.Equal((resumeAt, processedAgain, resumeAt - 4), (restored.ResumeAt, restored.Replayed, restored.DeletedUnread));
        Assert.Equal(said, lines.Where(line => line.Contains("gone", StringComparison.Ordinal) || line.Contains("deleted", StringComparison.Ordinal)));
    }

    /// <summary>
    /// A state topic under retention instead of compaction loses the oldest states: the restore goes on with what is
    /// left and says so, where it used to restore the entities saved only there as new ones without a word.
    /// </summary>
    [Theory]
    [InlineData(0, null)]
    [InlineData(1, "partition 0 of the state topic begins at offset 1: the records before it were deleted (retention, where the topic must be compacted), and the entities saved only there are restored without their state")]
    public void Restore_StateRecordsDeletedFromTheTopic_GoesOnWithoutThemAndSaysSo(long keptFrom, string? said)
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var options = broker.WorkerOptions("restore", partitions: 1);
        Write(broker, options.PaymentsTopic, ("EFE0001", Payment("A1", "1"), null), ("EFE0001", Payment("A2", "1"), null));
        Write(broker, options.StateTopic, ("P", Position(nextOffset: 2, restartPoint: 2), null), ("P", Position(nextOffset: 2, restartPoint: 2), null));
        if (keptFrom > 0) broker.DeleteRecords(options.StateTopic, 0, keptFrom);
        var lines = new List<string>();

        var restored = StateStore.Restore(new ConsumerConfig { BootstrapServers = broker.BootstrapServers }, options.StateTopic, options.PaymentsTopic, 0,
            RestorableEngine(), log: new LineLogger(lines.Add));

        Assert.Equal(2, restored.ResumeAt);
        Assert.Equal(said is null ? [] : [said], lines.Where(line => line.Contains("state topic begins", StringComparison.Ordinal)));
    }

    [Fact]
    public void Restore_StoppedWhileItsPartitionsLeaderIsOutOfReach_EndsAtTheStopNotAtItsTimeout()
    {
        using var broker = EmbeddedBroker.Start(brokers: 2);
        var options = broker.WorkerOptions("restore", partitions: 1);
        // The state partition's leader is out of reach while another broker answers: the client waits for the leader.
        broker.SetLeader(options.StateTopic, 0, 2);
        broker.SetBrokerDown(2);
        var engine = RestorableEngine();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2));

        // Its first wait is the state partition's end: 30 s, longer than a host gives its services to stop.
        Assert.Throws<OperationCanceledException>(() => StateStore.Restore(new ConsumerConfig { BootstrapServers = broker.BootstrapServers },
            options.StateTopic, options.PaymentsTopic, 0, engine, cancellation: stop.Token));
    }

    [Fact]
    public async Task Restore_ItsPartitionsLeaderBackAfterAWhile_WaitsAndRestores()
    {
        using var broker = EmbeddedBroker.Start(brokers: 2);
        var options = broker.WorkerOptions("restore", partitions: 1);
        Write(broker, options.PaymentsTopic, ("EFE0001", Payment("A1", "1"), null), ("EFE0001", Payment("A2", "1"), null));
        Write(broker, options.StateTopic, ("P", Position(nextOffset: 2, restartPoint: 0), null));
        // An election: the state partition has no leader for a while. Before, this stopped the worker as a topic without
        // the partition.
        broker.SetLeader(options.StateTopic, 0, 2);
        broker.SetBrokerDown(2);
        var engine = RestorableEngine();

        var restore = Task.Run(() => StateStore.Restore(new ConsumerConfig { BootstrapServers = broker.BootstrapServers }, options.StateTopic,
            options.PaymentsTopic, 0, engine));
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.False(restore.IsCompleted);
        broker.SetBrokerUp(2);

        var restored = await restore.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal((2, 2), (restored.ResumeAt, restored.Replayed));
    }

    [Fact]
    public async Task Restore_StateTopicUnknownToTheBrokerForAWhile_WaitsAndRestores()
    {
        // As a broker that has not yet learnt of a topic just created answers: the topic's error is no missing partition.
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var options = broker.WorkerOptions("restore", partitions: 1);
        Write(broker, options.PaymentsTopic, ("EFE0001", Payment("A1", "1"), null));
        Write(broker, options.StateTopic, ("P", Position(nextOffset: 1, restartPoint: 0), null));
        broker.SetTopicError(options.StateTopic, ErrorCode.UnknownTopicOrPart);
        var engine = RestorableEngine();

        var restore = Task.Run(() => StateStore.Restore(new ConsumerConfig { BootstrapServers = broker.BootstrapServers, TopicMetadataRefreshIntervalMs = 500 },
            options.StateTopic, options.PaymentsTopic, 0, engine));
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.False(restore.IsCompleted, restore.Exception?.InnerException?.Message);
        broker.SetTopicError(options.StateTopic, ErrorCode.NoError);

        var restored = await restore.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal((1, 1), (restored.ResumeAt, restored.Replayed));
    }

    [Fact]
    public void Restore_StateTopicWithFewerPartitionsThanThePayments_FailsSayingSo()
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var options = new KafkaOptions { BootstrapServers = broker.BootstrapServers };
        broker.CreateTopic(options.PaymentsTopic, 2);
        broker.CreateTopic(options.StateTopic, 1);

        var error = Restore(broker, options, partition: 1);

        Assert.Equal($"the state topic '{options.StateTopic}' has no partition 1: it needs as many partitions as the payments topic",
            Assert.IsType<InvalidDataException>(error).Message);
    }

    [Fact]
    public async Task Run_StateTopicWithFewerPartitionsThanThePayments_StopsTheWorkerSayingSo()
    {
        // The partition is claimed before it is restored: the claim's refusal is judged as the restore's would be.
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var options = new KafkaOptions { BootstrapServers = broker.BootstrapServers, ReferenceFile = Samples("reference.json"), GroupId = "restore" };
        broker.CreateFlowWatchTopics(options, partitions: 2);
        var state = new KafkaOptions { StateTopic = "flowwatch.state.short" }.StateTopic;
        broker.CreateTopic(state, 1);
        options.StateTopic = state;
        var worker = NewWorker(options);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        var error = await Record.ExceptionAsync(() => worker.RunAsync(stop.Token));

        Assert.False(stop.IsCancellationRequested, "the worker kept restarting instead of stopping");
        Assert.Equal($"the state topic '{state}' has no partition 1: it needs as many partitions as the payments topic", Assert.IsType<InvalidDataException>(error).Message);
    }

    [Fact]
    public async Task Run_StoppedWhileAStatePartitionHasNoLeader_StopsWithoutWaitingForItsClaim()
    {
        using var broker = EmbeddedBroker.Start(brokers: 2);
        var options = broker.WorkerOptions("restore", partitions: 1, o => o.InstanceId = "claiming");
        // Everything on broker 1 but the state partition, whose leader is out of reach.
        foreach (var topic in new[] { options.PaymentsTopic, options.AlertsTopic, options.DeadLetterTopic, options.AggregatesTopic }) broker.SetLeader(topic, 0, 1);
        broker.SetCoordinator("group", options.GroupId, 1);
        broker.SetCoordinator("transaction", $"{options.TransactionalIdPrefix}-{options.InstanceId}", 1);
        broker.SetLeader(options.StateTopic, 0, 2);
        broker.SetBrokerDown(2);
        var lines = new List<string>();
        var worker = NewWorker(options, new LineLogger(line => { lock (lines) lines.Add(line); }));
        using var stop = new CancellationTokenSource();
        var running = worker.RunAsync(stop.Token);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!worker.Status.Description.Contains("restoring", StringComparison.Ordinal) && DateTime.UtcNow < deadline) await Task.Delay(100);
        Assert.Contains("restoring", worker.Status.Description, StringComparison.Ordinal);
        // Within the claim's wait, which lasts up to CatchUpTimeout.
        await Task.Delay(TimeSpan.FromSeconds(2));

        var stopping = System.Diagnostics.Stopwatch.StartNew();
        await stop.CancelAsync();
        await running.WaitAsync(TimeSpan.FromSeconds(60));

        // The claim could wait for its delivery up to CatchUpTimeout (60 s), past the 30 s a host gives its services.
        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(20), $"stopped {stopping.Elapsed.TotalSeconds:0.0} s after the stop");
    }

    [Fact]
    public async Task Run_AnOutputTopicItMayNotWrite_RestartsWithGrowingPauses()
    {
        // Each session gets as far as consuming and fails at its first dead letter: without a commit, the pauses grow, as
        // they do while the broker is out of reach, rather than restarting (and rejoining the group) every second.
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var options = broker.WorkerOptions("restore", partitions: 1);
        Write(broker, options.PaymentsTopic, ("EFE0001", "not a payment"u8.ToArray(), null));
        broker.SetTopicError(options.DeadLetterTopic, ErrorCode.TopicAuthorizationFailed);
        var pauses = new List<string>();
        var worker = NewWorker(options, new LineLogger(line =>
        {
            if (line.Contains("; restarting from the committed state in ", StringComparison.Ordinal)) lock (pauses) pauses.Add(line[line.LastIndexOf(" in ", StringComparison.Ordinal)..]);
        }));
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var running = worker.RunAsync(stop.Token);

        while (!stop.IsCancellationRequested && Volatile.Read(ref pauses).Count < 3) await Task.Delay(100);
        await stop.CancelAsync();
        await running;

        lock (pauses) Assert.Equal([" in 1 s", " in 2 s", " in 4 s"], pauses.Take(3));
    }

    [Theory]
    [InlineData(ErrorCode.TopicAuthorizationFailed)]
    [InlineData(ErrorCode.UnknownTopicOrPart)]
    public async Task Run_PaymentsTopicItCannotRead_SaysWhyInTheLogAndItsStatus(ErrorCode error)
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var options = broker.WorkerOptions("restore", partitions: 1);
        broker.SetTopicError(options.PaymentsTopic, error);
        var said = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var worker = NewWorker(options, new LineLogger(line =>
        {
            if (line.StartsWith("consuming the payments: ", StringComparison.Ordinal)) said.TrySetResult(line);
        }));
        using var stop = new CancellationTokenSource();
        var running = worker.RunAsync(stop.Token);

        var line = await said.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var status = worker.Status;
        await stop.CancelAsync();
        await running;

        Assert.StartsWith($"consuming the payments: {error}: ", line, StringComparison.Ordinal);
        Assert.False(status.IsConsuming);
        Assert.StartsWith("waiting for partitions: ", status.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_StateTopicThatCannotBeRestored_StopsTheWorkerWithTheReason()
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var options = broker.WorkerOptions("restore", partitions: 1);
        Write(broker, options.StateTopic, ("E/E-HQ-001", [3, 20, (byte)'E'], Through(0)), ("P", Position(nextOffset: 1, restartPoint: 1), null));
        var worker = new StreamingWorker(options, new RuleSettings(), ReferenceData.Empty, TimeProvider.System);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        var error = await Record.ExceptionAsync(() => worker.RunAsync(stop.Token));

        Assert.False(stop.IsCancellationRequested, "the worker kept restarting instead of stopping");
        Assert.Contains("record 'E/E-HQ-001' cannot be read", Assert.IsType<InvalidDataException>(error).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunCommand_StateTopicThatCannotBeRestored_LogsTheStopAndExitsWithCannotRunInsteadOfCrashing()
    {
        // An error raised inside the running worker, once its host runs: the command, in a process of its own as deployed,
        // must end with its code and the reason, not an unhandled exception.
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var options = broker.WorkerOptions("flowwatch", partitions: 1);
        Write(broker, options.StateTopic, ("E/E-HQ-001", [3, 20, (byte)'E'], Through(0)), ("P", Position(nextOffset: 1, restartPoint: 1), null));
        var start = Executable("run", "--bootstrap-servers", broker.BootstrapServers,
            "--reference", Samples("reference.json"), "--urls", "http://127.0.0.1:0");
        using var run = System.Diagnostics.Process.Start(start)!;
        var output = run.StandardOutput.ReadToEndAsync();
        var err = await run.StandardError.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(90));
        await run.WaitForExitAsync();

        Assert.Equal(FlowWatch.Worker.Cli.CommandLine.CannotRun, run.ExitCode);
        Assert.Contains("flowwatch: cannot run: partition 0 of the state topic: record 'E/E-HQ-001' cannot be read", err, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", err, StringComparison.Ordinal);
        Assert.Contains("StreamingWorker[1009]", err + await output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_ParametersInThePaymentsStreamWithAReferenceTopic_AreDeadLettersThatSaySo()
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var options = broker.WorkerOptions("stream-parameters", partitions: 1, o => o.ReferenceTopic = "flowwatch.reference");
        broker.CreateTopic(options.ReferenceTopic, 1);
        Write(broker, options.PaymentsTopic,
            ("EFE0001", """{"type":"PARAMETERS","ts":"2026-03-03T00:00:00+08:00","macroPrudentialFactor":0.5}"""u8.ToArray(), null),
            ("EFE0001", Payment("F1", "6000000"), null));
        var worker = NewWorker(options);
        using var stop = new CancellationTokenSource();
        var running = worker.RunAsync(stop.Token);
        var deadLetter = Assert.Single(StreamingWorkerTests.ReadAll(broker.BootstrapServers, options.DeadLetterTopic, 1));
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (worker.Counters.Accepted == 0 && DateTime.UtcNow < deadline) await Task.Delay(100);
        await stop.CancelAsync();
        await running;

        Assert.Equal("type: PARAMETERS records come from the reference topic 'flowwatch.reference' here, not from the payments stream",
            Encoding.UTF8.GetString(deadLetter.Headers.GetLastBytes("flowwatch.reason")));
        Assert.Equal((1L, 1L), (worker.Counters.Accepted, worker.Counters.DeadLetters));
        // F1 was judged with the reference data's factor of 1: a cap of 10,000,000, not breached.
        Assert.DoesNotContain(StreamingWorkerTests.ReadAll(broker.BootstrapServers, options.AlertsTopic, 0),
            m => JsonNode.Parse(m.Value)!["rule"]!.GetValue<string>() == RuleCodes.PenetrationCapBreach);
    }

    [Fact]
    public async Task Run_BrokerOutOfReachLongerThanTheCatchUpWaits_RestartsTheSessionInsteadOfStopping()
    {
        var options = new KafkaOptions
        {
            BootstrapServers = "127.0.0.1:1", ReferenceFile = Samples("reference.json"), ReferenceTopic = "flowwatch.reference",
            TransactionTimeout = TimeSpan.FromSeconds(1), CatchUpTimeout = TimeSpan.FromSeconds(2),
        };
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var worker = new StreamingWorker(options, new RuleSettings(), ReferenceData.Empty, TimeProvider.System, logger: new LineLogger(lines.Enqueue));
        using var stop = new CancellationTokenSource();

        var running = worker.RunAsync(stop.Token);
        // Two waits of the reference feed, each followed by a restart: 2 s, 1 s back-off, 2 s, 2 s back-off.
        var stoppedByItself = await Task.WhenAny(running, Task.Delay(TimeSpan.FromSeconds(9))) == running;
        await stop.CancelAsync();
        await running.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.False(stoppedByItself, string.Join("\n", lines));
        Assert.True(lines.Count(line => line.Contains("Timeout: the reference topic 'flowwatch.reference' did not reach its end in 2 s; restarting", StringComparison.Ordinal)) >= 2,
            string.Join("\n", lines));
    }
}
