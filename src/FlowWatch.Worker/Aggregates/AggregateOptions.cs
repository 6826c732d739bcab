namespace FlowWatch.Worker.Aggregates;

/// <summary>Where aggregates go and how they are batched (configuration section <c>FlowWatch:Aggregates</c>).</summary>
public sealed class AggregateOptions
{
    public const string SectionName = "FlowWatch:Aggregates";

    /// <summary>ClickHouse.Driver connection string, e.g. <c>Host=127.0.0.1;Port=8123;Username=default</c>.</summary>
    public string ClickHouse { get; set; } = "";

    /// <summary>Path of a DuckDB file (created when missing).</summary>
    public string DuckDb { get; set; } = "";

    /// <summary>Most rows in one write; queued batches are merged up to this.</summary>
    public int MaxRows { get; set; } = 200_000;

    /// <summary>Batches waiting for the sink before producers wait too.</summary>
    public int QueueCapacity { get; set; } = 8;

    /// <summary>Longest a streamed aggregate waits before it is written.</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Records of a file that form one aggregate batch in <c>replay</c>.</summary>
    public int ReplayBatchRecords { get; set; } = 100_000;

    public bool Enabled => ClickHouse.Length > 0 || DuckDb.Length > 0;

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        void Check(bool ok, string key, string problem)
        {
            if (!ok) errors.Add($"{SectionName}:{key}: {problem}");
        }
        Check(ClickHouse.Length == 0 || DuckDb.Length == 0, nameof(ClickHouse), "and DuckDb are both set; choose one sink");
        Check(ClickHouse.Length == 0 || IsConnectionString(ClickHouse), nameof(ClickHouse),
            "is not a connection string of key=value pairs, e.g. Host=127.0.0.1;Port=8123");
        Check(MaxRows >= 1, nameof(MaxRows), "must be at least 1");
        Check(QueueCapacity >= 1, nameof(QueueCapacity), "must be at least 1");
        Check(FlushInterval > TimeSpan.Zero, nameof(FlushInterval), "must be positive");
        Check(ReplayBatchRecords >= 1, nameof(ReplayBatchRecords), "must be at least 1");
        return errors;
    }

    private static bool IsConnectionString(string text)
    {
        try
        {
            _ = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = text };
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>The configured sink with its tables in place, or null when aggregates are off.</summary>
    public async Task<IAggregateSink?> OpenSinkAsync(CancellationToken cancellation)
    {
        IAggregateSink? sink = ClickHouse.Length > 0 ? new ClickHouseSink(ClickHouse) : DuckDb.Length > 0 ? new DuckDbSink(DuckDb) : null;
        if (sink is null) return null;
        try
        {
            await sink.MigrateAsync(cancellation).ConfigureAwait(false);
            return sink;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await sink.DisposeAsync().ConfigureAwait(false);
            throw new AggregateSinkException($"creating the aggregate tables in {sink.Description} failed: {ex.Message}", ex)
            {
                Transient = sink.IsTransient(ex),
            };
        }
    }
}
