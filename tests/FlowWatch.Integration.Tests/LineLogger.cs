using Microsoft.Extensions.Logging;

namespace FlowWatch.Integration.Tests;

/// <summary>A logger that hands each formatted message to a sink, for tests that watch what the worker reports.</summary>
internal sealed class LineLogger(Action<string> sink) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        sink(exception is null ? formatter(state, exception) : $"{formatter(state, exception)}: {exception}");
}
