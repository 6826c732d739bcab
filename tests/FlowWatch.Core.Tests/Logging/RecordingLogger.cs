using Microsoft.Extensions.Logging;

namespace FlowWatch.Core.Tests.Logging;

/// <summary>Keeps every event logged to it, with its level, id and fields.</summary>
internal sealed class RecordingLogger(LogLevel minimum = LogLevel.Trace) : ILogger
{
    public sealed record Event(LogLevel Level, int Id, IReadOnlyDictionary<string, object?> Fields);

    private readonly Lock _lock = new();
    private readonly List<Event> _events = [];

    public event Action<Event>? Logged;

    public List<Event> Events
    {
        get
        {
            lock (_lock) return [.. _events];
        }
    }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var fields = state is IEnumerable<KeyValuePair<string, object?>> pairs ? pairs.ToDictionary(p => p.Key, p => p.Value) : [];
        var logged = new Event(logLevel, eventId.Id, fields);
        lock (_lock) _events.Add(logged);
        Logged?.Invoke(logged);
    }
}
