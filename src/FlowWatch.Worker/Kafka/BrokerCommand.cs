using FlowWatch.Worker.Cli;

namespace FlowWatch.Worker.Kafka;

/// <summary><c>flowwatch broker</c>: an embedded Kafka-protocol broker for other processes, until stopped.</summary>
public static class BrokerCommand
{
    public const string Usage = "flowwatch broker [--brokers N] [--partitions P]";

    public static async Task<int> RunAsync(Arguments args, TextWriter stdout)
    {
        var brokers = args.WholeNumber("--brokers", 1, 1, 9);
        var partitions = args.WholeNumber("--partitions", 3, 1, 256);
        args.EnsureAllRead();

        using var broker = EmbeddedBroker.Start(brokers);
        broker.CreateFlowWatchTopics(new KafkaOptions(), partitions);
        stdout.WriteLine(broker.BootstrapServers);
        stdout.Flush();
        using var shutdown = new ShutdownSignal();
        try
        {
            await Task.Delay(Timeout.Infinite, shutdown.Token);
        }
        catch (OperationCanceledException)
        {
            // stopped by a signal
        }
        return CommandLine.Success;
    }
}
