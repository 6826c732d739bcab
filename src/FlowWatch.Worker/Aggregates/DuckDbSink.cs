using System.Globalization;
using System.Text.Json;
using DuckDB.NET.Data;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Engine;
using FlowWatch.Core.Serialization;

namespace FlowWatch.Worker.Aggregates;

/// <summary>
/// Writes aggregate rows to an embedded DuckDB file (deploy/duckdb/schema.sql): rows are appended to staging tables,
/// then moved into the storage tables in one transaction with <c>ON CONFLICT</c>, so a batch written again changes
/// nothing and a position only ever moves to a newer version.
/// </summary>
public sealed class DuckDbSink : IAggregateSink
{
    private static readonly string[] StorageTables = ["payments_minute_rows", "corridor_minute_rows", "alert_rows", "penetration_rows"];

    private readonly DuckDBConnection _connection;

    public DuckDbSink(string path)
    {
        EnsureDatabaseOrNew(path);
        _connection = new DuckDBConnection($"Data Source={path}");
        try
        {
            _connection.Open();
        }
        catch (DuckDBException ex)
        {
            // Not a DuckDB file, or one another process holds: the command stops saying so.
            _connection.Dispose();
            throw new AggregateSinkException($"opening DuckDB file {path} failed: {ex.Message}", ex);
        }
        Description = $"DuckDB file {path}";
    }

    public string Description { get; }

