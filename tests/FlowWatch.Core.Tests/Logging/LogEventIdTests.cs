using System.Reflection;
using System.Text.RegularExpressions;
using FlowWatch.Core.Engine;
using FlowWatch.Worker.Kafka;
using Microsoft.Extensions.Logging;

namespace FlowWatch.Core.Tests.Logging;

public sealed class LogEventIdTests
{
    /// <summary>Every source-generated log event of the worker and the engine, with its method.</summary>
    private static readonly IReadOnlyList<(string Method, LoggerMessageAttribute Attribute)> Events =
        new[] { typeof(StreamingWorker).Assembly, typeof(FlowEngine).Assembly }
            .SelectMany(assembly => assembly.GetTypes())
            .SelectMany(type => type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Select(method => (Method: $"{method.DeclaringType!.Name}.{method.Name}", Attribute: method.GetCustomAttribute<LoggerMessageAttribute>()!))
            .Where(e => e.Attribute is not null)
            .ToList();

    /// <summary>An event id names one kind of event: log filters and alerting on ids must not catch another class's.</summary>
    [Fact]
    public void LoggerMessages_WorkerAndCore_HaveUniqueEventIds()
    {
        Assert.NotEmpty(Events);
        var duplicates = Events.GroupBy(e => e.Attribute.EventId)
            .Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(e => e.Method).Order(StringComparer.Ordinal))}")
            .ToList();
        Assert.Empty(duplicates);
    }

    /// <summary>
    /// README names the <c>Client</c> field of every Kafka client's log events (1101–1103), which operators filter by: a
    /// client of any command that is left out of the list could not be told from the others.
    /// </summary>
    [Fact]
    public void ReadmeLogEvents_NameEveryKafkaClient()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "FlowWatch.slnx"))) root = root.Parent;
        Assert.NotNull(root);
        var clients = Directory.EnumerateFiles(Path.Combine(root.FullName, "src"), "*.cs", SearchOption.AllDirectories)
            // Named where a client's log is made: in LogTo, or a KafkaClientLog kept to serve the clients of several sessions.
            .SelectMany(file => Regex.Matches(File.ReadAllText(file),
                    @"(?:\.LogTo\(|KafkaClientLog\(|KafkaClientLog \w+ = new\()[^,;]+,\s*""([^""]+)""").Select(m => m.Groups[1].Value))
            .Distinct(StringComparer.Ordinal)
            .ToList();

        Assert.Contains("producer", clients);
        var section = ReadmeLogEvents();
        var unnamed = clients.Where(client => !section.Contains($"`{client}`", StringComparison.Ordinal)).ToList();
        Assert.Empty(unnamed);
    }

    /// <summary>
    /// README's table of log events, which operators set their filters and alerts by, lists every event with its level
    /// and none that is not logged; an event whose level is its caller's (the Kafka clients') is listed with words.
    /// </summary>
    [Fact]
    public void ReadmeLogEvents_ListEveryEventWithItsLevel()
    {
        var listed = Regex.Matches(ReadmeLogEvents(), @"^\| (\d+) \| ([^|]+?) \|", RegexOptions.Multiline)
            .ToDictionary(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), m => m.Groups[2].Value);

        Assert.Equal(Events.Select(e => e.Attribute.EventId).Order(), listed.Keys.Order());
        var wrong = Events
            .Where(e => e.Attribute.Level != LogLevel.None && listed[e.Attribute.EventId] != e.Attribute.Level.ToString())
            .Select(e => $"{e.Attribute.EventId} ({e.Method}): {e.Attribute.Level}, README says {listed[e.Attribute.EventId]}")
            .ToList();
        Assert.Empty(wrong);
    }

    /// <summary>README's section "Log events".</summary>
    private static string ReadmeLogEvents()
    {
        var readme = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "README.md"));
        var section = readme[readme.IndexOf("### Log events", StringComparison.Ordinal)..];
        return section[..section.IndexOf("\n## ", StringComparison.Ordinal)];
    }
}
