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

    private readonly RowBinary _rows = new();

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
        foreach (var aggregate in batch.Aggregates)
        {
            foreach (var r in aggregate.Payments)
            {
                _rows.String(aggregate.BatchId);
                _rows.String(r.EntityId);
                _rows.DateTime(r.MinuteTicks);
                _rows.String(r.AccountKind.ToString());
                _rows.String(EngineShard.ChannelCode(r.Channel));
                _rows.String(Directions.Code(r.Direction));
                _rows.String(r.Currency);
                _rows.UInt64((ulong)r.Events);
                _rows.Decimal(r.Amount, MoneyScale);
                _rows.Decimal(r.AmountCny, MoneyScale);
                _rows.EndRow();
            }
        }
        await InsertAsync("payments_minute_rows", PaymentsColumns, cancellation).ConfigureAwait(false);

        foreach (var aggregate in batch.Aggregates)
        {
            foreach (var r in aggregate.Corridors)
            {
                _rows.String(aggregate.BatchId);
                _rows.DateTime(r.MinuteTicks);
                _rows.String(r.AccountKind.ToString());
                _rows.String(r.CpKind.ToString());
                _rows.String(r.CpCountry);
                _rows.String(r.Currency);
                _rows.String(Directions.Code(r.Direction));
                _rows.UInt64((ulong)r.Events);
                _rows.Decimal(r.AmountCny, MoneyScale);
                _rows.EndRow();
            }
        }
        await InsertAsync("corridor_minute_rows", CorridorColumns, cancellation).ConfigureAwait(false);

        foreach (var r in batch.Aggregates.SelectMany(a => a.Positions))
        {
            _rows.String(r.EntityId);
            _rows.UInt16((ushort)r.Year);
            _rows.Decimal(r.NetInflow, MoneyScale);
            _rows.NullableDecimal(r.InflowCap, MoneyScale);
            _rows.NullableDecimal(r.OutflowCap, MoneyScale);
            _rows.NullableDecimal(r.InflowUtilisation, UtilisationScale);
            _rows.NullableDecimal(r.OutflowUtilisation, UtilisationScale);
            _rows.DateTime(r.UpdatedTicks);
            _rows.UInt64((ulong)r.Version);
            _rows.EndRow();
        }
        await InsertAsync("penetration_rows", PositionColumns, cancellation).ConfigureAwait(false);

        foreach (var a in batch.Alerts)
        {
            _rows.String(a.AlertId);
            _rows.String(a.Rule);
            _rows.String(a.Severity.ToString());
            _rows.String(a.EntityId);
            _rows.String(a.Account);
            _rows.String(a.TxnId);
            _rows.DateTime(a.Ts.UtcTicks);
            _rows.DateTime(a.DetectedAt.UtcTicks);
            _rows.String(a.Message);
            _rows.String(JsonSerializer.Serialize(a.Metrics, FlowWatchJsonContext.Default.AlertMetrics));
            _rows.String(JsonSerializer.Serialize(a.Refs, FlowWatchJsonContext.Default.IReadOnlyListString));
            _rows.EndRow();
        }
        await InsertAsync("alert_rows", AlertColumns, cancellation).ConfigureAwait(false);
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
        _rows.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task InsertAsync(string table, string[] columns, CancellationToken cancellation)
    {
        try
        {
            if (_rows.Rows == 0) return;
            // Uncompressed: ClickHouse before 22.x knows no zstd request bodies, and on a LAN compressing costs more CPU than it saves.
            using var response = await _client.InsertRawStreamAsync($"{_database}.{table}", _rows.Content(), "RowBinary", columns,
                useCompression: false, cancellationToken: cancellation).ConfigureAwait(false);
        }
        finally
        {
            _rows.Clear();
        }
    }

}
