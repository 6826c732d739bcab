using FlowWatch.Core.Engine;
using FlowWatch.Core.Reference;
using FlowWatch.Worker.Kafka;
using Microsoft.Extensions.Logging;

namespace FlowWatch.Integration.Tests;

/// <summary>How the tests against the embedded broker set up a worker: its options, its topics, the worker itself.</summary>
internal static class TestKafka
{
    public static string Samples(string file) => Path.Combine(AppContext.BaseDirectory, "samples", file);

    /// <summary>
    /// Options of a worker in group <paramref name="groupId"/> on <paramref name="broker"/>, reading the sample
    /// reference file, as <paramref name="configure"/> changes them; the topics they name are created with
    /// <paramref name="partitions"/> partitions.
    /// </summary>
    public static KafkaOptions WorkerOptions(this EmbeddedBroker broker, string groupId, int partitions, Action<KafkaOptions>? configure = null)
    {
        var options = new KafkaOptions { BootstrapServers = broker.BootstrapServers, ReferenceFile = Samples("reference.json"), GroupId = groupId };
        configure?.Invoke(options);
        broker.CreateFlowWatchTopics(options, partitions);
        return options;
    }

    /// <summary>A worker with the default rules and no models, reading its options' reference file.</summary>
    public static StreamingWorker NewWorker(KafkaOptions options, ILogger? logger = null) =>
        new(options, new RuleSettings(), ReferenceDataLoader.LoadFile(options.ReferenceFile), TimeProvider.System, logger: logger);
}

/// <summary>A worker running from <see cref="Of"/> until <see cref="StopAsync"/>.</summary>
internal sealed class WorkerRun : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _running;

    private WorkerRun(StreamingWorker worker) => _running = worker.RunAsync(_stop.Token);

    public static WorkerRun Of(StreamingWorker worker) => new(worker);

    /// <summary>Asks the worker to stop and waits for it to end, at most <paramref name="within"/> when given.</summary>
    public async Task StopAsync(TimeSpan? within = null)
    {
        await _stop.CancelAsync();
        await (within is { } limit ? _running.WaitAsync(limit) : _running);
    }

    public void Dispose() => _stop.Dispose();
}
