using System.Reflection;
using FlowWatch.Core.Engine;
using FlowWatch.Worker.Kafka;
using Microsoft.Extensions.Logging;

namespace FlowWatch.Core.Tests.Logging;

public sealed class LogEventIdTests
{
    /// <summary>An event id names one kind of event: log filters and alerting on ids must not catch another class's.</summary>
    [Fact]
    public void LoggerMessages_WorkerAndCore_HaveUniqueEventIds()
    {
        var events = new[] { typeof(StreamingWorker).Assembly, typeof(FlowEngine).Assembly }
            .SelectMany(assembly => assembly.GetTypes())
            .SelectMany(type => type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Select(method => (Method: $"{method.DeclaringType!.Name}.{method.Name}", Attribute: method.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(e => e.Attribute is not null)
            .ToList();
        Assert.NotEmpty(events);
        var duplicates = events.GroupBy(e => e.Attribute!.EventId)
            .Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(e => e.Method).Order(StringComparer.Ordinal))}")
            .ToList();
        Assert.Empty(duplicates);
    }
}
