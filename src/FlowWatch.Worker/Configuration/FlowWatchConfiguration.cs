using FlowWatch.Worker.Aggregates;
using FlowWatch.Worker.Models;
using Microsoft.Extensions.Configuration;

namespace FlowWatch.Worker.Configuration;

/// <summary>Settings that do not validate; the message lists every problem with its key.</summary>
public sealed class ConfigurationException(string message) : Exception(message);

/// <summary>
/// Configuration of every command: <c>appsettings.json</c> beside the executable, then an optional
/// <c>--config</c> file, then environment variables (<c>FLOWWATCH_</c> prefix, <c>__</c> between sections). A section
/// FlowWatch does not read is refused for every command (<see cref="RefuseUnknownSections"/>): a backtest with a
/// misspelt <c>Rulse</c> would otherwise run on the default rules.
/// </summary>
public static class FlowWatchConfiguration
{
    public static IConfiguration Build(string? configFile)
    {
        var builder = new ConfigurationBuilder()
            .SetBasePath(AppContext.BaseDirectory)
            .AddJsonFile("appsettings.json", optional: true);
        if (configFile is not null)
        {
            if (!File.Exists(configFile)) throw new ConfigurationException($"configuration file '{configFile}' not found");
            builder.AddJsonFile(Path.GetFullPath(configFile), optional: false);
        }
        IConfiguration configuration;
        try
        {
            configuration = builder.AddEnvironmentVariables("FLOWWATCH_").Build();
        }
        catch (InvalidDataException ex)
        {
            // The JSON provider's own message names the file; the reason is in the inner exceptions, where it is at last.
            var reasons = new List<string>();
            for (Exception? reason = ex; reason is not null; reason = reason.InnerException) reasons.Add(reason.Message);
            throw new ConfigurationException(string.Join(" ", reasons));
        }
        RefuseUnknownSections(configuration);
        return configuration;
    }

    /// <summary>
    /// Binds <see cref="AggregateOptions"/> and validates it; <c>--clickhouse</c> or <c>--duckdb</c> on the command
    /// line replaces the configured sink.
    /// </summary>
    public static AggregateOptions Aggregates(IConfiguration configuration, string? clickHouse = null, string? duckDb = null)
    {
        var options = FlowWatchSections.Aggregates.Bind(configuration);
        if (clickHouse is not null || duckDb is not null)
        {
            options.ClickHouse = clickHouse ?? "";
            options.DuckDb = duckDb ?? "";
        }
        return FlowWatchSections.Aggregates.Valid(options);
    }

    /// <summary>Binder options of every section: a key the options do not have is refused, not passed over.</summary>
    public static void Strict(BinderOptions options) => options.ErrorOnUnknownConfiguration = true;

    /// <summary>Runs a binding of <paramref name="section"/>: an unknown key or a value of the wrong type becomes a <see cref="ConfigurationException"/>.</summary>
    public static T Bind<T>(string section, Func<T> bind)
    {
        try
        {
            return bind();
        }
        catch (InvalidOperationException ex)
        {
            throw new ConfigurationException($"{section}: {ex.Message}");
        }
    }

    public static void Bind(string section, Action bind) => Bind(section, () =>
    {
        bind();
        return true;
    });

    /// <summary>The problem of a key or section at <paramref name="path"/> that FlowWatch does not read.</summary>
    public static string NotASetting(string path) => $"{path}: is not a FlowWatch setting";

    /// <summary>The problem of an empty value at <paramref name="path"/>, a setting that takes one: the default would hold unsaid.</summary>
    public static string Empty(string path) => $"{path}: is empty; give it a value, or leave it out for the default";

    /// <summary>The problem of a value at <paramref name="path"/>, where a section of settings belongs.</summary>
    public static string NotAValue(string path) => $"{path}: is a section of settings, not a value";

