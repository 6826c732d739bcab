using FlowWatch.Worker.Dashboard;
using FlowWatch.Worker.Hosting;
using FlowWatch.Worker.Kafka;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;

namespace FlowWatch.Integration.Tests.Aggregates;

/// <summary><c>run</c>'s host with the dashboard: the aggregate feed's metric is there exactly when a sink is configured.</summary>
[Collection(SoleDashboard.Name)]
public sealed class AggregateMetricsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flowwatch-feed-metrics-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string DeletedUnwritten = @"(?m)^flowwatch_aggregates_deleted_unwritten_total\{[^}]*\} 0$";

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Metrics_OfAHostWithOrWithoutASink_CountTheFeedsDeletedMessagesOnlyWithOne(bool sink)
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        broker.CreateFlowWatchTopics(new KafkaOptions(), partitions: 1);
        var settings = new Dictionary<string, string?>
        {
            ["FlowWatch:Kafka:BootstrapServers"] = broker.BootstrapServers,
            ["FlowWatch:Kafka:ReferenceFile"] = TestKafka.Samples("reference.json"),
        };
        if (sink) settings["FlowWatch:Aggregates:DuckDb"] = Path.Combine(_dir, "flows.duckdb");
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddConfiguration(DashboardHarness.Configuration(settings));
        builder.AddFlowWatchDashboard();
        builder.AddFlowWatchWorker();
        await using var app = builder.Build().MapFlowWatchDashboard();
        await app.StartAsync();
        try
        {
            using var client = new HttpClient { BaseAddress = new Uri(app.PageUrl()), Timeout = TimeSpan.FromSeconds(30) };
            var text = await client.GetStringAsync("metrics");

            Assert.Matches(@"(?m)^flowwatch_payments_deleted_unread_total\{[^}]*\} 0$", text);
            if (sink) Assert.Matches(DeletedUnwritten, text);
            else Assert.DoesNotContain("flowwatch_aggregates_deleted_unwritten", text, StringComparison.Ordinal);
        }
        finally
        {
            await app.StopAsync();
        }
    }
}
