using System.Reflection;
using FlowWatch.Core.Aggregates;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Decoding;

namespace FlowWatch.Worker.Aggregates;

/// <summary>Aggregate rows and alerts to be written together.</summary>
public sealed record SinkBatch(IReadOnlyList<AggregateBatch> Aggregates, IReadOnlyList<Alert> Alerts)
{
    public int RowCount => Aggregates.Sum(a => a.RowCount) + Alerts.Count;

    /// <summary>One batch holding the rows of many.</summary>
    public static SinkBatch Merge(IReadOnlyList<SinkBatch> batches) => batches.Count == 1 ? batches[0] : new SinkBatch(
        [.. batches.SelectMany(b => b.Aggregates)],
        [.. batches.SelectMany(b => b.Alerts)]);
}

/// <summary>
/// A database of aggregate tables (docs/ANALYST-GUIDE.md). <see cref="WriteAsync"/> is idempotent: writing a batch
/// again leaves what analysts' queries return unchanged, so a failed write is simply retried.
/// </summary>
public interface IAggregateSink : IAsyncDisposable
{
    /// <summary>Where the rows go, for logs and summaries (no password).</summary>
    string Description { get; }

    /// <summary>Creates the tables and views that are missing; safe to run any number of times.</summary>
    Task MigrateAsync(CancellationToken cancellation);

    Task WriteAsync(SinkBatch batch, CancellationToken cancellation);

    /// <summary>
    /// Runs a query and gives its rows as text in one form for both databases: decimals without trailing zeros,
    /// times as <c>yyyy-MM-dd HH:mm:ss</c>, dates as <c>yyyy-MM-dd</c>, NULL as <c>\N</c> (for analysts' checks and tests).
    /// </summary>
    Task<IReadOnlyList<string[]>> QueryAsync(string sql, CancellationToken cancellation);

    /// <summary>Whether a failed write may succeed when tried again (the server is away or busy), rather than never.</summary>
    bool IsTransient(Exception failure);
}

internal static class QueryText
{
    public const string Null = "\\N";

    /// <summary>The decimal in its shortest exact form: 12.5000 → 12.5, 3.000 → 3.</summary>
    public static string Decimal(decimal value) => DecimalText.Canonical(value).ToString(System.Globalization.CultureInfo.InvariantCulture);
}

internal static class Schema
{
    /// <summary>The statements of an embedded schema file (deploy/…/schema.sql), comments removed.</summary>
    public static IReadOnlyList<string> Statements(string resourceName)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(resourceName)
            ?? throw new InvalidOperationException($"schema resource '{resourceName}' is missing from the build");
        using var reader = new StreamReader(stream);
        var lines = reader.ReadToEnd().Split('\n').Where(line => !line.TrimStart().StartsWith("--", StringComparison.Ordinal));
        return string.Join('\n', lines).Split(";\n").Select(s => s.Trim().TrimEnd(';')).Where(s => s.Length > 0).ToList();
    }
}
