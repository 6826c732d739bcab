using FlowWatch.Core.Reference;
using FlowWatch.Worker.Aggregates;
using FlowWatch.Worker.Configuration;
using FlowWatch.Worker.Kafka;
using FlowWatch.Worker.Models;
using FlowWatch.Worker.Replay;
using FlowWatch.Worker.Simulation;

namespace FlowWatch.Worker.Cli;

/// <summary>The one executable's commands (DESIGN.md §3.5). Exit codes: 0 done, 2 usage, 3 could not run.</summary>
public static class CommandLine
{
    public const int Success = 0;
    public const int UsageError = 2;
    public const int CannotRun = 3;

    /// <summary>Each command: its name, usage line and what it does.</summary>
    private static readonly (string Name, string Usage, string Does)[] Commands =
    [
        ("demo", DemoCommand.Usage, "everything on one machine: embedded broker, generated payments, the worker, alerts printed live, DuckDB aggregates"),
        ("run", RunCommand.Usage, "the streaming worker on a Kafka cluster (FlowWatch:Kafka configuration), until SIGTERM or Ctrl-C"),
        ("replay", ReplayCommand.Usage, "run the rules over a JSONL file of events and write the alerts as JSONL (and aggregates, with a sink)"),
        ("migrate", MigrateCommand.Usage, "create the aggregate tables and views in ClickHouse or DuckDB (safe to repeat)"),
        ("bench", BenchCommand.Usage, "end-to-end throughput and event-to-alert latency through an embedded broker; --json prints one object"),
        ("simulate", SimulateCommand.Usage, "write a labelled synthetic stream: payments, the injected episodes, and their reference data"),
        ("train", TrainCommand.Usage, "train the anomaly models from simulated streams into models/ (default), with a model card each"),
        ("broker", BrokerCommand.Usage, "an embedded Kafka-protocol broker on loopback for other processes; prints its bootstrap servers"),
    ];

    private const string ConfigurationHelp = "configuration: appsettings.json beside the executable, --config FILE, then FLOWWATCH_* environment variables";

    private static readonly string Help = string.Join(Environment.NewLine,
        ["usage: flowwatch <command> [options]", "", "commands:", .. Commands.SelectMany(c => new[] { "  " + c.Usage, "      " + c.Does }), "", ConfigurationHelp]);

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0)
        {
            // A usage mistake, as an unknown command is: its help goes where errors go, not into a pipe meant for output.
            stderr.WriteLine(Help);
            return UsageError;
        }
        if (args[0] is "help" or "--help" or "-h")
        {
            stdout.WriteLine(Help);
            return Success;
        }
        if (args.Skip(1).Any(a => a is "--help" or "-h") && Array.Find(Commands, c => c.Name == args[0]) is { Name: not null } command)
        {
            stdout.WriteLine(string.Join(Environment.NewLine, "usage: " + command.Usage, "", command.Does, "", ConfigurationHelp));
            return Success;
        }
        try
        {
            var options = new Arguments(args.Skip(1));
            return args[0] switch
            {
                "replay" => ReplayCommand.Run(options, stdout),
                "run" => await RunCommand.RunAsync(options, stdout),
                "demo" => await DemoCommand.RunAsync(options, stdout),
                "broker" => await BrokerCommand.RunAsync(options, stdout),
                "bench" => await BenchCommand.RunAsync(options, stdout),
                "migrate" => await MigrateCommand.RunAsync(options, stdout),
                "simulate" => SimulateCommand.Run(options, stdout),
                "train" => TrainCommand.Run(options, stdout, stderr),
                _ => throw new UsageException($"unknown command '{args[0]}'"),
            };
        }
        catch (UsageException ex)
        {
            stderr.WriteLine($"flowwatch: {ex.Message}");
            // A known command's mistake needs that command's usage, not every command's.
            stderr.WriteLine(Array.Find(Commands, c => c.Name == args[0]) is { Name: not null } mistaken
                ? $"usage: {mistaken.Usage}{Environment.NewLine}(flowwatch {mistaken.Name} --help says more)"
                : Help);
            return UsageError;
        }
        catch (Exception ex) when (ex is ServiceStoppedException || IsCannotRun(ex))
        {
            stderr.WriteLine($"flowwatch: cannot run: {WithOptionsNamed(ex.Message, args)}");
            return CannotRun;
        }
    }

    /// <summary>The settings that command-line options set, and those options.</summary>
    private static readonly (string Key, string Option)[] SettingsOfOptions =
    [
        ("FlowWatch:Dashboard:Urls", "--urls"), ("FlowWatch:Models:Directory", "--models"), ("FlowWatch:Aggregates:ClickHouse", "--clickhouse"),
        ("FlowWatch:Aggregates:DuckDb", "--duckdb"), ("FlowWatch:Kafka:ReferenceFile", "--reference"), ("FlowWatch:Kafka:BootstrapServers", "--bootstrap-servers"),
    ];

    /// <summary>
    /// A problem names the setting it is with; when the command line set it, the option too (<c>--urls notaurl</c> is
    /// refused as <c>FlowWatch:Dashboard:Urls (--urls): …</c>), which the one who typed it would otherwise look for.
    /// <c>--aggregates</c> sets one of the two sinks.
    /// </summary>
    private static string WithOptionsNamed(string message, string[] args)
    {
        foreach (var (key, option) in SettingsOfOptions)
        {
            var given = args.Contains(option, StringComparer.Ordinal) ? option
                : option is "--clickhouse" or "--duckdb" && args.Contains("--aggregates", StringComparer.Ordinal) ? "--aggregates"
                : null;
            if (given is not null) message = message.Replace(key + ": ", $"{key} ({given}): ", StringComparison.Ordinal);
        }
        return message;
    }

    /// <summary>
    /// An error that means the command cannot run (exit code 3), not a fault of FlowWatch's own. InvalidDataException
    /// (not an IOException) is what stops run on a state topic it cannot restore from.
    /// </summary>
    public static bool IsCannotRun(Exception error) => error is ReferenceDataException or ConfigurationException or AggregateSinkException
        or FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException or IOException or InvalidDataException;
}
