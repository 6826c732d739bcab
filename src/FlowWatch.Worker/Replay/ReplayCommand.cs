using System.Diagnostics;
using System.Globalization;
using System.IO.Hashing;
using FlowWatch.Core.Aggregates;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Engine;
using FlowWatch.Core.Reference;
using FlowWatch.Core.Scoring;
using FlowWatch.Core.Serialization;
using FlowWatch.Worker.Aggregates;
using FlowWatch.Worker.Cli;
using FlowWatch.Worker.Configuration;
using FlowWatch.Worker.Kafka;
using FlowWatch.Worker.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace FlowWatch.Worker.Replay;

/// <summary>
/// <c>flowwatch replay</c>: runs the engine over a JSONL file in file order (backtesting) and writes the same
/// alerts streaming would, with every rejected line in the dead-letter file. Bad input never stops it.
/// </summary>
public static class ReplayCommand
{
    /// <summary>Parts of an aggregate batch that a sink may write side by side; fixed, so a file always yields the same batches.</summary>
    public const int PartsPerBatch = 4;

    public const string Usage =
        "flowwatch replay --reference R --events E --alerts A [--dead-letters D] [--clickhouse CONNECTION | --duckdb FILE | --aggregates G] [--shards N] [--config C] [--models DIR]";

    public static int Run(Arguments args, TextWriter stdout)
    {
        var referencePath = args.Required("--reference");
        var eventsPath = args.Required("--events");
        var alertsPath = args.Required("--alerts");
        var deadLettersPath = args.Optional("--dead-letters");
        var shards = args.WholeNumber("--shards", 1, 1, 1024);
        var (clickHouse, duckDb) = args.AggregateSink();
        var configFile = args.Optional("--config");
        var modelsDirectory = args.Optional("--models");
        args.EnsureAllRead();
        Arguments.EnsureDistinctFiles(("--reference", referencePath), ("--events", eventsPath), ("--alerts", alertsPath),
            ("--dead-letters", deadLettersPath), ("--duckdb", duckDb), ("--config", configFile));

        var configuration = FlowWatchConfiguration.Build(configFile);
        var settings = FlowWatchSections.Rules.Read(configuration);
        var aggregateOptions = FlowWatchConfiguration.Aggregates(configuration, clickHouse, duckDb);
        using var models = ModelWatcher.Start(modelsDirectory ?? configuration[ModelWatcher.DirectoryKey], NullLogger.Instance, watch: false);
        var reference = ReferenceDataLoader.LoadFile(referencePath);
        if (!File.Exists(eventsPath))
        {
            throw new FileNotFoundException($"events file '{eventsPath}' {(Directory.Exists(eventsPath) ? "is a directory, not a file" : "not found")}");
        }

        using var logging = CommandLogging.Create();
        new HoldersWithoutRecordWarning().Say(logging.CreateLogger("reference"), reference);
        var sink = aggregateOptions.OpenSinkAsync(CancellationToken.None).GetAwaiter().GetResult();
        var writer = sink is null ? null : new AggregateWriter(sink, aggregateOptions, logging.CreateLogger("aggregates"));
        try
        {
            ReplayResult result;
            using (OutputFiles.HoldInputs(referencePath, configFile))
            {
                result = Replay(reference, settings, shards, eventsPath, alertsPath, deadLettersPath, models.Models, writer, aggregateOptions.ReplayBatchRecords);
            }
            stdout.WriteLine(models.Models.Current is { } loaded ? $"models {loaded.Version} from {models.Directory}" : "no models: ML_ANOMALY off");
            Summary.Print(stdout, $"replay of {eventsPath}", result.Counters, result.Elapsed, result.Details);
            if (writer is not null) stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  aggregates       {writer.RowsWritten,12:N0} rows written to {sink!.Description}"));
        }
        finally
        {
            writer?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            sink?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        return 0;
    }

    /// <summary>
    /// Runs the engine over the file. With <paramref name="aggregates"/>, every <paramref name="batchRecords"/> records
    /// form an aggregate batch named after their line range and a hash of their bytes, so replaying the same file
    /// into the same database writes the same batches again, which the sink ignores. Returns once they are written.
    /// </summary>
    public static ReplayResult Replay(ReferenceData reference, RuleSettings settings, int shards, string eventsPath,
        string alertsPath, string? deadLettersPath, ModelHolder? models = null, AggregateWriter? aggregates = null, int batchRecords = 100_000)
    {
        var engine = new FlowEngine(reference, settings, shards, models: models);
        var batch = aggregates is null ? null : new ReplayBatch(engine);
        var alerts = new List<Alert>();
        var differing = new List<long>();
        var stopwatch = Stopwatch.StartNew();
        using (var input = new FileStream(eventsPath, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan))
        {
            // Opened with the input held, so that an output that is the input under another name is refused.
            var outputs = OutputFiles.Open(("--alerts", alertsPath), ("--dead-letters", deadLettersPath));
            using var alertFile = new JsonLinesWriter(outputs[0]!);
            using var deadLetterFile = outputs[1] is { } deadLetters ? new JsonLinesWriter(deadLetters) : null;
            var lines = new LineReader(input);
            while (lines.TryReadLine(out var line))
            {
                if (lines.CutFrom > 0)
                {
                    engine.CountUnread();
                    deadLetterFile?.Write(DeadLetter.Of(lines.LineNumber, string.Create(CultureInfo.InvariantCulture,
                        $"record: {lines.CutFrom:N0} bytes, more than the {LineReader.DefaultMaxLineBytes:N0} a line may hold; its first {line.Length:N0} are kept here"), line));
                }
                else if ((line.StartsWith("\uFEFF"u8) ? line[3..] : line).Trim(" \t"u8).IsEmpty)
                {
                    continue;   // blank lines are not records, a file's first line holding only a byte order mark too
                }
                else
                {
                    var outcome = engine.Process(line, lines.LineNumber, alerts, out var reason);
                    if (outcome == RecordOutcome.Rejected) deadLetterFile?.Write(DeadLetter.Of(lines.LineNumber, reason!, line));
                    // Ignored as every duplicate, but another payment: the summary says where the first ones are.
                    if (outcome == RecordOutcome.DifferingDuplicate && differing.Count < SummaryDetails.MaxDifferingDuplicateLines) differing.Add(lines.LineNumber);
                }
                foreach (var alert in alerts) alertFile.Write(alert);
                if (batch is not null)
                {
                    batch.Add(lines.LineNumber, line, alerts);
                    if (batch.Records >= batchRecords) aggregates!.EnqueueAsync(batch.Take()).AsTask().GetAwaiter().GetResult();
                }
                alerts.Clear();
            }
        }
        if (batch is not null)
        {
            if (batch.Records > 0) aggregates!.EnqueueAsync(batch.Take()).AsTask().GetAwaiter().GetResult();
            aggregates!.CompleteAsync().GetAwaiter().GetResult();
        }
        stopwatch.Stop();
        return new ReplayResult(engine.Counters, stopwatch.Elapsed, new SummaryDetails([.. engine.UnknownFields.Select(field => field.Name)], differing));
    }

    /// <summary>The records since the last aggregate batch: their line range, a hash of their bytes, their alerts.</summary>
    private sealed class ReplayBatch
    {
        private readonly FlowAggregator _aggregator = new();
        private readonly XxHash128 _hash = new();
        private readonly List<Alert> _alerts = [];
        private long _firstLine;
        private long _lastLine;

        public ReplayBatch(FlowEngine engine) => engine.Aggregator = _aggregator;

        public int Records { get; private set; }

        public void Add(long lineNumber, ReadOnlySpan<byte> line, List<Alert> alerts)
        {
            if (Records++ == 0) _firstLine = lineNumber;
            _lastLine = lineNumber;
            _hash.Append(line);
            _hash.Append("\n"u8);
            _alerts.AddRange(alerts);
        }

        public SinkBatch Take()
        {
            var id = string.Create(CultureInfo.InvariantCulture, $"lines {_firstLine}-{_lastLine} {_hash.GetCurrentHashAsUInt128():x32}");
            var batch = new SinkBatch(_aggregator.Take(id).Split(PartsPerBatch), [.. _alerts]);
            _hash.Reset();
            _alerts.Clear();
            Records = 0;
            return batch;
        }
    }
}

/// <summary>What a replay counted, saw beyond its counts, and took.</summary>
public sealed record ReplayResult(EngineCounters Counters, TimeSpan Elapsed, SummaryDetails Details);
