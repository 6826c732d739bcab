using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using FlowWatch.Core.Engine;
using FlowWatch.Core.Reference;
using FlowWatch.Worker.Dashboard;
using FlowWatch.Worker.Kafka;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FlowWatch.Integration.Tests;

/// <summary>
/// The dashboard of a worker that is not consuming (never started, so waiting for partitions): what an operator's
/// probes and the page are told, and what the probes leave in the log.
/// </summary>
[Collection(SoleDashboard.Name)]
public sealed class DashboardReadinessTests : IAsyncLifetime
{
    private readonly ConcurrentQueue<string> _warnings = new();
    private WebApplication _app = null!;
    private Uri _page = null!;

    public async Task InitializeAsync()
    {
        _app = await StartIdleAsync(null);
        _page = new Uri(_app.PageUrl());
    }

    /// <summary>A dashboard beside a worker that was never started, with <paramref name="settings"/> on top of the defaults.</summary>
    private async Task<WebApplication> StartIdleAsync(IReadOnlyDictionary<string, string?>? settings)
    {
        var options = new KafkaOptions { BootstrapServers = "127.0.0.1:1", ReferenceFile = TestKafka.Samples("reference.json"), GroupId = "idle" };
        var reference = ReferenceDataLoader.LoadFile(options.ReferenceFile);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddConfiguration(DashboardHarness.Configuration(settings));
        builder.Logging.ClearProviders().AddProvider(new WarningsProvider(_warnings.Enqueue));
        builder.Services.AddSingleton(services =>
            new StreamingWorker(options, new RuleSettings(), reference, TimeProvider.System, onCommitted: services.CommittedAlerts()));
        builder.AddFlowWatchDashboard();
        var app = builder.Build().MapFlowWatchDashboard();
        await app.StartAsync();
        return app;
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

    /// <summary>
    /// With a token, a probe without it (an orchestrator's) is told whether the worker consumes, not why not: the reason
    /// names brokers, topics and errors.
    /// </summary>
    [Fact]
    public async Task Readiness_WithATokenConfigured_TellsTheReasonOnlyToAHolderOfTheToken()
    {
        const string Token = "readiness-token-0123456789";
        var app = await StartIdleAsync(new Dictionary<string, string?> { [$"{DashboardOptions.SectionName}:Token"] = Token });
        try
        {
            using var client = new HttpClient { BaseAddress = new Uri(app.PageUrl()), Timeout = TimeSpan.FromSeconds(30) };
            using var anonymous = await client.GetAsync("readyz");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, anonymous.StatusCode);
            Assert.Equal("not consuming", await anonymous.Content.ReadAsStringAsync());

            using var wrong = new HttpRequestMessage(HttpMethod.Get, "readyz") { Headers = { Authorization = new("Bearer", Token + "x") } };
            Assert.Equal("not consuming", await (await client.SendAsync(wrong)).Content.ReadAsStringAsync());

            using var holder = new HttpRequestMessage(HttpMethod.Get, "readyz") { Headers = { Authorization = new("Bearer", Token) } };
            using var told = await client.SendAsync(holder);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, told.StatusCode);
            Assert.Equal("waiting for partitions", await told.Content.ReadAsStringAsync());
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    [Fact]
    public async Task Readiness_ProbedWhileNotConsuming_LogsNothing()
    {
        using var client = Client();
        for (var probe = 0; probe < 3; probe++)
        {
            using var response = await client.GetAsync("readyz");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        }

        Assert.Empty(_warnings);
    }

    [Fact]
    public async Task Stats_WhileNotConsuming_GiveTheLagAsNull()
    {
        using var client = Client();
        var stats = await client.GetFromJsonAsync<JsonObject>("api/stats");

        Assert.False(stats!["ready"]!.GetValue<bool>());
        Assert.Equal("waiting for partitions", stats["status"]!.GetValue<string>());
        Assert.True(stats.TryGetPropertyValue("consumerLag", out var lag), "consumerLag is missing");
        Assert.Null(lag);
    }

    private HttpClient Client() => new() { BaseAddress = _page, Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>Hands on each warning or worse, with its category, formatted.</summary>
    private sealed class WarningsProvider(Action<string> sink) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Warnings(categoryName, sink);

        public void Dispose()
        {
        }

        private sealed class Warnings(string category, Action<string> sink) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (IsEnabled(logLevel)) sink($"{category}[{eventId.Id}]: {formatter(state, exception)}");
            }
        }
    }
}
