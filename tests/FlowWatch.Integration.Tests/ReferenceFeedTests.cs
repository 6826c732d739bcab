using System.Text;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using FlowWatch.Core.Engine;
using FlowWatch.Core.Reference;
using FlowWatch.Worker.Kafka;
using static FlowWatch.Integration.Tests.TestKafka;

namespace FlowWatch.Integration.Tests;

/// <summary>Supervisors change parameters, and banks reference data, through their own topics while the worker runs.</summary>
public sealed class ReferenceFeedTests
{
    [Fact]
    public async Task Poll_FetchesFailingForAWhile_WaitsThemOutAndAppliesWhatComesAfter()
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var options = new KafkaOptions { BootstrapServers = broker.BootstrapServers, ReferenceFile = Samples("reference.json"), ControlTopic = "flowwatch.control" };
        broker.CreateTopic(options.ControlTopic, 1);
        using var feed = new ReferenceFeed(options, ReferenceDataLoader.LoadFile(Samples("reference.json")), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        // A broker's hiccup: its next fetches fail (the client fetches again by itself).
        const short Fetch = 1;
        broker.FailNextRequests(Fetch, [.. Enumerable.Repeat(ErrorCode.RequestTimedOut, 3)]);
        using (var producer = new ProducerBuilder<string?, string>(new ProducerConfig { BootstrapServers = broker.BootstrapServers }).Build())
        {
            await producer.ProduceAsync(options.ControlTopic, new Message<string?, string> { Value = """{"type":"PARAMETERS","ts":"2026-03-03T00:00:00+08:00","macroPrudentialFactor":0.5}""" });
        }

        await WaitFor(feed.Poll);

        Assert.Equal(0.5m, feed.Current.Parameters.MacroPrudentialFactor);
    }

    /// <summary>
    /// A holder without an entity record is said (event 1020) of the document in force once the topic is read, not of
    /// every one before it, nor again by the next session's feed, only again when it changes.
    /// </summary>
    [Fact]
    public async Task Feed_DocumentsWithAHolderWithoutRecord_SaidOnceOfTheDocumentInForceAndAgainOnlyWhenItChanges()
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var options = new KafkaOptions { BootstrapServers = broker.BootstrapServers, ReferenceFile = Samples("reference.json"), ReferenceTopic = "flowwatch.reference" };
        broker.CreateTopic(options.ReferenceTopic, 1);
        string Document(string holder) => $$"""{"fxRates":{"USD":7.1},"accounts":[{"account":"EFE7001","kind":"EFE","entityId":"{{holder}}"}]}""";
        using var producer = new ProducerBuilder<string?, string>(new ProducerConfig { BootstrapServers = broker.BootstrapServers }).Build();
        foreach (var holder in new[] { "E-OLD-1", "E-OLD-2", "E-TYPO-3" })
        {
            await producer.ProduceAsync(options.ReferenceTopic, new Message<string?, string> { Key = "reference", Value = Document(holder) });
        }
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var holders = new HoldersWithoutRecordWarning();
        var initial = ReferenceDataLoader.LoadFile(Samples("reference.json"));

        using (new ReferenceFeed(options, initial, new LineLogger(lines.Enqueue), holders: holders)) { }
        using (var nextSession = new ReferenceFeed(options, initial, new LineLogger(lines.Enqueue), holders: holders))
        {
            await producer.ProduceAsync(options.ReferenceTopic, new Message<string?, string> { Key = "reference", Value = Document("E-TYPO-4") });
            await WaitFor(nextSession.Poll);
        }

