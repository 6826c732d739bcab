namespace FlowWatch.Worker.Cli;

/// <summary>A usage mistake on the command line; the message says what to write instead.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>
/// <c>--name value</c> options and <c>--flag</c> switches after the command word. Every option must be known to the
/// command. An option followed by another option, or by nothing, is a switch. A value that is empty or blank (an
/// unset shell variable, quoted) is no value: no option takes one.
/// </summary>
public sealed class Arguments
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    public Arguments(IEnumerable<string> args)
    {
        var list = args.ToList();
        for (var i = 0; i < list.Count; i++)
        {
            var name = list[i];
            if (!name.StartsWith("--", StringComparison.Ordinal) || name.Length == 2) throw new UsageException($"unexpected argument '{name}'");
            // No option's name holds '=': --reference=r.json was otherwise "unknown", or reported as --reference missing.
            if (name.IndexOf('=', StringComparison.Ordinal) is var equals and > 2)
            {
                throw new UsageException($"write {name[..equals]} and its value as two arguments, not {name}");
            }
            var isSwitch = i + 1 == list.Count || list[i + 1].StartsWith("--", StringComparison.Ordinal);
            if (!isSwitch && string.IsNullOrWhiteSpace(list[i + 1])) throw new UsageException($"{name} needs a value, not an empty one");
            if (!_values.TryAdd(name, isSwitch ? SwitchValue : list[++i])) throw new UsageException($"{name} given twice");
        }
    }

    private const string SwitchValue = "\0switch";

    public string Required(string name) =>
        Optional(name) ?? throw new UsageException(
            _values.Keys.FirstOrDefault(given => given.Equals(name, StringComparison.OrdinalIgnoreCase)) is { } inAnotherCase
                ? $"unknown option {inAnotherCase}: options are written in lower case, {name}"
                : $"{name} is required");

    public string? Optional(string name)
    {
        _read.Add(name);
        var value = _values.GetValueOrDefault(name);
        return value == SwitchValue ? throw new UsageException($"{name} needs a value") : value;
    }

    /// <summary>True when the switch was given.</summary>
    public bool Switch(string name)
    {
        _read.Add(name);
        return _values.TryGetValue(name, out var value)
            ? value == SwitchValue ? true : throw new UsageException($"{name} takes no value")
            : false;
    }

    public int WholeNumber(string name, int defaultValue, int min, int max)
    {
        var text = Optional(name);
        if (text is null) return defaultValue;
        return int.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw new UsageException($"{name} must be a whole number from {min} to {max}");
    }

    public double Number(string name, double defaultValue, double min, double max)
    {
        var text = Optional(name);
        if (text is null) return defaultValue;
        return double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var value)
               && value >= min && value <= max
            ? value
            : throw new UsageException($"{name} must be a number from {min} to {max}");
    }

    /// <summary>
    /// The aggregate sink named on the command line, if any: <c>--clickhouse CONNECTION</c>, <c>--duckdb FILE</c>, or
    /// <c>--aggregates G</c> (DESIGN.md §3.5), which is a ClickHouse connection string when it holds key=value pairs
    /// naming the server (<c>Host</c> or <c>Port</c>) and a DuckDB file otherwise. Fails when more than one is given.
    /// </summary>
    public (string? ClickHouse, string? DuckDb) AggregateSink()
    {
        var clickHouse = Optional("--clickhouse");
        var duckDb = Optional("--duckdb");
        var aggregates = Optional("--aggregates");
        if (new[] { clickHouse, duckDb, aggregates }.Count(given => given is not null) > 1)
        {
            throw new UsageException("--clickhouse, --duckdb and --aggregates each name the sink; give one");
        }
        if (aggregates is null) return (clickHouse, duckDb);
        return NamesClickHouseServer(aggregates) ? (aggregates, null) : (null, aggregates);
    }

    // A file's path may hold '=' too (day=2026-03-02/flows.duckdb): taken for a connection string, it would send the
    // rows to a ClickHouse server on localhost, the driver's default.
    private static bool NamesClickHouseServer(string text)
    {
        try
        {
            var pairs = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = text };
            return pairs.ContainsKey("Host") || pairs.ContainsKey("Port");
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>
    /// Fails when two of the options name the same file, also through a symbolic link (to the file or to a directory on
    /// its path): a command that wrote to a file it also reads or writes elsewhere would destroy it (its outputs are
    /// created afresh).
    /// </summary>
    public static void EnsureDistinctFiles(params (string Option, string? Path)[] files)
    {
        var given = files.Where(f => f.Path is not null).Select(f => (f.Option, Full: WithoutLinks(f.Path!))).ToList();
        for (var i = 0; i < given.Count; i++)
        {
            for (var j = i + 1; j < given.Count; j++)
            {
                if (given[i].Full == given[j].Full) throw new UsageException($"{given[i].Option} and {given[j].Option} name the same file");
            }
        }
    }

    /// <summary>
    /// The full path of <paramref name="path"/> with every symbolic link on it replaced by what it points to, as far as
    /// the links exist (an output not created yet keeps its name); a loop of links is left as it is after 40 steps.
    /// </summary>
    private static string WithoutLinks(string path, int depth = 0)
    {
        var full = System.IO.Path.GetFullPath(path);
        var resolved = System.IO.Path.GetPathRoot(full)!;
        foreach (var part in full[resolved.Length..].Split(System.IO.Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            var next = System.IO.Path.Combine(resolved, part);
            // A relative target is relative to the link's directory, which is resolved already.
            resolved = new FileInfo(next).LinkTarget is { } target && depth < 40 ? WithoutLinks(System.IO.Path.Combine(resolved, target), depth + 1) : next;
        }
        return resolved;
    }

    /// <summary>Fails on any option the command did not ask for, so typos do not pass silently.</summary>
    public void EnsureAllRead()
    {
        var unknown = _values.Keys.Where(k => !_read.Contains(k)).ToList();
        if (unknown.Count == 0) return;
        // One the command takes, written in other letters (--DuckDb), is named as such.
        var meant = unknown.Select(k => _read.FirstOrDefault(known => known.Equals(k, StringComparison.OrdinalIgnoreCase))).FirstOrDefault(k => k is not null);
        throw new UsageException($"unknown option {string.Join(", ", unknown)}" + (meant is null ? "" : $": options are written in lower case, {meant}"));
    }
}
