using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using ClickHouse.Driver;
using FlowWatch.Core.Aggregates;
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

    /// <summary>
    /// Not thread-safe: one writer at a time (the <see cref="AggregateWriter"/> loop). Each aggregate batch goes
    /// whole into one insert, so a roll-up row is never made from two inserts (which would collapse as duplicates).
    /// </summary>
    public async Task WriteAsync(SinkBatch batch, CancellationToken cancellation)
    {
        // A batch read twice before one write (a feed whose group rebalanced) would go into one insert twice, and the
        // roll-ups sum a block's rows before ReplacingMergeTree could collapse them: each batch and alert goes in once.
        batch = new SinkBatch([.. batch.Aggregates.DistinctBy(a => a.BatchId, StringComparer.Ordinal)],
            [.. batch.Alerts.DistinctBy(a => a.AlertId, StringComparer.Ordinal)]);
        var groups = Groups(batch.Aggregates);
        await InsertAsync("payments_minute_rows", PaymentsColumns, groups, static (w, a) =>
        {
            foreach (var r in a.Payments)
            {
                w.String(a.BatchId);
                w.String(r.EntityId);
                w.DateTime(r.MinuteTicks);
                w.String(r.AccountKind.ToString());
                w.String(EngineShard.ChannelCode(r.Channel));
                w.String(Directions.Code(r.Direction));
                w.String(r.Currency);
                w.UInt64((ulong)r.Events);
                w.Decimal(r.Amount, MoneyScale);
                w.Decimal(r.AmountCny, MoneyScale);
                w.EndRow();
            }
        }, cancellation).ConfigureAwait(false);
        await InsertAsync("corridor_minute_rows", CorridorColumns, groups, static (w, a) =>
        {
            foreach (var r in a.Corridors)
            {
                w.String(a.BatchId);
                w.DateTime(r.MinuteTicks);
                w.String(r.AccountKind.ToString());
                w.String(r.CpKind.ToString());
                w.String(r.CpCountry);
                w.String(r.Currency);
                w.String(Directions.Code(r.Direction));
                w.UInt64((ulong)r.Events);
                w.Decimal(r.AmountCny, MoneyScale);
                w.EndRow();
            }
        }, cancellation).ConfigureAwait(false);
        await InsertAsync("penetration_rows", PositionColumns, [batch.Aggregates], static (w, a) =>
        {
            foreach (var r in a.Positions)
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
                w.EndRow();
            }
        }, cancellation).ConfigureAwait(false);
        await InsertAsync("alert_rows", AlertColumns, [batch.Alerts], static (w, a) =>
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
            w.EndRow();
        }, cancellation).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<string[]>> QueryAsync(string sql, CancellationToken cancellation)
    {
        // TabSeparated: this driver's own reader format is unknown to ClickHouse 18.16.
        using var result = await _client.ExecuteRawResultAsync($"{sql}\nFORMAT TabSeparated", _inDatabase, cancellation).ConfigureAwait(false);
        var text = await result.ReadAsStringAsync().ConfigureAwait(false);
        // Every row ends with a line break, so the last piece is the nothing after the last row; a row of one empty
        // value is an empty line.
        return [.. text.Split('\n')[..^1].Select(line => line.Split('\t').Select(Field).ToArray())];
    }

    private static string Field(string tsv)
    {
        if (tsv == QueryText.Null) return tsv;
        var text = Unescape(tsv);
        return text.Contains('.', StringComparison.Ordinal) && decimal.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint,
            CultureInfo.InvariantCulture, out var number) ? QueryText.Decimal(number) : text;
    }

    /// <summary>A TabSeparated value as it was: each backslash escape read once, from left to right.</summary>
    private static string Unescape(string tsv)
    {
        if (!tsv.Contains('\\', StringComparison.Ordinal)) return tsv;
        var text = new System.Text.StringBuilder(tsv.Length);
        for (var i = 0; i < tsv.Length; i++)
        {
            if (tsv[i] != '\\' || i == tsv.Length - 1)
            {
                text.Append(tsv[i]);
                continue;
            }
            text.Append(tsv[++i] switch { 't' => '\t', 'n' => '\n', 'r' => '\r', 'b' => '\b', 'f' => '\f', '0' => '\0', var c => c });
        }
        return text.ToString();
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
    /// The batches dealt out to the buffers, biggest first to the emptiest, when there are enough rows to be worth
    /// parallel inserts: each insert is one thread on the server, where the roll-ups make inserting CPU-bound.
    /// </summary>
    private List<AggregateBatch>[] Groups(IReadOnlyList<AggregateBatch> batches)
    {
        var count = batches.Sum(b => b.RowCount) >= MinRowsToSplit ? _buffers.Length : 1;
        var groups = new List<AggregateBatch>[count];
        var rows = new long[count];
        for (var i = 0; i < count; i++) groups[i] = [];
        foreach (var batch in batches.OrderByDescending(b => b.RowCount))
        {
            var emptiest = Array.IndexOf(rows, rows.Min());
            groups[emptiest].Add(batch);
            rows[emptiest] += batch.RowCount;
        }
        return groups;
    }

    /// <summary>One RowBinary insert per group, side by side.</summary>
    private async Task InsertAsync<T>(string table, string[] columns, IReadOnlyList<T>[] groups, Action<RowBinary, T> write,
        CancellationToken cancellation)
    {
        try
        {
            var inserts = new List<Task>();
            for (var i = 0; i < groups.Length; i++)
            {
                foreach (var item in groups[i]) write(_buffers[i], item);
                if (_buffers[i].Rows > 0) inserts.Add(Send(table, columns, _buffers[i], cancellation));
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
        // One insert must reach the tables as one block: the hourly and daily roll-ups sum each block into rows keyed
        // by its batch part, so a part split into blocks by a smaller server setting would keep only one block's sums.
        var options = new QueryOptions { CustomSettings = new Dictionary<string, object> { ["max_insert_block_size"] = Math.Max(buffer.Rows, 1) } };
        using var response = await _client.InsertRawStreamAsync($"{_database}.{table}", buffer.Content(), "RowBinary", columns,
            useCompression: false, options: options, cancellationToken: cancellation).ConfigureAwait(false);
    }

}
