using Microsoft.Extensions.Logging;

namespace FlowWatch.Worker.Kafka;

/// <summary>The Kafka clients' own log events (librdkafka's log lines and errors): source-generated, with stable event ids.</summary>
internal static partial class KafkaLog
{
    [LoggerMessage(EventId = 1101, Message = "Kafka {Client} {Facility}: {Text}")]
    public static partial void Line(ILogger logger, LogLevel level, string client, string facility, string text);

    [LoggerMessage(EventId = 1102, Message = "Kafka {Client} error {Facility}: {Text}")]
    public static partial void Error(ILogger logger, LogLevel level, string client, string facility, string text);

    [LoggerMessage(EventId = 1103, Message = "Kafka {Client} {Facility}: {Count} more like it in the last {Seconds} s: {Text}")]
    public static partial void Repeated(ILogger logger, LogLevel level, string client, string facility, int count, long seconds, string text);
}
