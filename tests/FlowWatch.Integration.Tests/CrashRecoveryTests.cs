using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Engine;
using FlowWatch.Core.Reference;
using FlowWatch.Simulator;
using FlowWatch.Worker.Kafka;
using Xunit.Abstractions;

namespace FlowWatch.Integration.Tests;

/// <summary>
/// Delivery semantics, tested by killing: worker processes (separate OS processes running <c>flowwatch run</c>)
/// are killed with SIGKILL at random points while payments flow, and restarted. Afterwards every payment is
/// accounted for, every entity's penetration position equals an oracle run of the engine over each partition
/// in order, and a read_committed consumer of the alerts topic sees each of the oracle's alerts exactly once.
/// </summary>
public sealed class CrashRecoveryTests(ITestOutputHelper output) : IDisposable
{
    private const int Partitions = 3;
    private readonly string _dir = Directory.CreateTempSubdirectory("flowwatch-crash-").FullName;
    private readonly List<Process> _workers = [];

    public void Dispose()
    {
        foreach (var worker in _workers.Where(w => !w.HasExited)) worker.Kill();
        foreach (var worker in _workers) worker.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Run_KilledWithSigkillFiveTimesWhilePaymentsFlow_LosesNothingAndCountsNothingTwice()
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var options = new KafkaOptions { BootstrapServers = broker.BootstrapServers, GroupId = "crash-test" };
        foreach (var topic in new[] { options.PaymentsTopic, options.AlertsTopic, options.StateTopic }) broker.CreateTopic(topic, Partitions);
        broker.CreateTopic(options.DeadLetterTopic, 1);
        var traffic = new SyntheticPayments(entities: 300, seed: 11, violationRate: 0.02);
        var referencePath = Path.Combine(_dir, "reference.json");
        await File.WriteAllTextAsync(referencePath, traffic.ReferenceJson());
        var reference = ReferenceDataLoader.LoadFile(referencePath);

        // Payments flow the whole time: 15,000 events over about 15 s, keyed by account.
        var payments = traffic.KeyedEvents(15_000, new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.FromHours(8)), TimeSpan.FromSeconds(7), "C");
        var producing = Task.Run(async () =>
        {
            using var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = broker.BootstrapServers, EnableIdempotence = true }).Build();
            foreach (var chunk in payments.Chunk(100))
            {
                foreach (var payment in chunk) producer.Produce(options.PaymentsTopic, new Message<string, byte[]> { Key = payment.Account, Value = payment.Line });
                await Task.Delay(100);
            }
            producer.Flush(TimeSpan.FromSeconds(30));
        });

        var random = new Random(5);
        for (var kill = 1; kill <= 5; kill++)
        {
            var (worker, restored) = StartWorker(broker.BootstrapServers, referencePath);
            await restored.WaitAsync(TimeSpan.FromSeconds(60));
            await Task.Delay(TimeSpan.FromMilliseconds(200 + random.Next(2_000)));
            worker.Kill();   // SIGKILL: no shutdown, no final commit
            await worker.WaitForExitAsync();
            output.WriteLine($"kill {kill} at {DateTime.UtcNow:HH:mm:ss.fff}");
        }
        await producing;
        var (survivor, _) = StartWorker(broker.BootstrapServers, referencePath);
        var ends = PaymentEnds(broker.BootstrapServers, options.PaymentsTopic);
        var states = await WaitForStates(broker.BootstrapServers, options, reference, ends, TimeSpan.FromSeconds(90));
        survivor.Kill();

        var oracle = Oracle(broker.BootstrapServers, options.PaymentsTopic, reference);
        var alerts = ReadAlerts(broker.BootstrapServers, options.AlertsTopic, oracle.Alerts.Count);
        var ids = alerts.Select(a => JsonNode.Parse(a)!["alertId"]!.GetValue<string>()).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Equal(oracle.Alerts.Select(a => a.AlertId).Order(), ids.Order());
        Assert.Equal(payments.Count, oracle.Accepted);
        foreach (var (partition, engine) in oracle.Engines)
        {
            foreach (var expected in engine.Shards.SelectMany(s => s.Entities))
            {
                var actual = states[partition].FindEntity(expected.EntityId);
                Assert.NotNull(actual);
                Assert.Equal(expected.Events, actual!.Events);
                Assert.Equal(expected.PenetrationPositions(), actual.PenetrationPositions());
            }
        }
    }

    /// <summary>Starts <c>flowwatch run</c>; the task completes when the worker has restored its partitions.</summary>
    private (Process Worker, Task Restored) StartWorker(string bootstrapServers, string referencePath)
    {
        var restored = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { Path.Combine(AppContext.BaseDirectory, "flowwatch.dll"), "run", "--bootstrap-servers", bootstrapServers, "--reference", referencePath },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment =
            {
                ["FLOWWATCH_FlowWatch__Kafka__GroupId"] = "crash-test",
                ["FLOWWATCH_FlowWatch__Kafka__InstanceId"] = "worker-1",
                ["FLOWWATCH_FlowWatch__Kafka__CommitInterval"] = "00:00:00.050",
            },
        };
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            output.WriteLine($"[worker {process.Id}] {e.Data}");
            if (e.Data.Contains("restored", StringComparison.Ordinal)) restored.TrySetResult();
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) output.WriteLine($"[worker {process.Id}] {e.Data}"); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _workers.Add(process);
        return (process, restored.Task);
    }

    private static Dictionary<int, long> PaymentEnds(string bootstrapServers, string topic)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = bootstrapServers, GroupId = "ends" }).Build();
        return Enumerable.Range(0, Partitions).ToDictionary(p => p,
            p => consumer.QueryWatermarkOffsets(new TopicPartition(topic, new Partition(p)), TimeSpan.FromSeconds(10)).High.Value);
    }

    /// <summary>Restores each partition's committed state until every one has reached the end of the payments.</summary>
    private static async Task<Dictionary<int, FlowEngine>> WaitForStates(string bootstrapServers, KafkaOptions options, ReferenceData reference,
        Dictionary<int, long> ends, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var config = new ConsumerConfig { BootstrapServers = bootstrapServers };
        while (true)
        {
            var states = new Dictionary<int, FlowEngine>();
            var done = true;
            for (var p = 0; p < Partitions; p++)
            {
                var engine = new FlowEngine(reference, new RuleSettings());
                var position = StateStore.Restore(config, options.StateTopic, p, engine);
                states[p] = engine;
                done &= position == ends[p];
            }
            if (done) return states;
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the workers did not process every payment in time");
            await Task.Delay(500);
        }
    }

    /// <summary>The engine over each partition in offset order, uninterrupted: what the workers must add up to.</summary>
    private static (Dictionary<int, FlowEngine> Engines, List<Alert> Alerts, long Accepted) Oracle(string bootstrapServers, string topic, ReferenceData reference)
    {
        var engines = new Dictionary<int, FlowEngine>();
        var alerts = new List<Alert>();
        var counters = new EngineCounters();
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(new ConsumerConfig { BootstrapServers = bootstrapServers, GroupId = "oracle", EnablePartitionEof = true }).Build();
        for (var p = 0; p < Partitions; p++)
        {
            var engine = engines[p] = new FlowEngine(reference, new RuleSettings(), counters: counters);
            consumer.Assign(new TopicPartitionOffset(topic, new Partition(p), Offset.Beginning));
            while (consumer.Consume(TimeSpan.FromSeconds(10)) is { IsPartitionEOF: false } record)
            {
                engine.Process(record.Message.Value, record.Offset.Value, alerts, out _);
            }
        }
        return (engines, alerts, counters.Accepted);
    }

    private static List<string> ReadAlerts(string bootstrapServers, string topic, int expected)
    {
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = "alerts-reader",
            AutoOffsetReset = AutoOffsetReset.Earliest,
            IsolationLevel = IsolationLevel.ReadCommitted,
        }).Build();
        consumer.Subscribe(topic);
        var alerts = new List<string>();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        var quietUntil = DateTime.MaxValue;
        while (DateTime.UtcNow < deadline && DateTime.UtcNow < quietUntil)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { Message: not null } record) alerts.Add(Encoding.UTF8.GetString(record.Message.Value));
            // Once the expected number is reached, keep reading 2 s more so that a duplicate would show.
            if (alerts.Count >= expected && quietUntil == DateTime.MaxValue) quietUntil = DateTime.UtcNow.AddSeconds(2);
        }
        consumer.Close();
        return alerts;
    }
}
