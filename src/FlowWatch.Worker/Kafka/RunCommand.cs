using FlowWatch.Core.Reference;
using FlowWatch.Worker.Aggregates;
using FlowWatch.Worker.Cli;
using FlowWatch.Worker.Configuration;
using FlowWatch.Worker.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace FlowWatch.Worker.Kafka;

/// <summary><c>flowwatch run</c>: the production worker on a Kafka cluster, in a generic host, until SIGTERM or Ctrl-C.</summary>
public static class RunCommand
{
    public const string Usage = "flowwatch run [--config C] [--reference R] [--bootstrap-servers B] [--clickhouse CONNECTION | --duckdb FILE]";

    public static async Task<int> RunAsync(Arguments args, TextWriter stdout)
    {
        var overrides = new Dictionary<string, string?>();
        if (args.Optional("--reference") is { } referenceFile) overrides[$"{KafkaOptions.SectionName}:{nameof(KafkaOptions.ReferenceFile)}"] = referenceFile;
        if (args.Optional("--bootstrap-servers") is { } servers) overrides[$"{KafkaOptions.SectionName}:{nameof(KafkaOptions.BootstrapServers)}"] = servers;
        var clickHouse = args.Optional("--clickhouse");
        var duckDb = args.Optional("--duckdb");
        if (clickHouse is not null || duckDb is not null)
        {
            overrides[$"{AggregateOptions.SectionName}:{nameof(AggregateOptions.ClickHouse)}"] = clickHouse ?? "";
            overrides[$"{AggregateOptions.SectionName}:{nameof(AggregateOptions.DuckDb)}"] = duckDb ?? "";
        }
        var configFile = args.Optional("--config");
        args.EnsureAllRead();

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddConfiguration(FlowWatchConfiguration.Build(configFile));
        builder.Configuration.AddInMemoryCollection(overrides);
        builder.AddFlowWatchWorker();
        using var host = builder.Build();
        try
        {
            // Fail before starting anything: every invalid key, then the reference file.
            _ = host.Services.GetRequiredService<IOptions<KafkaOptions>>().Value;
            _ = host.Services.GetRequiredService<IOptions<Core.Engine.RuleSettings>>().Value;
            _ = host.Services.GetRequiredService<IOptions<AggregateOptions>>().Value;
            _ = host.Services.GetRequiredService<ReferenceData>();
            _ = host.Services.GetRequiredService<Models.ModelWatcher>();
        }
        catch (OptionsValidationException ex)
        {
            throw new ConfigurationException(string.Join(Environment.NewLine, ex.Failures));
        }
        await host.RunAsync();
        var service = host.Services.GetServices<IHostedService>().OfType<WorkerService>().Single();
        Summary.Print(stdout, "run", service.Worker.Counters, elapsed: null);
        return CommandLine.Success;
    }
}
