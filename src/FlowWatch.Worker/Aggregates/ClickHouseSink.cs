using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using ClickHouse.Driver;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Engine;
using FlowWatch.Core.Serialization;

namespace FlowWatch.Worker.Aggregates;

/// <summary>
/// Writes aggregate rows to ClickHouse (deploy/clickhouse/schema.sql) over HTTP with the binary insert format. Column
/// types travel with each insert, so no schema probe is needed and the same code serves ClickHouse 18.16 and ≥ 23.8.
/// </summary>
public sealed class ClickHouseSink : IAggregateSink
{
    private const string DefaultDatabase = "flowwatch";

    private const int MoneyScale = 10;
    private const int UtilisationScale = 6;

    private static readonly string[] PaymentsColumns =
        ["batch_id", "entity_id", "minute", "account_kind", "channel", "direction", "currency", "events", "amount", "amount_cny"];

    private static readonly string[] CorridorColumns =
        ["batch_id", "minute", "account_kind", "cp_kind", "cp_country", "currency", "direction", "events", "amount_cny"];

    private static readonly string[] AlertColumns =
        ["alert_id", "rule", "severity", "entity_id", "account", "txn_id", "ts", "detected_at", "message", "metrics", "refs"];

    private static readonly string[] PositionColumns =
        ["entity_id", "year", "net_inflow", "inflow_cap", "outflow_cap", "inflow_utilisation", "outflow_utilisation", "updated_at", "version"];

    private const int MinRowsToSplit = 50_000;

    private readonly RowBinary[] _buffers = [.. Enumerable.Range(0, Math.Max(2, Environment.ProcessorCount)).Select(_ => new RowBinary())];

    // Server error codes that pass: timeouts, overload, network trouble between replicas, a read-only replica.
    private static readonly HashSet<int> TransientServerErrors = [159, 160, 164, 202, 209, 210, 241, 242, 252, 285, 319, 425, 999];

    private readonly ClickHouseClient _client;
    private readonly string _database;
    private readonly QueryOptions _inDatabase;

    /// <param name="connectionString">
    /// ClickHouse.Driver connection string, e.g. <c>Host=127.0.0.1;Port=8123;Database=flowwatch</c>; the database
    /// (default <c>flowwatch</c>) is created by <see cref="MigrateAsync"/>.
    /// </param>
    public ClickHouseSink(string connectionString)
    {
        var builder = new DbConnectionStringBuilder { ConnectionString = connectionString };
        _database = builder.TryGetValue("Database", out var database) && database is string { Length: > 0 } name ? name : DefaultDatabase;
        if (!System.Text.RegularExpressions.Regex.IsMatch(_database, "^[A-Za-z_][A-Za-z0-9_]*$"))
            throw new Configuration.ConfigurationException($"{AggregateOptions.SectionName}:ClickHouse: database '{_database}' is not a plain identifier");
        // JSON column support probes server settings that older servers lack; this sink has no JSON columns.
        builder["JsonReadMode"] = "None";
        builder["JsonWriteMode"] = "None";
        // The database may not exist before MigrateAsync: statements name it, queries set it.
        builder.Remove("Database");
        _client = new ClickHouseClient(builder.ConnectionString);
        _inDatabase = new QueryOptions { Database = _database };
        var host = builder.TryGetValue("Host", out var h) ? h : "localhost";
        var port = builder.TryGetValue("Port", out var p) ? p : "8123";
        Description = $"ClickHouse at {host}:{port}, database {_database}";
    }

    public string Description { get; }

    public async Task MigrateAsync(CancellationToken cancellation)
    {
        foreach (var statement in Schema.Statements("schema.clickhouse.sql"))
        {
            var inThisDatabase = System.Text.RegularExpressions.Regex.Replace(statement, @"\bflowwatch\b", _database);
            await _client.ExecuteNonQueryAsync(inThisDatabase, cancellationToken: cancellation).ConfigureAwait(false);
        }
    }

