using FlowWatch.Worker.Hosting;
using FlowWatch.Worker.Kafka;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace FlowWatch.Integration.Tests.Aggregates;

/// <summary><c>run</c>'s host with an aggregate sink: the feed that writes it stops with the host.</summary>
public sealed class AggregateServiceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flowwatch-run-sink-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task StopAsync_HostWithDuckDbSink_EndsTheFeedAndStopsWithoutError()
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        broker.CreateFlowWatchTopics(new KafkaOptions(), partitions: 1);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["FlowWatch:Kafka:BootstrapServers"] = broker.BootstrapServers,
            ["FlowWatch:Kafka:ReferenceFile"] = TestKafka.Samples("reference.json"),
            ["FlowWatch:Aggregates:DuckDb"] = Path.Combine(_dir, "flows.duckdb"),
        });
        builder.AddFlowWatchWorker();
        using var host = builder.Build();
        await host.StartAsync();
        await host.Services.GetRequiredService<StreamingWorker>().Ready.WaitAsync(TimeSpan.FromSeconds(30));

        // A SIGTERM's stop, bounded as the host bounds it: the feed used to run on until the bound and fail the stop.
        using var shutdownTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await host.StopAsync(shutdownTimeout.Token);

        var feed = host.Services.GetServices<IHostedService>().OfType<AggregateService>().Single();
        Assert.True(feed.ExecuteTask is { IsCompletedSuccessfully: true }, "the aggregate feed should have ended");
    }
}
