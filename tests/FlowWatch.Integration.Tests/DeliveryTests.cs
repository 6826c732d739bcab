using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using FlowWatch.Core.Engine;
using FlowWatch.Worker.Kafka;
using Xunit.Abstractions;

namespace FlowWatch.Integration.Tests;

/// <summary>
/// Delivery semantics, tested by force (DESIGN.md §4): worker processes killed with SIGKILL, a consumer group
/// scaled 1 → 3 → 1, and the broker down for 10 s, all while payments flow. Afterwards every payment is counted
/// once, every entity's penetration position equals the oracle's, and read_committed consumers see each alert once.
/// </summary>
public sealed class DeliveryTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Run_KilledWithSigkillFiveTimesWhilePaymentsFlow_LosesNothingAndCountsNothingTwice()
    {
        using var harness = new DeliveryHarness(output, payments: 15_000, seed: 11);
        var producing = harness.ProduceAsync();
        var random = new Random(5);
        for (var kill = 1; kill <= 5; kill++)
        {
            var (worker, restored) = harness.StartWorker("worker-1");
            await restored.WaitAsync(TimeSpan.FromSeconds(60));
            await Task.Delay(TimeSpan.FromMilliseconds(200 + random.Next(2_000)));
            worker.Kill();   // SIGKILL: no shutdown, no final commit
            await worker.WaitForExitAsync();
            harness.Log($"killed worker, point {kill}");
        }
        await producing;
        harness.StartWorker("worker-1");

        await harness.VerifyAgainstOracle(TimeSpan.FromSeconds(90));
    }

    [Fact]
    public async Task Run_ScaledFromOneToThreeWorkersAndBackWhilePaymentsFlow_LosesNothingAndCountsNothingTwice()
    {
        using var harness = new DeliveryHarness(output, payments: 12_000, seed: 12);
        var producing = harness.ProduceAsync();
        var (first, restored) = harness.StartWorker("worker-1");
        await restored.WaitAsync(TimeSpan.FromSeconds(60));
        await Task.Delay(2_000);
        var (second, _) = harness.StartWorker("worker-2");
        var (third, _) = harness.StartWorker("worker-3");
        harness.Log("scaled to 3 workers");
        await Task.Delay(4_000);
        await DeliveryHarness.StopGracefully(second);
        await DeliveryHarness.StopGracefully(third);
        harness.Log("scaled back to 1 worker");
        await producing;

        await harness.VerifyAgainstOracle(TimeSpan.FromSeconds(90));
        Assert.False(first.HasExited);
    }

    /// <summary>
    /// DESIGN.md §6: a killed worker's partitions resume on a survivor. The time it takes is a figure for
    /// docs/PERFORMANCE.md, logged here, not asserted.
    /// </summary>
    [Fact]
    public async Task Run_KilledBesideASurvivor_ItsPartitionsResumeOnTheSurvivorLosingNothing()
    {
        using var harness = new DeliveryHarness(output, payments: 20_000, seed: 21);
        var producing = harness.ProduceAsync();
        var (survivor, restored) = harness.StartWorker("worker-1");
        await restored.WaitAsync(TimeSpan.FromSeconds(60));
        var (killed, _) = harness.StartWorker("worker-2");
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline && !harness.Restores.Any(r => r.Worker == "worker-2")) await Task.Delay(100);
        await Task.Delay(3_000);
        var moved = harness.Restores.Where(r => r.Worker == "worker-2").Select(r => r.Partition).Distinct().ToList();
        Assert.NotEmpty(moved);

        var killedAt = DateTime.UtcNow;
        killed.Kill();   // SIGKILL
        await killed.WaitForExitAsync();
        harness.Log($"killed worker-2, owner of partitions {string.Join(", ", moved)}");
        deadline = DateTime.UtcNow.AddSeconds(60);
        List<(DateTime At, string Worker, int Partition)> resumed = [];
        while (DateTime.UtcNow < deadline && resumed.Select(r => r.Partition).Distinct().Count() < moved.Count)
        {
            resumed = [.. harness.Restores.Where(r => r.Worker == "worker-1" && r.At > killedAt && moved.Contains(r.Partition))];
            await Task.Delay(50);
        }
        Assert.Equal(moved.Order(), resumed.Select(r => r.Partition).Distinct().Order());
        harness.Log($"partitions resumed on the survivor {(resumed.Max(r => r.At) - killedAt).TotalSeconds:0.0} s after the kill");
        await producing;

        await harness.VerifyAgainstOracle(TimeSpan.FromSeconds(90));
        Assert.False(survivor.HasExited);
    }

    /// <summary>
    /// A worker frozen (SIGSTOP) past its session loses its partitions to the other worker without knowing it; thawed,
    /// it may still commit what it held. The new owner's state is what counts.
    /// </summary>
    [Fact]
    public async Task Run_FrozenPastItsSessionBesideAnotherWorker_LosesNothingAndCountsNothingTwice()
    {
        using var harness = new DeliveryHarness(output, payments: 20_000, seed: 22);
        var producing = harness.ProduceAsync();
        var (frozen, restored) = harness.StartWorker("worker-1");
        await restored.WaitAsync(TimeSpan.FromSeconds(60));
        var (_, other) = harness.StartWorker("worker-2");
        await other.WaitAsync(TimeSpan.FromSeconds(60));
        await Task.Delay(3_000);

        await Signal(frozen, "-STOP");
        harness.Log("worker-1 frozen");
        await Task.Delay(TimeSpan.FromSeconds(15));   // past its session (6 s) and its transaction timeout (10 s)
        await Signal(frozen, "-CONT");
        harness.Log("worker-1 thawed");
        await producing;

        await harness.VerifyAgainstOracle(TimeSpan.FromSeconds(120));
    }

    private static async Task Signal(System.Diagnostics.Process process, string signal)
    {
        using var kill = System.Diagnostics.Process.Start("kill", [signal, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
    }

    [Fact]
    public async Task Run_BrokerDownForTenSeconds_ResumesByItselfAndLosesNothing()
    {
        using var harness = new DeliveryHarness(output, payments: 8_000, seed: 13);
        var worker = new StreamingWorker(harness.Options, new RuleSettings(), harness.Reference, TimeProvider.System, logger: new LineLogger(harness.Log), models: harness.Models);
        using var stop = new CancellationTokenSource();
        var running = worker.RunAsync(stop.Token);
        await worker.Ready.WaitAsync(TimeSpan.FromSeconds(60));
        var producing = harness.ProduceAsync();
        await Task.Delay(3_000);

        harness.Broker.SetBrokerDown(1);
        harness.Log("broker down");
        await Task.Delay(10_000);
        harness.Broker.SetBrokerUp(1);
        harness.Log("broker up");
        await producing;

        await harness.VerifyAgainstOracle(TimeSpan.FromSeconds(120));
        Assert.False(running.IsCompleted);
        await stop.CancelAsync();
        await running;
        // The counters (events, dead letters, alerts in /metrics, the dashboard and the summary) count each payment
        // once: what a failed session processed after its last commit, the next one processed again.
        Assert.Equal(harness.Payments.Count, worker.Counters.Read);
    }

    private const short EndTxn = 26;
    private const short TxnOffsetCommit = 28;

    /// <summary>
    /// A request of a commit refused once, mid-stream. EndTxn: the commit is refused after its position records went out,
    /// which the embedded broker shows all the same (as a Kafka broker would after a commit whose answer was lost), so the
    /// next session resumes after that commit's payments. TxnOffsetCommit: the group's coordinator refuses the offsets,
    /// as when the group rebalances meanwhile (the member's generation is no longer current), so the transaction cannot
    /// commit and the next session resumes from the commit before. Either way nothing is lost, each payment is counted
    /// once, and each alert reaches the readers of committed alerts (the dashboard) once, those of the refused commit
    /// included when it took effect.
    /// </summary>
    [Theory]
    [InlineData(EndTxn, ErrorCode.RequestTimedOut)]
    [InlineData(TxnOffsetCommit, ErrorCode.IllegalGeneration)]
    [InlineData(TxnOffsetCommit, ErrorCode.RebalanceInProgress)]
    public async Task Run_CommitRefusedOnce_LosesNothingAndCountsEachPaymentAndAlertOnce(short request, ErrorCode refusal)
    {
        using var harness = new DeliveryHarness(output, payments: 3_000, seed: 25);
        var committed = new ConcurrentQueue<string>();
        var worker = new StreamingWorker(harness.Options, new RuleSettings(), harness.Reference, TimeProvider.System, logger: new LineLogger(harness.Log), models: harness.Models,
            onCommitted: alerts =>
            {
                foreach (var alert in alerts) committed.Enqueue(JsonNode.Parse(alert.Json)!["alertId"]!.GetValue<string>());
            });
        using var stop = new CancellationTokenSource();
        var running = worker.RunAsync(stop.Token);
        await worker.Ready.WaitAsync(TimeSpan.FromSeconds(60));
        var producing = harness.ProduceAsync();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline && worker.RecordsRead < 500) await Task.Delay(20);

        harness.Broker.FailNextRequests(request, refusal);
        await producing;
        deadline = DateTime.UtcNow.AddSeconds(90);
        while (DateTime.UtcNow < deadline && (worker.Counters.Read < harness.Payments.Count || worker.ConsumerLag is not 0)) await Task.Delay(200);
        await Task.Delay(2_000);   // a count past the payments would show by now
        await stop.CancelAsync();
        await running;

        Assert.Equal(harness.Payments.Count, worker.Counters.Read);
        await harness.VerifyAgainstOracle(TimeSpan.FromSeconds(60));
        var oracle = harness.OracleAlerts().Select(a => a.AlertId).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(oracle, committed.Order(StringComparer.Ordinal).ToList());
    }

    [Fact]
    public async Task Run_BrokerDownWhileADenseStreamFlows_CountsEachPaymentOnce()
    {
        const int Payments = 6_000;
        using var harness = new DeliveryHarness(output, payments: Payments, seed: 13);
        var worker = new StreamingWorker(harness.Options, new RuleSettings(), harness.Reference, TimeProvider.System, logger: new LineLogger(harness.Log), models: harness.Models);
        using var stop = new CancellationTokenSource();
        var running = worker.RunAsync(stop.Token);
        await worker.Ready.WaitAsync(TimeSpan.FromSeconds(60));
        // Five payments every few milliseconds: the worker always has payments processed but not yet committed, which a
        // session that fails with the broker gone leaves to the next session to process again.
        var producing = Task.Run(async () =>
        {
            using var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig
            {
                BootstrapServers = harness.Broker.BootstrapServers, EnableIdempotence = true, MessageTimeoutMs = 120_000, LingerMs = 0,
            }).Build();
            foreach (var chunk in harness.Payments.Chunk(5))
            {
                foreach (var payment in chunk) producer.Produce(harness.Options.PaymentsTopic, new Message<string, byte[]> { Key = payment.Account, Value = payment.Line });
                await Task.Delay(2);
            }
            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(120)));
        });
        await Task.Delay(2_000);

        harness.Broker.SetBrokerDown(1);
        await Task.Delay(10_000);
        harness.Broker.SetBrokerUp(1);
        await producing;
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (DateTime.UtcNow < deadline && (worker.Counters.Read < Payments || worker.ConsumerLag is not 0)) await Task.Delay(500);
        await Task.Delay(2_000);   // a count past the payments would show by now
        var counted = worker.Counters;
        harness.Log($"counted: read {counted.Read}, accepted {counted.Accepted}, duplicates {counted.Duplicates}, dead letters {counted.DeadLetters}");
        await stop.CancelAsync();
        await running;

        // Every record read once, and every payment accepted once: a copy the producer wrote again is a duplicate.
        var records = harness.PaymentRecords();
        Assert.Equal(records, counted.Read);
        Assert.Equal(records, worker.Counters.Read);
        Assert.Equal(Payments, counted.Accepted);
        Assert.Equal(records - Payments, counted.Duplicates);
        await harness.VerifyAgainstOracle(TimeSpan.FromSeconds(60));
    }
}