    /// <summary>Not thread-safe: one writer at a time (the <see cref="AggregateWriter"/> loop).</summary>
    public async Task WriteAsync(SinkBatch batch, CancellationToken cancellation)
    {
        await InsertAsync("payments_minute_rows", PaymentsColumns,
            [.. batch.Aggregates.SelectMany(a => a.Payments.Select(r => (a.BatchId, Row: r)))], static (w, p) =>
            {
                w.String(p.BatchId);
                w.String(p.Row.EntityId);
                w.DateTime(p.Row.MinuteTicks);
                w.String(p.Row.AccountKind.ToString());
                w.String(EngineShard.ChannelCode(p.Row.Channel));
                w.String(Directions.Code(p.Row.Direction));
                w.String(p.Row.Currency);
                w.UInt64((ulong)p.Row.Events);
                w.Decimal(p.Row.Amount, MoneyScale);
                w.Decimal(p.Row.AmountCny, MoneyScale);
            }, cancellation).ConfigureAwait(false);
        await InsertAsync("corridor_minute_rows", CorridorColumns,
            [.. batch.Aggregates.SelectMany(a => a.Corridors.Select(r => (a.BatchId, Row: r)))], static (w, c) =>
            {
                w.String(c.BatchId);
                w.DateTime(c.Row.MinuteTicks);
                w.String(c.Row.AccountKind.ToString());
                w.String(c.Row.CpKind.ToString());
                w.String(c.Row.CpCountry);
                w.String(c.Row.Currency);
                w.String(Directions.Code(c.Row.Direction));
                w.UInt64((ulong)c.Row.Events);
                w.Decimal(c.Row.AmountCny, MoneyScale);
            }, cancellation).ConfigureAwait(false);
        await InsertAsync("penetration_rows", PositionColumns, [.. batch.Aggregates.SelectMany(a => a.Positions)], static (w, r) =>
            {
                w.String(r.EntityId);
                w.UInt16((ushort)r.Year);
                w.Decimal(r.NetInflow, MoneyScale);
                w.NullableDecimal(r.InflowCap, MoneyScale);
                w.NullableDecimal(r.OutflowCap, MoneyScale);
                w.NullableDecimal(r.InflowUtilisation, UtilisationScale);
                w.NullableDecimal(r.OutflowUtilisation, UtilisationScale);
                w.DateTime(r.UpdatedTicks);
                w.UInt64((ulong)r.Version);
            }, cancellation).ConfigureAwait(false);
        await InsertAsync("alert_rows", AlertColumns, batch.Alerts, static (w, a) =>
            {
                w.String(a.AlertId);
                w.String(a.Rule);
                w.String(a.Severity.ToString());
                w.String(a.EntityId);
                w.String(a.Account);
                w.String(a.TxnId);
                w.DateTime(a.Ts.UtcTicks);
                w.DateTime(a.DetectedAt.UtcTicks);
                w.String(a.Message);
                w.String(JsonSerializer.Serialize(a.Metrics, FlowWatchJsonContext.Default.AlertMetrics));
                w.String(JsonSerializer.Serialize(a.Refs, FlowWatchJsonContext.Default.IReadOnlyListString));
            }, cancellation).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<string[]>> QueryAsync(string sql, CancellationToken cancellation)
    {
        // TabSeparated: this driver's own reader format is unknown to ClickHouse 18.16.
        using var result = await _client.ExecuteRawResultAsync($"{sql}\nFORMAT TabSeparated", _inDatabase, cancellation).ConfigureAwait(false);
        var text = await result.ReadAsStringAsync().ConfigureAwait(false);
        return [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split('\t').Select(Field).ToArray())];
    }

    private static string Field(string tsv)
    {
        if (tsv == QueryText.Null) return tsv;
        var text = tsv.Replace("\\t", "\t", StringComparison.Ordinal).Replace("\\n", "\n", StringComparison.Ordinal)
            .Replace("\\'", "'", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal);
        return text.Contains('.', StringComparison.Ordinal) && decimal.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint,
            CultureInfo.InvariantCulture, out var number) ? QueryText.Decimal(number) : text;
    }

    public bool IsTransient(Exception failure) => failure switch
    {
        ClickHouseServerException server => TransientServerErrors.Contains(server.ErrorCode),
        HttpRequestException or IOException or TimeoutException or TaskCanceledException => true,
        _ => failure.InnerException is { } inner && IsTransient(inner),
    };

    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        foreach (var buffer in _buffers) buffer.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Inserts the rows as RowBinary, split into one insert per buffer run side by side when there are many: each
    /// insert is one thread on the server, and the materialized roll-ups make inserting CPU-bound there.
    /// </summary>
    private async Task InsertAsync<T>(string table, string[] columns, IReadOnlyList<T> rows, Action<RowBinary, T> write, CancellationToken cancellation)
    {
        if (rows.Count == 0) return;
        var parts = rows.Count >= MinRowsToSplit ? _buffers.Length : 1;
        var size = (rows.Count + parts - 1) / parts;
        var inserts = new Task[parts];
        try
        {
            for (var part = 0; part < parts; part++)
            {
                var buffer = _buffers[part];
                for (var i = part * size; i < Math.Min(rows.Count, (part + 1) * size); i++)
                {
                    write(buffer, rows[i]);
                    buffer.EndRow();
                }
                inserts[part] = Send(table, columns, buffer, cancellation);
            }
            await Task.WhenAll(inserts).ConfigureAwait(false);
        }
        finally
        {
            foreach (var buffer in _buffers) buffer.Clear();
        }
    }

    private async Task Send(string table, string[] columns, RowBinary buffer, CancellationToken cancellation)
    {
        // Uncompressed: ClickHouse before 22.x knows no zstd request bodies, and on a LAN compressing costs more CPU than it saves.
        using var response = await _client.InsertRawStreamAsync($"{_database}.{table}", buffer.Content(), "RowBinary", columns,
            useCompression: false, cancellationToken: cancellation).ConfigureAwait(false);
    }

}
