using System.Net;
using FlowWatch.Core.Engine;
using FlowWatch.Core.Reference;
using FlowWatch.Worker.Dashboard;
using FlowWatch.Worker.Kafka;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace FlowWatch.Integration.Tests;

/// <summary>
/// The dashboard of a worker that is not consuming (never started, so waiting for partitions): what an operator's
/// probes are told.
/// </summary>
[Collection(SoleDashboard.Name)]
public sealed class DashboardReadinessTests : IAsyncLifetime
{
    private WebApplication _app = null!;
    private Uri _page = null!;

    public async Task InitializeAsync()
    {
        var options = new KafkaOptions { BootstrapServers = "127.0.0.1:1", ReferenceFile = DashboardHarness.Samples("reference.json"), GroupId = "idle" };
        var reference = ReferenceDataLoader.LoadFile(options.ReferenceFile);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddConfiguration(DashboardHarness.Configuration(null));
        builder.Services.AddSingleton(services =>
            new StreamingWorker(options, new RuleSettings(), reference, TimeProvider.System, onCommitted: services.GetRequiredService<AlertFeed>().Publish));
        builder.AddFlowWatchDashboard();
        _app = builder.Build().MapFlowWatchDashboard();
        await _app.StartAsync();
        _page = new Uri(_app.PageUrl());
    }

    public async Task DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    [Fact]
    public async Task Readiness_WhileNotConsuming_Answers503WithTheReason()
    {
        using var client = Client();
        using var response = await client.GetAsync("readyz");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("waiting for partitions", await response.Content.ReadAsStringAsync());
    }

    private HttpClient Client() => new() { BaseAddress = _page, Timeout = TimeSpan.FromSeconds(30) };
}
