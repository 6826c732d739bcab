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

    private static readonly Table PaymentsTable = new("payments_minute_rows",
        ("batch_id", "String"), ("entity_id", "String"), ("minute", "DateTime('Asia/Shanghai')"), ("account_kind", "String"),
        ("channel", "String"), ("direction", "String"), ("currency", "String"), ("events", "UInt64"),
        ("amount", "Decimal(38, 10)"), ("amount_cny", "Decimal(38, 10)"));

    private static readonly Table CorridorTable = new("corridor_minute_rows",
        ("batch_id", "String"), ("minute", "DateTime('Asia/Shanghai')"), ("account_kind", "String"), ("cp_kind", "String"),
        ("cp_country", "String"), ("currency", "String"), ("direction", "String"), ("events", "UInt64"),
        ("amount_cny", "Decimal(38, 10)"));

    private static readonly Table AlertTable = new("alert_rows",
        ("alert_id", "String"), ("rule", "String"), ("severity", "String"), ("entity_id", "String"), ("account", "String"),
        ("txn_id", "String"), ("ts", "DateTime('Asia/Shanghai')"), ("detected_at", "DateTime('Asia/Shanghai')"),
        ("message", "String"), ("metrics", "String"), ("refs", "String"));

    private static readonly Table PositionTable = new("penetration_rows",
        ("entity_id", "String"), ("year", "UInt16"), ("net_inflow", "Decimal(38, 10)"),
        ("inflow_cap", "Nullable(Decimal(38, 10))"), ("outflow_cap", "Nullable(Decimal(38, 10))"),
        ("inflow_utilisation", "Nullable(Decimal(38, 6))"), ("outflow_utilisation", "Nullable(Decimal(38, 6))"),
        ("updated_at", "DateTime('Asia/Shanghai')"), ("version", "UInt64"));

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

    public async Task WriteAsync(SinkBatch batch, CancellationToken cancellation)
    {
        var payments = batch.Aggregates.SelectMany(a => a.Payments.Select(r => new object[]
        {
            a.BatchId, r.EntityId, UtcTime(r.MinuteTicks), r.AccountKind.ToString(), EngineShard.ChannelCode(r.Channel),
            Directions.Code(r.Direction), r.Currency, (ulong)r.Events, r.Amount, r.AmountCny,
        }));
        var corridors = batch.Aggregates.SelectMany(a => a.Corridors.Select(r => new object[]
        {
            a.BatchId, UtcTime(r.MinuteTicks), r.AccountKind.ToString(), r.CpKind.ToString(), r.CpCountry, r.Currency,
            Directions.Code(r.Direction), (ulong)r.Events, r.AmountCny,
        }));
        var positions = batch.Aggregates.SelectMany(a => a.Positions.Select(r => new object?[]
        {
            r.EntityId, (ushort)r.Year, r.NetInflow, r.InflowCap, r.OutflowCap, r.InflowUtilisation, r.OutflowUtilisation,
            UtcTime(r.UpdatedTicks), (ulong)r.Version,
        }));
        var alerts = batch.Alerts.Select(a => new object[]
        {
            a.AlertId, a.Rule, a.Severity.ToString(), a.EntityId, a.Account, a.TxnId, a.Ts.UtcDateTime, a.DetectedAt.UtcDateTime,
            a.Message, JsonSerializer.Serialize(a.Metrics, FlowWatchJsonContext.Default.AlertMetrics),
            JsonSerializer.Serialize(a.Refs, FlowWatchJsonContext.Default.IReadOnlyListString),
        });
        await InsertAsync(PaymentsTable, payments, cancellation).ConfigureAwait(false);
        await InsertAsync(CorridorTable, corridors, cancellation).ConfigureAwait(false);
        await InsertAsync(PositionTable, positions!, cancellation).ConfigureAwait(false);
        await InsertAsync(AlertTable, alerts, cancellation).ConfigureAwait(false);
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
        return ValueTask.CompletedTask;
    }

    private async Task InsertAsync(Table table, IEnumerable<object[]> rows, CancellationToken cancellation)
    {
        var list = rows as IReadOnlyCollection<object[]> ?? rows.ToList();
        if (list.Count == 0) return;
        await _client.InsertBinaryAsync($"{_database}.{table.Name}", table.Columns, list, table.Options, cancellation).ConfigureAwait(false);
    }

    private static DateTime UtcTime(long utcTicks) => new(utcTicks, DateTimeKind.Utc);

    private sealed class Table
    {
        public Table(string name, params (string Name, string Type)[] columns)
        {
            Name = name;
            Columns = [.. columns.Select(c => c.Name)];
            // Uncompressed: ClickHouse before 22.x knows no zstd request bodies, and rows are small next to the CPU compression costs.
            Options = new InsertOptions { ColumnTypes = columns.ToDictionary(c => c.Name, c => c.Type), Compressor = null };
        }

        public string Name { get; }
        public IReadOnlyList<string> Columns { get; }
        public InsertOptions Options { get; }
    }
}
