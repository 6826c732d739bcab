using System.Diagnostics;
using System.Globalization;
using FlowWatch.Core.Aggregates;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Engine;
using FlowWatch.Core.Reference;
using FlowWatch.Simulator;
using Microsoft.Extensions.Logging.Abstractions;

namespace FlowWatch.Worker.Aggregates;

/// <summary>
/// <c>flowwatch bench --clickhouse C | --duckdb F</c>: how fast the sink takes aggregate rows. Rows come from the
/// engine summing generated payments (so they have the real shape and spread), are written through the same
/// writer as <c>replay</c> and <c>run</c>, and the figure is rows over the wall time of writing them all.
/// </summary>
internal static class SinkBench
{
    public static async Task<string> RunAsync(AggregateOptions options, int events, TextWriter progress)
    {
        progress.WriteLine($"summing {events:N0} generated payments into aggregate rows...");
        var batches = Batches(events, batchEvents: 100_000);
        var rows = batches.Sum(b => (long)b.RowCount);
        await using var sink = (await options.OpenSinkAsync(CancellationToken.None))!;
        progress.WriteLine($"writing {rows:N0} rows in {batches.Count} batches to {sink.Description}...");
        var writer = new AggregateWriter(sink, options, NullLogger.Instance);
        var stopwatch = Stopwatch.StartNew();
        foreach (var batch in batches.Chunk(Replay.ReplayCommand.PartsPerBatch)) await writer.EnqueueAsync(new SinkBatch(batch, []));
        await writer.CompleteAsync();
        stopwatch.Stop();
        return string.Create(CultureInfo.InvariantCulture,
            $"| aggregate sink: {rows:N0} rows from {events:N0} payments into {sink.Description} | {rows / stopwatch.Elapsed.TotalSeconds:N0} rows/s ({writer.Writes} writes, {stopwatch.Elapsed.TotalSeconds:0.00} s) |");
    }

    private static List<AggregateBatch> Batches(int events, int batchEvents)
    {
        var traffic = new SyntheticPayments(entities: 10_000, seed: 31);
        var reference = ReferenceDataLoader.Parse(System.Text.Encoding.UTF8.GetBytes(traffic.ReferenceJson()));
        var engine = new FlowEngine(reference, new RuleSettings()) { Aggregator = new FlowAggregator() };
        var alerts = new List<Alert>();
        var batches = new List<AggregateBatch>();
        var lines = traffic.Events(events, new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.FromHours(8)), TimeSpan.FromMilliseconds(20), "B");
        for (var i = 0; i < lines.Count; i++)
        {
            engine.Process(lines[i], i + 1, alerts, out _);
            alerts.Clear();
            if ((i + 1) % batchEvents == 0 || i == lines.Count - 1)
            {
                batches.AddRange(engine.Aggregator.Take(string.Create(CultureInfo.InvariantCulture, $"bench {Guid.NewGuid():N} {batches.Count}"))
                    .Split(Replay.ReplayCommand.PartsPerBatch));
            }
        }
        return batches;
    }
}