        Assert.Equal(["EFE**** of 'E-TYPO-3'", "EFE**** of 'E-TYPO-4'"],
            lines.Where(line => line.StartsWith("reference data: monitored accounts name holders", StringComparison.Ordinal)).Select(line => line[(line.LastIndexOf('?') + 2)..]));
    }

    [Fact]
    public async Task Run_ControlAndReferenceTopics_ApplyToEventsProcessedAfterThem()
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var options = broker.WorkerOptions("feed", partitions: 2, o => (o.ReferenceTopic, o.ControlTopic) = ("flowwatch.reference", "flowwatch.control"));
        broker.CreateTopic(options.ReferenceTopic, 1);
        broker.CreateTopic(options.ControlTopic, 1);
        var log = new StringBuilderSink();
        var worker = NewWorker(options, new LineLogger(log.Add));
        using var run = WorkerRun.Of(worker);
        await worker.Ready.WaitAsync(TimeSpan.FromSeconds(60));
        using var producer = new ProducerBuilder<string?, string>(new ProducerConfig { BootstrapServers = broker.BootstrapServers }).Build();

        // E-HQ-001 has 10,000,000 of owner's equity: 6,000,000 of net inflow is 60% of its cap.
        await producer.ProduceAsync(options.PaymentsTopic, Payment("F1", "EFE0001", "6000000", cpKind: "DOMESTIC", cpAccount: "DOM-HQ-001"));
        await WaitFor(() => worker.Counters.Accepted == 1);
        // The supervisor halves the macro-prudential factor (Hengqin Art.18): the cap becomes 5,000,000.
        await producer.ProduceAsync(options.ControlTopic, new Message<string?, string> { Value = """{"type":"PARAMETERS","ts":"2026-03-03T00:00:00+08:00","macroPrudentialFactor":0.5}""" });
        await WaitFor(() => log.Text.Contains("parameters changed", StringComparison.Ordinal));
        await producer.ProduceAsync(options.PaymentsTopic, Payment("F2", "EFE0001", "100", cpKind: "DOMESTIC", cpAccount: "DOM-HQ-001"));

        // A new client's account, unknown to the file, arrives with new reference data.
        var updated = JsonNode.Parse(await File.ReadAllTextAsync(Samples("reference.json")))!;
        updated["entities"]!.AsArray().Add(new JsonObject { ["entityId"] = "E-NEW-9", ["type"] = "CORPORATE" });
        updated["accounts"]!.AsArray().Add(new JsonObject { ["account"] = "FTE9001", ["kind"] = "FTE", ["entityId"] = "E-NEW-9" });
        await producer.ProduceAsync(options.ReferenceTopic, new Message<string?, string> { Key = "reference", Value = updated.ToJsonString() });
        await producer.ProduceAsync(options.ReferenceTopic, new Message<string?, string> { Key = "reference", Value = """{"fxRates":{"HKD":0.91}}""" });
        // A name that is not valid Unicode text (half a surrogate pair) is a broken record like any other.
        await producer.ProduceAsync(options.ReferenceTopic, new Message<string?, string> { Key = "reference", Value = """{"fxRates":{"USD":7.1,"\ud800":1}}""" });
        await WaitFor(() => log.Text.Split("reference record rejected").Length == 3);
        Assert.Contains("fxRates: holds a name that is not valid Unicode text", log.Text, StringComparison.Ordinal);
        var cash = Payment("F3", "FTE9001", "60000", cpKind: "DOMESTIC", cpAccount: "CASH-DESK");
        cash.Value = cash.Value.Replace("\"currency\"", "\"method\":\"CASH\",\"currency\"", StringComparison.Ordinal);
        await producer.ProduceAsync(options.PaymentsTopic, cash);

        await WaitFor(() => worker.Counters.Accepted == 3);
        // Alerts of different entities sit in different partitions: read until both later events' alerts are in.
        var alerts = ReadAlerts(broker.BootstrapServers, options.AlertsTopic,
            until: a => a.Any(x => x["txnId"]!.GetValue<string>() == "F2") && a.Any(x => x["txnId"]!.GetValue<string>() == "F3"));
        await run.StopAsync();

        var breach = Assert.Single(alerts, a => a["rule"]!.GetValue<string>() == RuleCodes.PenetrationCapBreach);
        Assert.Equal("F2", breach["txnId"]!.GetValue<string>());
        Assert.Equal(5_000_000m, breach["metrics"]!["cap"]!.GetValue<decimal>());
        Assert.DoesNotContain(alerts, a => a["txnId"]!.GetValue<string>() == "F1" && a["rule"]!.GetValue<string>().StartsWith("PENETRATION_CAP", StringComparison.Ordinal));
        var cashAlert = Assert.Single(alerts, a => a["rule"]!.GetValue<string>() == RuleCodes.CashOnZoneAccount);
        Assert.Equal("E-NEW-9", cashAlert["entityId"]!.GetValue<string>());
        Assert.Equal(0, worker.Counters.DeadLetters);
    }

    /// <summary>
    /// A restore processes the payments after its restart point again under the parameters in force when they were
    /// first processed: a change from the control topic that came between them must not be lost (nor applied early).
    /// Here it adds FTE to the kinds that count, a commit fails after it, and the next session restores.
    /// </summary>
    [Fact]
    public async Task Run_CommitFailsAfterAParameterChange_RestoreCountsThePaymentsAfterItUnderTheNewParameters()
    {
        const short EndTxn = 26;
        using var broker = EmbeddedBroker.Start(brokers: 1);
        // Entity states saved far apart: every restore processes the payments since the first one again.
        var options = broker.WorkerOptions("feed-restore", partitions: 1, o => (o.ControlTopic, o.CheckpointInterval) = ("flowwatch.control", TimeSpan.FromMinutes(10)));
        broker.CreateTopic(options.ControlTopic, 1);
        var log = new StringBuilderSink();
        var worker = NewWorker(options, new LineLogger(log.Add));
        using var run = WorkerRun.Of(worker);
        await worker.Ready.WaitAsync(TimeSpan.FromSeconds(60));
        using var producer = new ProducerBuilder<string?, string>(new ProducerConfig { BootstrapServers = broker.BootstrapServers }).Build();

        // E-TJ-003 moves 1,000,000 CNY into its FTE account from its own domestic account: FTE does not count yet.
        await producer.ProduceAsync(options.PaymentsTopic, FteInflow("T1"));
        await WaitFor(() => worker.Counters.Accepted == 1);
        await Task.Delay(500);   // committed
        await producer.ProduceAsync(options.ControlTopic, new Message<string?, string> { Value = AddFte });
        await WaitFor(() => log.Text.Contains("parameters changed", StringComparison.Ordinal));
        await Task.Delay(500);
        // Now it counts; the commit of this payment fails and the next session restores the partition.
        broker.FailNextRequests(EndTxn, ErrorCode.RequestTimedOut);
        await producer.ProduceAsync(options.PaymentsTopic, FteInflow("T2"));
        await WaitFor(() => log.Text.Split("partition 0 restored").Length > 2);
        await run.StopAsync();

        // An uninterrupted run: the change in the stream between the two payments.
        var expected = new FlowEngine(ReferenceDataLoader.LoadFile(options.ReferenceFile), new RuleSettings());
        foreach (var record in new[] { FteInflow("T1").Value, AddFte, FteInflow("T2").Value }) expected.Process(Encoding.UTF8.GetBytes(record), 0, [], out _);
        var restored = new FlowEngine(ReferenceDataLoader.LoadFile(options.ReferenceFile), new RuleSettings());
        StateStore.Restore(new ConsumerConfig { BootstrapServers = broker.BootstrapServers }, options.StateTopic, options.PaymentsTopic, 0, restored);
        Assert.Single(expected.FindEntity("E-TJ-003")!.PenetrationPositions(), p => p.NetInflow != 0);
        Assert.Equal(expected.FindEntity("E-TJ-003")!.PenetrationPositions(), restored.FindEntity("E-TJ-003")!.PenetrationPositions());
    }

    private const string AddFte = """{"type":"PARAMETERS","ts":"2026-03-03T00:00:00+08:00","penetrationKinds":["EFE","FTE"]}""";

    private static Message<string?, string> FteInflow(string txnId) => new()
    {
        Key = "FTE3001",
        Value = $$"""{"txnId":"{{txnId}}","ts":"2026-03-03T10:00:00+08:00","account":"FTE3001","direction":"IN","amount":"1000000","currency":"CNY","cpKind":"DOMESTIC","cpAccount":"DOM-TJ-003","cpEntityId":"E-TJ-003","purpose":"GOODS_TRADE"}""",
    };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ReferenceFeed_StartingAfterAReferenceRecordAndAControlRecord_KeepsTheParametersOfTheLaterOne(bool controlFirst)
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var options = FeedTopics(broker);
        using var producer = new ProducerBuilder<string?, string>(new ProducerConfig { BootstrapServers = broker.BootstrapServers }).Build();
        // The file's parameters (factor 1) and the supervisor's change (factor 0.5), written a second apart.
        var written = DateTimeOffset.UtcNow;
        var reference = new Message<string?, string>
        {
            Key = "reference", Value = await File.ReadAllTextAsync(Samples("reference.json")),
            Timestamp = new Timestamp(controlFirst ? written : written.AddSeconds(-1)),
        };
        var control = new Message<string?, string>
        {
            Value = """{"type":"PARAMETERS","ts":"2026-03-03T00:00:00+08:00","macroPrudentialFactor":0.5}""",
            Timestamp = new Timestamp(controlFirst ? written.AddSeconds(-1) : written),
        };

        // A running worker reads them in this order; one that starts later must come to the same parameters.
        if (controlFirst) await producer.ProduceAsync(options.ControlTopic, control);
        await producer.ProduceAsync(options.ReferenceTopic, reference);
        if (!controlFirst) await producer.ProduceAsync(options.ControlTopic, control);
        using var feed = new ReferenceFeed(options, ReferenceDataLoader.LoadFile(Samples("reference.json")), new LineLogger(_ => { }));

        Assert.Equal(controlFirst ? 1m : 0.5m, feed.Current.Parameters.MacroPrudentialFactor);
    }

    /// <summary>
    /// The newer of two reference documents (the later offset) wins even when it carries the older timestamp (a
    /// producer's clock behind, a record stamped when it was made): ordering a topic's records by timestamp made a
    /// starting worker apply the superseded one last.
    /// </summary>
    [Fact]
    public async Task ReferenceFeed_NewerDocumentWithAnOlderTimestamp_IsTheOneInForce()
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var options = FeedTopics(broker);
        using var producer = new ProducerBuilder<string?, string>(new ProducerConfig { BootstrapServers = broker.BootstrapServers }).Build();
        var document = JsonNode.Parse(await File.ReadAllTextAsync(Samples("reference.json")))!;
        var written = DateTimeOffset.UtcNow;
        foreach (var (factor, at) in new[] { (0.7m, written), (0.6m, written.AddMinutes(-5)) })
        {
            document["parameters"]!["macroPrudentialFactor"] = factor;
            await producer.ProduceAsync(options.ReferenceTopic, new Message<string?, string> { Key = "reference", Value = document.ToJsonString(), Timestamp = new Timestamp(at) });
        }
        await producer.ProduceAsync(options.ControlTopic, new Message<string?, string>
        {
            Value = """{"type":"PARAMETERS","ts":"2026-03-03T00:00:00+08:00","inflowLeverage":3}""", Timestamp = new Timestamp(written.AddMinutes(1)),
        });

        using var feed = new ReferenceFeed(options, ReferenceDataLoader.LoadFile(Samples("reference.json")), new LineLogger(_ => { }));

        Assert.Equal(0.6m, feed.Current.Parameters.MacroPrudentialFactor);
        Assert.Equal(3m, feed.Current.Parameters.InflowLeverage);
    }

    /// <summary>
    /// A reference or control topic of several partitions is refused as the feed starts, naming it: records in a
    /// partition other than the first were never applied, without a word.
    /// </summary>
    [Theory]
    [InlineData("reference")]
    [InlineData("control")]
    public void Start_TopicOfSeveralPartitions_IsRefusedNamingIt(string role)
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var options = new KafkaOptions
        {
            BootstrapServers = broker.BootstrapServers, ReferenceFile = Samples("reference.json"),
            ReferenceTopic = "flowwatch.reference", ControlTopic = "flowwatch.control",
        };
        broker.CreateTopic(options.ReferenceTopic, role == "reference" ? 4 : 1);
        broker.CreateTopic(options.ControlTopic, role == "control" ? 3 : 1);

        var error = Assert.Throws<InvalidDataException>(() => new ReferenceFeed(options, ReferenceDataLoader.LoadFile(Samples("reference.json")), new LineLogger(_ => { })));

        var (topic, partitions) = role == "reference" ? (options.ReferenceTopic, 4) : (options.ControlTopic, 3);
        Assert.Equal($"the {role} topic '{topic}' has {partitions} partitions: it must have one, whose records are applied in the order they were written", error.Message);
    }

    /// <summary>Options naming a reference and a control topic, made on <paramref name="broker"/> with a partition each.</summary>
    private static KafkaOptions FeedTopics(EmbeddedBroker broker)
    {
        var options = new KafkaOptions
        {
            BootstrapServers = broker.BootstrapServers, ReferenceFile = Samples("reference.json"),
            ReferenceTopic = "flowwatch.reference", ControlTopic = "flowwatch.control",
        };
        broker.CreateTopic(options.ReferenceTopic, 1);
        broker.CreateTopic(options.ControlTopic, 1);
        return options;
    }

    private static Message<string?, string> Payment(string txnId, string account, string amount, string cpKind, string cpAccount) => new()
    {
        Key = account,
        Value = $$"""{"txnId":"{{txnId}}","ts":"2026-03-03T10:00:00+08:00","account":"{{account}}","direction":"OUT","amount":"{{amount}}","currency":"CNY","cpKind":"{{cpKind}}","cpAccount":"{{cpAccount}}","purpose":"GOODS_TRADE"}""",
    };

    [Fact]
    public async Task Run_StoppedWhileWaitingForTheReferenceTopic_StopsWithoutWaitingForItsEnd()
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        // A reference topic that does not exist never reaches its end: the worker waits for it as it starts.
        var options = broker.WorkerOptions("feed-stop", partitions: 1,
            o => (o.ReferenceTopic, o.CatchUpTimeout) = ("flowwatch.reference.missing", TimeSpan.FromHours(1)));
        var worker = NewWorker(options);
        using var run = WorkerRun.Of(worker);
        await Task.Delay(TimeSpan.FromSeconds(2));

        // A SIGTERM's stop: the host waits 30 s for the worker, then leaves it behind.
        await run.StopAsync(within: TimeSpan.FromSeconds(30));

        Assert.False(worker.Ready.IsCompleted);
    }

    private static async Task WaitFor(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("condition not met in 30 s");
            await Task.Delay(50);
        }
    }

    private static List<JsonNode> ReadAlerts(string bootstrapServers, string topic, Func<List<JsonNode>, bool> until)
    {
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers, GroupId = "feed-reader", AutoOffsetReset = AutoOffsetReset.Earliest, IsolationLevel = IsolationLevel.ReadCommitted,
        }).Build();
        consumer.Subscribe(topic);
        var alerts = new List<JsonNode>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!until(alerts) && DateTime.UtcNow < deadline)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is { Message.Value: { } value }) alerts.Add(JsonNode.Parse(Encoding.UTF8.GetString(value))!);
        }
        consumer.Close();
        return alerts;
    }

    private sealed class StringBuilderSink
    {
        private readonly Lock _gate = new();
        private readonly StringBuilder _text = new();

        public string Text
        {
            get
            {
                lock (_gate) return _text.ToString();
            }
        }

        public void Add(string line)
        {
            lock (_gate) _text.AppendLine(line);
        }
    }

    /// <summary>
    /// While the feed catches up it says which topics it still waits for and, once the broker says so, why; a wait that
    /// times out names the topic that did not end.
    /// </summary>
    [Fact]
    public void Start_ControlTopicMissing_SaysItWaitsForThatTopicAndWhy()
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var options = new KafkaOptions
        {
            BootstrapServers = broker.BootstrapServers, ReferenceFile = Samples("reference.json"),
            ReferenceTopic = "flowwatch.reference", ControlTopic = "flowwatch.control-missing", CatchUpTimeout = TimeSpan.FromSeconds(4),
        };
        broker.CreateTopic(options.ReferenceTopic, 1);
        var said = new List<string>();

        var error = Assert.Throws<TimeoutException>(() => new ReferenceFeed(options, ReferenceDataLoader.LoadFile(Samples("reference.json")), new LineLogger(_ => { }), said.Add));

        Assert.Equal("the control topic 'flowwatch.control-missing' did not reach its end in 4 s (Broker: Unknown topic or partition)", error.Message);
        Assert.Equal("reading the reference topic 'flowwatch.reference' and the control topic 'flowwatch.control-missing' to their end", said[0]);
        // The reference topic's end comes at once; should the broker be asked first, it names the topic of its error.
        Assert.Contains("reading the control topic 'flowwatch.control-missing' to its end", said);
        Assert.Equal("reading the control topic 'flowwatch.control-missing' to its end (Broker: Unknown topic or partition)", said[^1]);
    }
}
