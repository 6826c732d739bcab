using System.Diagnostics;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Engine;
using FlowWatch.Core.Reference;
using FlowWatch.Core.Scoring;
using FlowWatch.Core.Serialization;
using FlowWatch.Worker.Cli;
using FlowWatch.Worker.Configuration;
using FlowWatch.Worker.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace FlowWatch.Worker.Replay;

/// <summary>
/// <c>flowwatch replay</c>: runs the engine over a JSONL file in file order (backtesting) and writes the same
/// alerts streaming would, with every rejected line in the dead-letter file. Bad input never stops it.
/// </summary>
public static class ReplayCommand
{
    public const string Usage =
        "flowwatch replay --reference R --events E --alerts A [--dead-letters D] [--shards N] [--config C] [--models DIR]";

    public static int Run(Arguments args, TextWriter stdout)
    {
        var referencePath = args.Required("--reference");
        var eventsPath = args.Required("--events");
        var alertsPath = args.Required("--alerts");
        var deadLettersPath = args.Optional("--dead-letters");
        var shards = args.WholeNumber("--shards", 1, 1, 1024);
        var configFile = args.Optional("--config");
        var modelsDirectory = args.Optional("--models");
        args.EnsureAllRead();

        var configuration = FlowWatchConfiguration.Build(configFile);
        var settings = FlowWatchConfiguration.Rules(configuration);
        using var models = ModelWatcher.Start(modelsDirectory ?? configuration[ModelWatcher.DirectoryKey], NullLogger.Instance, watch: false);
        var reference = ReferenceDataLoader.LoadFile(referencePath);
        if (!File.Exists(eventsPath)) throw new FileNotFoundException($"events file '{eventsPath}' not found");

        var result = Replay(reference, settings, shards, eventsPath, alertsPath, deadLettersPath, models.Models);
        stdout.WriteLine(models.Models.Current is { } loaded ? $"models {loaded.Version} from {models.Directory}" : "no models: ML_ANOMALY off");
        Summary.Print(stdout, $"replay of {eventsPath}", result.Counters, result.Elapsed);
        return 0;
    }

    public static ReplayResult Replay(ReferenceData reference, RuleSettings settings, int shards, string eventsPath,
        string alertsPath, string? deadLettersPath, ModelHolder? models = null)
    {
        var engine = new FlowEngine(reference, settings, shards, models: models);
        var alerts = new List<Alert>();
        var stopwatch = Stopwatch.StartNew();
        using (var input = new FileStream(eventsPath, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan))
        using (var alertFile = new JsonLinesWriter(alertsPath))
        using (var deadLetterFile = deadLettersPath is null ? null : new JsonLinesWriter(deadLettersPath))
        {
            var lines = new LineReader(input);
            while (lines.TryReadLine(out var line))
            {
                if (line.Trim(" \t"u8).IsEmpty) continue;   // blank lines are not records
                if (engine.Process(line, lines.LineNumber, alerts, out var reason) == RecordOutcome.Rejected)
                {
                    deadLetterFile?.Write(DeadLetter.Of(lines.LineNumber, reason!, line));
                }
                foreach (var alert in alerts) alertFile.Write(alert);
                alerts.Clear();
            }
        }
        stopwatch.Stop();
        return new ReplayResult(engine.Counters, stopwatch.Elapsed);
    }
}

public sealed record ReplayResult(EngineCounters Counters, TimeSpan Elapsed);
