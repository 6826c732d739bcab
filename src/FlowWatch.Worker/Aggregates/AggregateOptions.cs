using System.Data.Common;
using System.Globalization;
using System.Reflection;
using ClickHouse.Driver.ADO;

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
        if (ClickHouse.Length > 0) errors.AddRange(ConnectionStringProblems(ClickHouse).Select(problem => $"{SectionName}:{nameof(ClickHouse)}: {problem}"));
        // A mistyped directory is refused, as for every other output, not made.
        if (DuckDb.Length > 0)
        {
            var directory = Path.GetDirectoryName(Path.GetFullPath(DuckDb));
            Check(directory is not null, nameof(DuckDb), $"'{DuckDb}' names no file");
            Check(directory is null || Directory.Exists(directory), nameof(DuckDb), $"'{DuckDb}' is in a directory that does not exist");
        }
        Check(MaxRows >= 1, nameof(MaxRows), "must be at least 1");
        Check(QueueCapacity >= 1, nameof(QueueCapacity), "must be at least 1");
        Check(FlushInterval > TimeSpan.Zero, nameof(FlushInterval), "must be positive");
        Check(ReplayBatchRecords >= 1, nameof(ReplayBatchRecords), "must be at least 1");
        return errors;
    }

    /// <summary>The keys ClickHouse.Driver reads from a connection string: its builder's properties, by name in any letter case.</summary>
    private static readonly PropertyInfo[] ClickHouseKeys =
        typeof(ClickHouseConnectionStringBuilder).GetProperties(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly);

    /// <summary>
    /// ClickHouse.Driver reads its connection string leniently: it passes an unknown key over and takes its default for
    /// a value it cannot read, so a misspelt <c>Databse</c> would send the rows to the default database, <c>Port=81 23</c>
    /// would be port 8123 and <c>Port=70000</c> port 4464, all without a word. Each key must be one the driver reads (or
    /// <c>set_NAME</c>, a server setting), and each number, switch or mode one it reads as written. Values are never
    /// repeated in a problem: one may be a password.
    /// </summary>
    private static List<string> ConnectionStringProblems(string text)
    {
        ClickHouseConnectionStringBuilder builder;
        try
        {
            builder = new ClickHouseConnectionStringBuilder(text);
        }
        catch (ArgumentException)
        {
            return ["is not a connection string of key=value pairs, e.g. Host=127.0.0.1;Port=8123"];
        }
        var problems = KeysAsWritten(text).GroupBy(key => key, StringComparer.OrdinalIgnoreCase).Where(keys => keys.Count() > 1)
            .Select(keys => $"{KeyName(keys.Key)}: given twice (the driver would take the last value)").ToList();
        foreach (string key in builder.Keys)   // in lower case, as the builder keeps them
        {
            if (key.StartsWith("set_", StringComparison.OrdinalIgnoreCase)) continue;
            var property = Array.Find(ClickHouseKeys, p => p.Name.Equals(key, StringComparison.OrdinalIgnoreCase));
            if (property is null)
            {
                problems.Add($"'{key}' is not a key ClickHouse.Driver reads ({string.Join(", ", ClickHouseKeys.Select(p => p.Name))}, or set_NAME for a server setting)");
            }
            else if (ValueProblem(property, builder[key] as string ?? "") is { } problem)
            {
                problems.Add($"{property.Name}: {problem}");
            }
        }
        return problems;
    }

    /// <summary>
    /// The keys of a connection string that parses, one for each pair as written: the builder keeps only the last of a
    /// key given twice. The text is cut at each <c>;</c> that ends a pair on its own, which a <c>;</c> inside a quoted
    /// value does not (the pair up to it leaves its quote open).
    /// </summary>
    private static IEnumerable<string> KeysAsWritten(string text)
    {
        var start = 0;
        for (var end = text.IndexOf(';', StringComparison.Ordinal); ; end = text.IndexOf(';', end + 1))
        {
            var pair = end < 0 ? text[start..] : text[start..end];
            DbConnectionStringBuilder? parsed = null;
            try
            {
                parsed = new DbConnectionStringBuilder { ConnectionString = pair };
            }
            catch (ArgumentException) when (end >= 0)
            {
                // a quoted value goes on past this ';'
            }
            if (parsed is not null)
            {
                foreach (string key in parsed.Keys) yield return key;
                start = end + 1;
            }
            if (end < 0) yield break;
        }
    }

    /// <summary>A key as the driver's builder spells it, or as written for a server setting.</summary>
    private static string KeyName(string key) => Array.Find(ClickHouseKeys, p => p.Name.Equals(key, StringComparison.OrdinalIgnoreCase))?.Name ?? key;

    /// <summary>What is wrong with a value the driver would not read as written, or null.</summary>
    private static string? ValueProblem(PropertyInfo key, string value)
    {
        var type = key.PropertyType;
        if (type == typeof(ushort)) return ushort.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port > 0 ? null : "must be a port number from 1 to 65535";
        if (type == typeof(int)) return int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number > 0 ? null : "must be a whole number above 0";
        if (type == typeof(bool)) return bool.TryParse(value, out _) ? null : "must be true or false";
        if (type == typeof(TimeSpan))
        {
            return double.TryParse(value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds) && seconds > 0 ? null : "must be a number of seconds above 0";
        }
        if (type.IsEnum) return Enum.GetNames(type).Contains(value, StringComparer.OrdinalIgnoreCase) ? null : $"must be one of {string.Join(", ", Enum.GetNames(type))}";
        if (key.Name == nameof(ClickHouseConnectionStringBuilder.Protocol)) return value is "http" or "https" ? null : "must be http or https";
        return null;
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