    /// <summary>
    /// Fails unless the file at <paramref name="path"/> is a DuckDB database (its header holds "DUCK" after an 8-byte
    /// checksum), is empty, or is not there yet: DuckDB opens some other files by their names (.json, .csv, .parquet)
    /// as a database it never writes to, and every row "written" would be lost without an error.
    /// </summary>
    private static void EnsureDatabaseOrNew(string path)
    {
        if (!File.Exists(path)) return;
        Span<byte> header = stackalloc byte[12];
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            var read = file.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
            if (read == 0 || read == header.Length && header[8..].SequenceEqual("DUCK"u8)) return;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new AggregateSinkException($"opening DuckDB file {path} failed: {ex.Message}", ex);
        }
        throw new AggregateSinkException($"opening DuckDB file {path} failed: it is not a DuckDB database file");
    }

    public Task MigrateAsync(CancellationToken cancellation)
    {
        foreach (var statement in Schema.Statements("schema.duckdb.sql")) Execute(statement);
        Execute("CREATE SCHEMA IF NOT EXISTS staging");
        foreach (var table in StorageTables)
        {
            Execute($"CREATE TABLE IF NOT EXISTS staging.{table} AS SELECT * FROM main.{table} LIMIT 0");
        }
        return Task.CompletedTask;
    }

    public Task WriteAsync(SinkBatch batch, CancellationToken cancellation)
    {
        using var transaction = _connection.BeginTransaction();
        foreach (var table in StorageTables) Execute($"DELETE FROM staging.{table}");
        Stage(batch);
        Execute("INSERT INTO main.payments_minute_rows SELECT * FROM staging.payments_minute_rows ON CONFLICT DO NOTHING");
        Execute("INSERT INTO main.corridor_minute_rows SELECT * FROM staging.corridor_minute_rows ON CONFLICT DO NOTHING");
        Execute("INSERT INTO main.alert_rows SELECT * FROM staging.alert_rows ON CONFLICT DO NOTHING");
        // A batch may hold several positions of one entity and year: the newest of them, and only if newer than the stored one.
        Execute("""
            INSERT INTO main.penetration_rows
            SELECT * FROM staging.penetration_rows QUALIFY row_number() OVER (PARTITION BY entity_id, year ORDER BY version DESC) = 1
            ON CONFLICT (entity_id, year) DO UPDATE SET
                net_inflow = excluded.net_inflow, inflow_cap = excluded.inflow_cap, outflow_cap = excluded.outflow_cap,
                inflow_utilisation = excluded.inflow_utilisation, outflow_utilisation = excluded.outflow_utilisation,
                updated_at = excluded.updated_at, version = excluded.version
            WHERE excluded.version > penetration_rows.version
            """);
        transaction.Commit();
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<string[]>> QueryAsync(string sql, CancellationToken cancellation)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<string[]>();
        while (reader.Read())
        {
            var row = new string[reader.FieldCount];
            for (var i = 0; i < row.Length; i++) row[i] = reader.IsDBNull(i) ? QueryText.Null : Field(reader.GetValue(i));
            rows.Add(row);
        }
        return Task.FromResult<IReadOnlyList<string[]>>(rows);
    }

    private static string Field(object value) => value switch
    {
        decimal number => QueryText.Decimal(number),
        DateTime time => time.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
        DateOnly date => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    /// <summary>An embedded file has no server to come back: a failed write fails the same way again.</summary>
    public bool IsTransient(Exception failure) => false;

    public ValueTask DisposeAsync() => _connection.DisposeAsync();

    private void Stage(SinkBatch batch)
    {
        using (var appender = _connection.CreateAppender("staging", "payments_minute_rows"))
        {
            foreach (var aggregate in batch.Aggregates)
            {
                foreach (var r in aggregate.Payments)
                {
                    appender.CreateRow().AppendValue(aggregate.BatchId).AppendValue(r.EntityId).AppendValue(ShanghaiWallClock(r.MinuteTicks))
                        .AppendValue(r.AccountKind.ToString()).AppendValue(EngineShard.ChannelCode(r.Channel)).AppendValue(Directions.Code(r.Direction))
                        .AppendValue(r.Currency).AppendValue((ulong)r.Events).AppendValue(r.Amount).AppendValue(r.AmountCny).EndRow();
                }
            }
        }
        using (var appender = _connection.CreateAppender("staging", "corridor_minute_rows"))
        {
            foreach (var aggregate in batch.Aggregates)
            {
                foreach (var r in aggregate.Corridors)
                {
                    appender.CreateRow().AppendValue(aggregate.BatchId).AppendValue(ShanghaiWallClock(r.MinuteTicks)).AppendValue(r.AccountKind.ToString())
                        .AppendValue(r.CpKind.ToString()).AppendValue(r.CpCountry).AppendValue(r.Currency).AppendValue(Directions.Code(r.Direction))
                        .AppendValue((ulong)r.Events).AppendValue(r.AmountCny).EndRow();
                }
            }
        }
        using (var appender = _connection.CreateAppender("staging", "penetration_rows"))
        {
            foreach (var r in batch.Aggregates.SelectMany(a => a.Positions))
            {
                appender.CreateRow().AppendValue(r.EntityId).AppendValue((ushort)r.Year).AppendValue(r.NetInflow).AppendValue(r.InflowCap)
                    .AppendValue(r.OutflowCap).AppendValue(r.InflowUtilisation).AppendValue(r.OutflowUtilisation)
                    .AppendValue(ShanghaiWallClock(r.UpdatedTicks)).AppendValue((ulong)r.Version).EndRow();
            }
        }
        using (var appender = _connection.CreateAppender("staging", "alert_rows"))
        {
            foreach (var a in batch.Alerts)
            {
                appender.CreateRow().AppendValue(a.AlertId).AppendValue(a.Rule).AppendValue(a.Severity.ToString()).AppendValue(a.EntityId)
                    .AppendValue(a.Account).AppendValue(a.TxnId).AppendValue(ShanghaiWallClock(a.Ts.UtcTicks))
                    .AppendValue(ShanghaiWallClock(a.DetectedAt.UtcTicks)).AppendValue(a.Message)
                    .AppendValue(JsonSerializer.Serialize(a.Metrics, FlowWatchJsonContext.Default.AlertMetrics))
                    .AppendValue(JsonSerializer.Serialize(a.Refs, FlowWatchJsonContext.Default.IReadOnlyListString)).EndRow();
            }
        }
    }

    private void Execute(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    // DuckDB's TIMESTAMP has no zone: it holds the Shanghai wall-clock time, to the second, as ClickHouse shows its
    // DateTime('Etc/GMT-8'), so that one query gives the same answer on both.
    private static DateTime ShanghaiWallClock(long utcTicks) =>
        new(utcTicks - utcTicks % TimeSpan.TicksPerSecond + ShanghaiTime.OffsetTicks, DateTimeKind.Unspecified);
}
