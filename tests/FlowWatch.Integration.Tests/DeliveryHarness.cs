using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Engine;
using FlowWatch.Core.Reference;
using FlowWatch.Core.Scoring;
using FlowWatch.Simulator;
using FlowWatch.Training;
using FlowWatch.Worker.Kafka;
using Xunit.Abstractions;
using static FlowWatch.Testing.CommandRunner;

namespace FlowWatch.Integration.Tests;

/// <summary>
/// A payments stream on an embedded broker, <c>flowwatch run</c> worker processes, and the oracle that judges
/// what they did: the engine run uninterrupted over each payments partition in offset order.
/// </summary>
internal sealed partial class DeliveryHarness : IDisposable
{
    [System.Text.RegularExpressions.GeneratedRegex(@"partition (\d+) restored")]
    private static partial System.Text.RegularExpressions.Regex RestoredPartition();

    public const int Partitions = 3;

    private readonly ITestOutputHelper _output;
    private readonly string _dir = Directory.CreateTempSubdirectory("flowwatch-delivery-").FullName;
    private readonly List<Process> _workers = [];
    private readonly ReferenceData _reference;

    /// <summary>The committed models beside the test binaries, which the worker processes load too.</summary>
    private readonly ModelHolder _models = new(ModelFiles.Load(Path.Combine(AppContext.BaseDirectory, "models")));

