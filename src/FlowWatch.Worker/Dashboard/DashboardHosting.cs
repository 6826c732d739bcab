using FlowWatch.Worker.Aggregates;
using FlowWatch.Worker.Configuration;
using FlowWatch.Worker.Kafka;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenTelemetry.Resources;
using OpenTelemetry.Metrics;

namespace FlowWatch.Worker.Dashboard;

/// <summary>
/// The supervisor dashboard served from the worker: the page at <c>/</c>, the JSON API and live stream under
/// <c>/api</c>, <c>/healthz</c>, <c>/readyz</c> and <c>/metrics</c>. Needs a <see cref="StreamingWorker"/> in the
/// container built with <see cref="CommittedAlerts"/> as its committed-alerts callback.
/// </summary>
public static class DashboardHosting
{
    public static WebApplicationBuilder AddFlowWatchDashboard(this WebApplicationBuilder builder)
    {
        FlowWatchSections.Dashboard.AddTo(builder);
        builder.WebHost.UseUrls(builder.Configuration.GetSection(DashboardOptions.SectionName)[nameof(DashboardOptions.Urls)] ?? DashboardOptions.DefaultUrls);
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(sp => new AlertFeed(sp.GetRequiredService<IOptions<DashboardOptions>>().Value.RecentAlerts,
            AlertFeed.FirstIdAt(sp.GetRequiredService<TimeProvider>().GetUtcNow())));
        builder.Services.AddHostedService<AlertTopicFeed>();
        builder.Services.AddSingleton<LiveStats>();
        builder.Services.AddSingleton<LiveStreams>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<LiveStats>());
        builder.Services.AddSingleton<DashboardMetrics>();
        builder.Services.AddHealthChecks().AddCheck<WorkerReadiness>("worker", tags: [ReadyTag]);
        builder.Services.AddOpenTelemetry()
            // Named flowwatch unless the deployment names it (OTEL_SERVICE_NAME, or service.name in OTEL_RESOURCE_ATTRIBUTES);
            // no instance id made up per process, which would start new series at every restart.
            .ConfigureResource(resource =>
            {
                if (Environment.GetEnvironmentVariable("OTEL_SERVICE_NAME") is null
                    && Environment.GetEnvironmentVariable("OTEL_RESOURCE_ATTRIBUTES")?.Contains("service.name=", StringComparison.Ordinal) != true)
                {
                    resource.AddService("flowwatch", autoGenerateServiceInstanceId: false);
                }
            })
            .WithMetrics(metrics => metrics.AddMeter(WorkerMetrics.MeterName).AddPrometheusExporter());
        builder.Services.Configure<JsonOptions>(o =>
        {
            // The context's metadata is used with these options, so they repeat its conventions.
            o.SerializerOptions.TypeInfoResolverChain.Insert(0, DashboardJsonContext.Default);
            o.SerializerOptions.DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull;
        });
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        // The host's request log (Information) writes each address with its query, a ?access_token=… with it. Set after
        // the configuration's rules, for every logger provider they name, no setting of Logging brings it back.
        builder.Services.PostConfigure<LoggerFilterOptions>(filters =>
        {
            foreach (var provider in filters.Rules.Select(rule => rule.ProviderName).Append(null).Distinct().ToList())
            {
                filters.Rules.Add(new LoggerFilterRule(provider, RequestLogCategory, LogLevel.Warning, filter: null));
            }
        });
        // A readiness probe that finds the worker not consuming would log an error each time (every few seconds for as
        // long as a broker is out of reach); the probe's answer carries the reason, and the worker logs its causes.
        builder.Logging.AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.None);
        return builder;
    }

    /// <summary>The category of ASP.NET Core's log of each request's start and end.</summary>
    private const string RequestLogCategory = "Microsoft.AspNetCore.Hosting.Diagnostics";

    public static WebApplication MapFlowWatchDashboard(this WebApplication app)
    {
        var assets = new EmbeddedFileProvider(typeof(DashboardHosting).Assembly, typeof(DashboardHosting).Namespace + ".wwwroot");
        app.UseMiddleware<DashboardSecurity>();
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = assets });
        app.UseStaticFiles(new StaticFileOptions { FileProvider = assets });
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = check => check.Tags.Contains(ReadyTag), ResponseWriter = WriteStatus });
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapDashboardApi();
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            // Once options are validated; instruments exist from then on, so the first scrape has every series.
            app.Services.GetRequiredService<DashboardMetrics>();
            var urls = string.Join(", ", app.Urls);
            DashboardLog.Serving(app.Logger, urls);
        });
        return app;
    }

    /// <summary>
    /// Starts a dashboard beside a worker its caller runs itself (<c>demo</c>, <c>bench</c>): the worker is made
    /// by <paramref name="createWorker"/> inside the dashboard's container. With <paramref name="anyFreePort"/>,
    /// a port already taken is replaced by a free one. <paramref name="clock"/>, when given, is the dashboard's clock (the
    /// system's otherwise). <paramref name="feed"/>, when the caller runs an aggregate feed too, adds its counts to the
    /// metrics. Answers the started application; the worker is in its services.
    /// </summary>
    public static async Task<WebApplication> StartStandaloneAsync(IConfiguration configuration, Func<IServiceProvider, StreamingWorker> createWorker,
        bool anyFreePort = false, TimeProvider? clock = null, FeedCounters? feed = null)
    {
        var app = BuildStandalone(configuration, createWorker, urls: null, clock, feed);
        try
        {
            await StartAsync(app);
            return app;
        }
        catch (IOException) when (anyFreePort)
        {
            await app.DisposeAsync();
        }
        var free = BuildStandalone(configuration, createWorker, urls: "http://127.0.0.1:0", clock, feed);
        await StartAsync(free);
        return free;
    }

    /// <summary>
    /// What a worker beside the dashboard hands its committed alerts to: the dashboard's feed, or nothing when the feed
    /// reads every worker's alerts from the alerts topic (<see cref="DashboardOptions.AlertsFromTopic"/>) or there is no
    /// dashboard.
    /// </summary>
    public static Action<IReadOnlyList<PublishedAlert>>? CommittedAlerts(this IServiceProvider services) =>
        services.GetService<AlertFeed>() is { } feed && !services.GetRequiredService<IOptions<DashboardOptions>>().Value.AlertsFromTopic
            ? alerts => feed.Publish(alerts)
            : null;

    /// <summary>The address a browser should open.</summary>
    public static string PageUrl(this WebApplication app) => app.Urls.First().Replace("://0.0.0.0:", "://127.0.0.1:", StringComparison.Ordinal).Replace("://[::]:", "://127.0.0.1:", StringComparison.Ordinal) + "/";

    private static WebApplication BuildStandalone(IConfiguration configuration, Func<IServiceProvider, StreamingWorker> createWorker, string? urls,
        TimeProvider? clock, FeedCounters? feed)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddConfiguration(configuration);
        if (urls is not null) builder.Configuration[$"{DashboardOptions.SectionName}:{nameof(DashboardOptions.Urls)}"] = urls;
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        // A failed start surfaces as the exception the caller reports (or answers with a free port), not as a log dump.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);
        builder.Services.AddSingleton(createWorker);
        if (clock is not null) builder.Services.AddSingleton(clock);
        if (feed is not null) builder.Services.AddSingleton(feed);
        builder.AddFlowWatchDashboard();
        return builder.Build().MapFlowWatchDashboard();
    }

    private static async Task StartAsync(WebApplication app)
    {
        try
        {
            await app.StartAsync();
        }
        catch (OptionsValidationException ex)
        {
            throw new ConfigurationException(string.Join(Environment.NewLine, ex.Failures));
        }
    }

    private const string ReadyTag = "ready";

    /// <summary>The worker's status in words ("consuming", or why not), rather than the bare "Healthy" or "Unhealthy".</summary>
    private static Task WriteStatus(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "text/plain; charset=utf-8";
        var ready = report.Status == HealthStatus.Healthy;
        return context.Response.WriteAsync(DashboardSecurity.IsAnonymousProbe(context) ? (ready ? WorkerStatus.Consuming.Description : "not consuming")
            : report.Entries.Values.Single().Description ?? report.Status.ToString());
    }

    /// <summary>Ready while the worker consumes: partitions assigned and restored, the Kafka group coordinator in reach.</summary>
    private sealed class WorkerReadiness(StreamingWorker worker) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var status = worker.Status;
            return Task.FromResult(status.IsConsuming ? HealthCheckResult.Healthy(status.Description) : HealthCheckResult.Unhealthy(status.Description));
        }
    }
}
