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
    }
}