    /// <summary>
    /// Refuses a section of <c>FlowWatch</c> that no command reads (a misspelt <c>Dashbaord</c> would otherwise leave
    /// every key in it unread), keys of <c>FlowWatch:Models</c> other than <c>Directory</c>, and a value where a
    /// section belongs (<c>"Dashboard": false</c>, <c>"Models": "models"</c>), which binding passes over as unread.
    /// </summary>
    public static void RefuseUnknownSections(IConfiguration configuration)
    {
        var unknown = configuration.GetSection(FlowWatchSections.Root).GetChildren()
            .Where(c => !FlowWatchSections.Names.Contains(c.Path, StringComparer.OrdinalIgnoreCase))
            .Concat(configuration.GetSection(FlowWatchSections.Models).GetChildren()
                .Where(c => !c.Path.Equals(ModelWatcher.DirectoryKey, StringComparison.OrdinalIgnoreCase)))
            .Concat(configuration.GetSection(ModelWatcher.DirectoryKey).GetChildren())
            .Select(c => NotASetting(c.Path));
        var values = FlowWatchSections.Names.Prepend(FlowWatchSections.Root).Select(configuration.GetSection)
            .Where(s => !string.IsNullOrEmpty(s.Value))
            .Select(s => NotAValue(s.Path));
        var problems = unknown.Concat(values).Concat(UnknownLogLevels(configuration)).ToList();
        if (problems.Count > 0) throw new ConfigurationException(string.Join(Environment.NewLine, problems));
    }

    /// <summary>
    /// Levels of <c>Logging:LogLevel</c> and of each provider's <c>Logging:{provider}:LogLevel</c> that the host's logging
    /// would refuse as it is built, where it would stop the command with a stack trace and no key named. Parsed as it
    /// parses them: a level's name in any letter case, or a number.
    /// </summary>
    private static IEnumerable<string> UnknownLogLevels(IConfiguration configuration)
    {
        var logging = configuration.GetSection("Logging");
        // Beside LogLevel, a section is a provider's (by its alias, or its type's full name): a misspelt LogLevl would
        // otherwise be read as a provider that is not there, and its levels passed over.
        var unknown = logging.GetChildren()
            .Where(child => !LoggingSections.Contains(child.Key, StringComparer.OrdinalIgnoreCase) && !child.Key.Contains('.', StringComparison.Ordinal))
            .Select(child => $"{child.Path}: is not a logging setting (they are {string.Join(", ", LoggingSections)}, or a provider's type name)");
        var levelSections = logging.GetChildren()
            .Select(child => child.Key.Equals("LogLevel", StringComparison.OrdinalIgnoreCase) ? child : child.GetSection("LogLevel"));
        // Every key under a LogLevel section is a category's level, nested ones too (LogLevel:FlowWatch:Kafka).
        return unknown.Concat(levelSections.SelectMany(section => section.AsEnumerable())
            .Where(level => !string.IsNullOrEmpty(level.Value) && !Enum.TryParse<Microsoft.Extensions.Logging.LogLevel>(level.Value, ignoreCase: true, out _))
            .OrderBy(level => level.Key, StringComparer.Ordinal)
            .Select(level => $"{level.Key}: '{level.Value}' is not a log level (Trace, Debug, Information, Warning, Error, Critical or None)"));
    }

    /// <summary>
    /// Refuses what <c>Logging</c> holds that the host's logging would refuse as it is built (<see cref="UnknownLogLevels"/>),
    /// in the host's own configuration, which also reads sources of its own (environment variables without a prefix,
    /// <c>appsettings.{Environment}.json</c>).
    /// </summary>
    public static void RefuseUnreadableLogging(IConfiguration configuration)
    {
        var problems = UnknownLogLevels(configuration).ToList();
        if (problems.Count > 0) throw new ConfigurationException(string.Join(Environment.NewLine, problems));
    }

    /// <summary>What <c>Logging</c> holds: its levels, and the sections of the logging providers a .NET host has.</summary>
    private static readonly string[] LoggingSections = ["LogLevel", "Console", "Debug", "EventSource", "EventLog"];
}
