using FlowWatch.Worker.Cli;
using FlowWatch.Worker.Configuration;

namespace FlowWatch.Worker.Aggregates;

/// <summary><c>flowwatch migrate</c>: creates the aggregate tables and views that are missing, and nothing else.</summary>
public static class MigrateCommand
{
    public const string Usage = "flowwatch migrate [--clickhouse CONNECTION | --duckdb FILE | --aggregates G] [--config C]";

    public static async Task<int> RunAsync(Arguments args, TextWriter stdout)
    {
        var (clickHouse, duckDb) = args.AggregateSink();
        var configFile = args.Optional("--config");
        args.EnsureAllRead();
        var options = FlowWatchConfiguration.Aggregates(FlowWatchConfiguration.Build(configFile), clickHouse, duckDb);
        if (!options.Enabled) throw new UsageException("no sink: give --clickhouse or --duckdb (or FlowWatch:Aggregates in configuration)");
        await using var sink = await options.OpenSinkAsync(CancellationToken.None);
        stdout.WriteLine($"aggregate tables and views are in place in {sink!.Description}");
        return CommandLine.Success;
    }
}