    /// <param name="output">Where the harness and the workers log.</param>
    /// <param name="payments">How many payments the stream has.</param>
    /// <param name="seed">Seed of the synthetic traffic.</param>
    /// <param name="spacing">Event time between payments (7 s unless given).</param>
    public DeliveryHarness(ITestOutputHelper output, int payments, int seed, TimeSpan? spacing = null)
    {
        _output = output;
        Broker = EmbeddedBroker.Start(brokers: 1);
        Options = new KafkaOptions { BootstrapServers = Broker.BootstrapServers, GroupId = "delivery", ReferenceFile = Path.Combine(_dir, "reference.json") };
        Broker.CreateFlowWatchTopics(Options, Partitions);
        var traffic = new SyntheticPayments(entities: 300, seed: seed, violationRate: 0.02);
        File.WriteAllText(Options.ReferenceFile, traffic.ReferenceJson());
        _reference = ReferenceDataLoader.LoadFile(Options.ReferenceFile);
        Payments = traffic.KeyedEvents(payments, new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.FromHours(8)), spacing ?? TimeSpan.FromSeconds(7), $"S{seed}-");
    }

    public EmbeddedBroker Broker { get; }

    public KafkaOptions Options { get; }

    public IReadOnlyList<SyntheticEvent> Payments { get; }

    public ReferenceData Reference => _reference;

    public ModelHolder Models => _models;

    /// <summary>Each partition a worker process restored, with when it said so.</summary>
    public ConcurrentQueue<(DateTime At, string Worker, int Partition)> Restores { get; } = new();

    /// <summary>Produces the payments, keyed by account, in chunks of 100 every 100 ms.</summary>
    public Task ProduceAsync() => Task.Run(async () =>
    {
        using var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = Broker.BootstrapServers, EnableIdempotence = true, MessageTimeoutMs = 120_000 }).Build();
        foreach (var chunk in Payments.Chunk(100))
        {
            foreach (var payment in chunk) producer.Produce(Options.PaymentsTopic, new Message<string, byte[]> { Key = payment.Account, Value = payment.Line });
            await Task.Delay(100);
        }
        Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(120)));
    });

    /// <summary>Starts <c>flowwatch run</c> as its own process; the task completes once it has restored partitions.</summary>
    public (Process Worker, Task Restored) StartWorker(string instanceId)
    {
        var restored = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var start = Executable("run", "--bootstrap-servers", Broker.BootstrapServers, "--reference", Options.ReferenceFile);
        start.Environment["FLOWWATCH_FlowWatch__Kafka__GroupId"] = Options.GroupId;
        start.Environment["FLOWWATCH_FlowWatch__Kafka__InstanceId"] = instanceId;
        start.Environment["FLOWWATCH_FlowWatch__Kafka__CommitInterval"] = "00:00:00.050";
        // Checkpoints far apart compared with commits: every restore processes payments after one again.
        start.Environment["FLOWWATCH_FlowWatch__Kafka__CheckpointInterval"] = "00:00:01";
        // Several workers at once: each serves its dashboard on a free port.
        start.Environment["FLOWWATCH_FlowWatch__Dashboard__Urls"] = "http://127.0.0.1:0";
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            Log($"[{instanceId}] {e.Data}");
            if (!e.Data.Contains("restored", StringComparison.Ordinal)) return;
            if (RestoredPartition().Match(e.Data) is { Success: true } match)
            {
                Restores.Enqueue((DateTime.UtcNow, instanceId, int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)));
            }
            restored.TrySetResult();
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null) Log($"[{instanceId}] {e.Data}");
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _workers.Add(process);
        return (process, restored.Task);
    }

    /// <summary>SIGTERM: the worker commits what it has and leaves its group.</summary>
    public static async Task StopGracefully(Process worker)
    {
        using (var kill = Process.Start("kill", ["-TERM", worker.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) await kill.WaitForExitAsync();
        await worker.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, worker.ExitCode);   // SIGTERM is a clean stop: summary printed, exit code 0
    }

    public void Log(string line)
    {
        try
        {
            _output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {line}");
        }
        catch (InvalidOperationException)
        {
            // the test has finished; a worker still printing is of no interest
        }
    }

    /// <summary>
    /// Waits until the committed state of every partition has reached the end of the payments, then checks
    /// everything against the oracle: each payment counted once, every entity's events and penetration positions,
    /// and the alerts a read_committed consumer sees (each of the oracle's, once).
    /// </summary>
    public async Task VerifyAgainstOracle(TimeSpan timeout)
    {
        var ends = PaymentEnds();
        // Every payment is in the topic; a producer that retried while the broker was away may have written one twice
        // (the embedded broker's idempotence does not always catch it), which the oracle and the worker both refuse as
        // a duplicate.
        Assert.True(ends.Values.Sum() >= Payments.Count, $"the payments topic holds {ends.Values.Sum()} records for {Payments.Count} payments");
        var states = await WaitForStates(ends, timeout);
        var (engines, oracleAlerts, accepted) = Oracle();
        Assert.Equal(Payments.Count, accepted);

        foreach (var (partition, engine) in engines)
        {
            foreach (var expected in engine.Shards.SelectMany(s => s.Entities))
            {
                var actual = states[partition].FindEntity(expected.EntityId);
                Assert.True(actual is not null, $"entity {expected.EntityId} of partition {partition} has no saved state");
                Assert.Equal(expected.Events, actual.Events);
                Assert.Equal(expected.PenetrationPositions(), actual.PenetrationPositions());
            }
        }
        // The embedded broker shows records of aborted transactions to read_committed consumers too
        // (EmbeddedBrokerTests.Transactions_AbortedOrFenced_StayVisibleToReadCommitted), so a worker killed with alerts in
        // its open transaction leaves copies that a real broker would hide. What must hold here: every alert the
        // oracle raises is there, nothing else is, and a copy is the same alert (same id, same content).
        var alerts = ReadAlerts(oracleAlerts.Count);
        var byId = alerts.GroupBy(a => JsonNode.Parse(a)!["alertId"]!.GetValue<string>()).ToList();
        var missing = oracleAlerts.Select(a => a.AlertId).Except(byId.Select(g => g.Key)).ToList();
        var unexpected = byId.Where(g => oracleAlerts.All(a => a.AlertId != g.Key)).Select(g => g.First()).ToList();
        Assert.True(missing.Count == 0 && unexpected.Count == 0,
            $"{missing.Count} oracle alerts missing: {string.Join(", ", oracleAlerts.Where(a => missing.Contains(a.AlertId)).Take(5).Select(a => $"{a.Rule} {a.EntityId} {a.TxnId}"))}; " +
            $"{unexpected.Count} unexpected: {string.Join(" | ", unexpected.Take(5))}");
        Assert.All(byId, copies => Assert.Single(copies.Select(WithoutDetectedAt).Distinct()));
        var ids = byId.Select(g => g.Key).ToList();
        Log($"verified: {Payments.Count} payments, {ids.Count} alerts, {engines.Values.Sum(e => e.Shards.Sum(s => s.EntityCount))} entities");
    }

    /// <summary>
    /// Records in the payments topic. An idempotent producer can still write a payment twice when the broker goes away
    /// while its batch is in flight; the worker then counts the copy as a duplicate (RULES.md §1).
    /// </summary>
    public long PaymentRecords() => PaymentEnds().Values.Sum();

    private Dictionary<int, long> PaymentEnds()
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = Broker.BootstrapServers, GroupId = "ends" }).Build();
        return Enumerable.Range(0, Partitions).ToDictionary(p => p,
            p => consumer.QueryWatermarkOffsets(new TopicPartition(Options.PaymentsTopic, new Partition(p)), TimeSpan.FromSeconds(10)).High.Value);
    }

    private async Task<Dictionary<int, FlowEngine>> WaitForStates(Dictionary<int, long> ends, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var config = new ConsumerConfig { BootstrapServers = Broker.BootstrapServers };
        while (true)
        {
            var states = new Dictionary<int, FlowEngine>();
            var positions = new List<long?>();
            for (var p = 0; p < Partitions; p++)
            {
                var engine = new FlowEngine(_reference, new RuleSettings());
                positions.Add(StateStore.Restore(config, Options.StateTopic, Options.PaymentsTopic, p, engine).ResumeAt);
                states[p] = engine;
            }
            if (Enumerable.Range(0, Partitions).All(p => positions[p] == ends[p])) return states;
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"saved positions {string.Join(", ", positions)} did not reach the ends {string.Join(", ", ends.Values)}");
            }
            await Task.Delay(500);
        }
    }

    /// <summary>
    /// The oracle's engine of each partition: the engine run uninterrupted over its payments in offset order, up to
    /// the offset in <paramref name="ends"/> when given.
    /// </summary>
    public Dictionary<int, FlowEngine> OracleEngines(RuleSettings rules, IReadOnlyDictionary<int, long>? ends = null) => Oracle(rules, ends).Engines;

    /// <summary>The alerts of the oracle's engines, partition after partition.</summary>
    public IReadOnlyList<Alert> OracleAlerts() => Oracle().Alerts;

    private (Dictionary<int, FlowEngine> Engines, List<Alert> Alerts, long Accepted) Oracle(RuleSettings? rules = null, IReadOnlyDictionary<int, long>? ends = null)
    {
        var engines = new Dictionary<int, FlowEngine>();
        var alerts = new List<Alert>();
        var counters = new EngineCounters();
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(new ConsumerConfig { BootstrapServers = Broker.BootstrapServers, GroupId = "oracle", EnablePartitionEof = true }).Build();
        for (var p = 0; p < Partitions; p++)
        {
            var engine = engines[p] = new FlowEngine(_reference, rules ?? new RuleSettings(), counters: counters, models: _models);
            consumer.Assign(new TopicPartitionOffset(Options.PaymentsTopic, new Partition(p), Offset.Beginning));
            while (consumer.Consume(TimeSpan.FromSeconds(10)) is { IsPartitionEOF: false } record)
            {
                if (ends is not null && record.Offset.Value >= ends[p]) break;
                engine.Process(record.Message.Value, record.Offset.Value, alerts, out _);
            }
        }
        return (engines, alerts, counters.Accepted);
    }

    private static string WithoutDetectedAt(string alertJson)
    {
        var node = JsonNode.Parse(alertJson)!.AsObject();
        node.Remove("detectedAt");
        return node.ToJsonString();
    }

    private List<string> ReadAlerts(int expected)
    {
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(new ConsumerConfig
        {
            BootstrapServers = Broker.BootstrapServers,
            GroupId = "alerts-reader",
            AutoOffsetReset = AutoOffsetReset.Earliest,
            IsolationLevel = IsolationLevel.ReadCommitted,
        }).Build();
        consumer.Subscribe(Options.AlertsTopic);
        var alerts = new List<string>();
        var ids = new HashSet<string>();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        var quietUntil = DateTime.MaxValue;
        while (DateTime.UtcNow < deadline && DateTime.UtcNow < quietUntil)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { Message: not null } record)
            {
                var alert = Encoding.UTF8.GetString(record.Message.Value);
                alerts.Add(alert);
                ids.Add(JsonNode.Parse(alert)!["alertId"]!.GetValue<string>());
            }
            // Once the expected number of alerts is there, read 2 s more so that an unexpected one would show.
            if (ids.Count >= expected && quietUntil == DateTime.MaxValue) quietUntil = DateTime.UtcNow.AddSeconds(2);
        }
        consumer.Close();
        return alerts;
    }

    public void Dispose()
    {
        foreach (var worker in _workers)
        {
            if (!worker.HasExited) worker.Kill();
            worker.Dispose();
        }
        Broker.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
