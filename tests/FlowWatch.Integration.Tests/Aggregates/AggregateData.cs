using System.Globalization;
using System.Text;
using System.Text.Json;
using FlowWatch.Core.Engine;
using FlowWatch.Core.Reference;
using FlowWatch.Simulator;
using FlowWatch.Worker.Aggregates;
using FlowWatch.Worker.Replay;
using Microsoft.Extensions.Logging.Abstractions;

namespace FlowWatch.Integration.Tests.Aggregates;

/// <summary>An input for the aggregate tests: a reference file, an events file, and what an independent count of the file says.</summary>
public sealed record AggregateInput(string ReferencePath, string EventsPath, long Events, decimal AmountCny,
    IReadOnlyList<SyntheticEvent> Payments)
{
    private static readonly DateTimeOffset WeekStart = new(2026, 3, 2, 8, 0, 0, TimeSpan.FromHours(8));

    /// <summary>The repository's sample stream (hand-written cases, bad lines included).</summary>
    public static AggregateInput Samples() => new(
        Path.Combine(AppContext.BaseDirectory, "samples", "reference.json"),
        Path.Combine(AppContext.BaseDirectory, "samples", "events.jsonl"), Events: -1, AmountCny: -1, Payments: []);

    /// <summary>Generated traffic over the week of 2026-03-02 (the dates of the analyst guide), with its totals summed here.</summary>
    public static AggregateInput Synthetic(string directory, int events, int seed = 11)
    {
        var traffic = new SyntheticPayments(entities: 400, seed: seed, violationRate: 0.05);
        var referencePath = Path.Combine(directory, "synthetic-reference.json");
        var eventsPath = Path.Combine(directory, "synthetic-events.jsonl");
        var referenceJson = traffic.ReferenceJson();
        File.WriteAllText(referencePath, referenceJson);
        var payments = traffic.KeyedEvents(events, WeekStart, TimeSpan.FromDays(7) / events, "AGG-");
        using (var file = File.Create(eventsPath))
        {
            foreach (var payment in payments)
            {
                file.Write(payment.Line);
                file.WriteByte((byte)'\n');
            }
        }
        return new AggregateInput(referencePath, eventsPath, events, IndependentCnyTotal(referenceJson, payments.Select(p => p.Line)), payments);
    }

    /// <summary>Σ amount × rate straight from the JSON, with no FlowWatch code: the oracle for amount_cny.</summary>
    private static decimal IndependentCnyTotal(string referenceJson, IEnumerable<byte[]> lines)
    {
        using var reference = JsonDocument.Parse(referenceJson);
        var rates = reference.RootElement.GetProperty("fxRates").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDecimal());
        rates["CNY"] = 1m;
        var total = 0m;
        foreach (var line in lines)
        {
            using var e = JsonDocument.Parse(line);
            var amount = decimal.Parse(e.RootElement.GetProperty("amount").GetString()!, CultureInfo.InvariantCulture);
            total += amount * rates[e.RootElement.GetProperty("currency").GetString()!];
        }
        return total;
    }

    /// <summary>Replays the input into the sink in batches of <paramref name="batchRecords"/> records; returns the replay's result.</summary>
    public ReplayResult ReplayInto(IAggregateSink sink, string alertsPath, int batchRecords = 2_500)
    {
        var options = new AggregateOptions { ReplayBatchRecords = batchRecords };
        var writer = new AggregateWriter(sink, options, NullLogger.Instance);
        try
        {
            return ReplayCommand.Replay(ReferenceDataLoader.LoadFile(ReferencePath), new RuleSettings(), 1, EventsPath, alertsPath, null,
                aggregates: writer, batchRecords: batchRecords);
        }
        finally
        {
            writer.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }
}

/// <summary>Values as the sinks' <c>QueryAsync</c> gives them.</summary>
public static class QueryValues
{
    public static string Text(decimal value) => FlowWatch.Core.Decoding.DecimalText.Canonical(value).ToString(CultureInfo.InvariantCulture);
}

/// <summary>The analyst questions of docs/ANALYST-GUIDE.md: every <c>```sql</c> block, and those for one database.</summary>
public static class AnalystGuide
{
    public static IReadOnlyList<string> Queries() => Blocks("```sql\n");

    /// <summary>The guide's query for one database only: its block is marked <c>```sql duckdb</c> or <c>```sql clickhouse</c>.</summary>
    public static string QueryFor(string database) => Blocks($"```sql {database}\n").Single();

    private static List<string> Blocks(string fence)
    {
        var text = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "docs", "ANALYST-GUIDE.md"));
        var queries = new List<string>();
        var at = 0;
        while ((at = text.IndexOf(fence, at, StringComparison.Ordinal)) >= 0)
        {
            var end = text.IndexOf("```", at + fence.Length, StringComparison.Ordinal);
            queries.Add(text[(at + fence.Length)..end].Trim());
            at = end + 3;
        }
        return queries;
    }

    /// <summary>Each query's answer, one line per row, tab-separated.</summary>
    public static async Task<IReadOnlyList<string>> Answers(IAggregateSink sink)
    {
        var answers = new List<string>();
        foreach (var query in Queries())
        {
            var rows = await sink.QueryAsync(query, CancellationToken.None);
            var text = new StringBuilder();
            foreach (var row in rows) text.Append(string.Join('\t', row)).Append('\n');
            answers.Add(text.ToString());
        }
        return answers;
    }
}
