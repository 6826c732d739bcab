using FlowWatch.Core.Reference;
using FlowWatch.Worker.Aggregates;
using FlowWatch.Worker.Cli;
using FlowWatch.Worker.Configuration;
using FlowWatch.Worker.Dashboard;
using FlowWatch.Worker.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FlowWatch.Worker.Kafka;

/// <summary>
/// <c>flowwatch run</c>: the production worker on a Kafka cluster, in a generic host, until SIGTERM or Ctrl-C; with
/// the dashboard enabled (the default), the host is a web application that also serves it.
/// </summary>
public static class RunCommand
{
    public const string Usage = "flowwatch run [--config C] [--reference R] [--bootstrap-servers B] [--urls U] [--clickhouse CONNECTION | --duckdb FILE | --aggregates G] [--check]";

    public static async Task<int> RunAsync(Arguments args, TextWriter stdout)
    {
        var overrides = new Dictionary<string, string?>();
        if (args.Optional("--reference") is { } referenceFile) overrides[$"{KafkaOptions.SectionName}:{nameof(KafkaOptions.ReferenceFile)}"] = referenceFile;
        if (args.Optional("--bootstrap-servers") is { } servers) overrides[$"{KafkaOptions.SectionName}:{nameof(KafkaOptions.BootstrapServers)}"] = servers;
        var (clickHouse, duckDb) = args.AggregateSink();
        if (clickHouse is not null || duckDb is not null)
        {
            overrides[$"{AggregateOptions.SectionName}:{nameof(AggregateOptions.ClickHouse)}"] = clickHouse ?? "";
            overrides[$"{AggregateOptions.SectionName}:{nameof(AggregateOptions.DuckDb)}"] = duckDb ?? "";
        }
        if (args.Optional("--urls") is { } urls) overrides[$"{DashboardOptions.SectionName}:{nameof(DashboardOptions.Urls)}"] = urls;
        var configFile = args.Optional("--config");
        var checkOnly = args.Switch("--check");
        args.EnsureAllRead();
        // Until the host runs, its own handler of SIGTERM and Ctrl-C is not there: a stop asked for while the settings,
        // the reference data and the models are read ends run as cleanly as one while it runs.
        using var shutdown = new ShutdownSignal();

        var configuration = new ConfigurationManager();
        configuration.AddConfiguration(FlowWatchConfiguration.Build(configFile));
        configuration.AddInMemoryCollection(overrides);
        // The whole section is bound, as the dashboard's would be: a misspelt key beside Enabled=false is refused too.
        using var host = FlowWatchSections.Dashboard.Bind(configuration).Enabled ? BuildWithDashboard(configuration) : BuildWorkerOnly(configuration);
        try
        {
            // Fail before starting anything: every invalid key, then the reference file.
            _ = host.Services.GetRequiredService<IOptions<KafkaOptions>>().Value;
            _ = host.Services.GetRequiredService<IOptions<Core.Engine.RuleSettings>>().Value;
            _ = host.Services.GetRequiredService<IOptions<AggregateOptions>>().Value;
            if (host is WebApplication) _ = host.Services.GetRequiredService<IOptions<DashboardOptions>>().Value;
            _ = host.Services.GetRequiredService<ReferenceData>();
            _ = host.Services.GetRequiredService<Models.ModelWatcher>();
        }
        catch (OptionsValidationException ex)
        {
            throw new ConfigurationException(string.Join(Environment.NewLine, ex.Failures));
        }
        if (checkOnly)
        {
            // Nothing is contacted: the broker, the sink and the dashboard's port are checked by starting.
            stdout.WriteLine("run: settings, reference data and models are valid");
            return CommandLine.Success;
        }
        // Taken before running: RunAsync disposes the host, and its services with it, on the way out.
        var worker = host.Services.GetRequiredService<StreamingWorker>();
        try
        {
            if (!shutdown.Token.IsCancellationRequested) await host.RunAsync(shutdown.Token);
        }
        catch (OperationCanceledException) when (shutdown.Token.IsCancellationRequested)
        {
            // stopped while the host was starting: nothing was consumed
        }
        catch (Exception ex) when (!CommandLine.IsCannotRun(ex))
        {
            // Any other error that stopped a service (a client librdkafka refuses to build, a fatal error of the
            // aggregate feed's consumer): run cannot go on, which is exit code 3, not a crash.
            throw new ServiceStoppedException(ex);
        }
        Summary.Print(stdout, "run", worker.Counters, elapsed: null);
        return CommandLine.Success;
    }

    private static WebApplication BuildWithDashboard(IConfiguration configuration)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddConfiguration(configuration);
        QuietHost(builder.Logging);
        builder.AddFlowWatchDashboard();
        builder.AddFlowWatchWorker();
        FlowWatchConfiguration.RefuseUnreadableLogging(builder.Configuration);
        return builder.Build().MapFlowWatchDashboard();
    }

    private static IHost BuildWorkerOnly(IConfiguration configuration)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddConfiguration(configuration);
        QuietHost(builder.Logging);
        builder.AddFlowWatchWorker();
        FlowWatchConfiguration.RefuseUnreadableLogging(builder.Configuration);
        return builder.Build();
    }

    /// <summary>
    /// A failed start (a port taken, a sink refusing) or a service stopped by an error ends run with the reason on
    /// stderr and exit code 3; the host's own report of it would add the exception's stack trace to the log.
    /// </summary>
    private static void QuietHost(ILoggingBuilder logging) => logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);
}
