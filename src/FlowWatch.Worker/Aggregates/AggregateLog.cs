using Microsoft.Extensions.Logging;

namespace FlowWatch.Worker.Aggregates;

/// <summary>The aggregate sinks' log events: source-generated, with stable event ids.</summary>
internal static partial class AggregateLog
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "writing to {Sink} failed (attempt {Attempt}), retrying in {Seconds} s: {Reason}")]
    public static partial void SinkWriteFailed(ILogger logger, string sink, int attempt, double seconds, string reason);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "writing to {Sink} succeeded again at attempt {Attempt}")]
    public static partial void SinkRecovered(ILogger logger, string sink, int attempt);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Information, Message = "aggregates go to {Sink}")]
    public static partial void SinkOpened(ILogger logger, string sink);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "the aggregate sink does not answer; the worker runs meanwhile and its rows wait in Kafka; trying again in {Seconds} s: {Reason}")]
    public static partial void SinkUnavailable(ILogger logger, double seconds, string reason);
}
