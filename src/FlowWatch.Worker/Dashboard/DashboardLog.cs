using Microsoft.Extensions.Logging;

namespace FlowWatch.Worker.Dashboard;

/// <summary>The dashboard's log events: source-generated, with stable event ids. They never carry account numbers.</summary>
internal static partial class DashboardLog
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "dashboard at {Urls}")]
    public static partial void Serving(ILogger logger, string urls);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "request {Method} {Path} from {Remote} refused: no valid bearer token")]
    public static partial void Unauthorized(ILogger logger, string method, string path, string? remote);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "request from {Remote} for host {Host} refused: the dashboard answers loopback host names only")]
    public static partial void ForeignHost(ILogger logger, string? remote, string host);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Information, Message = "the dashboard shows the alerts of every worker: reading {Topic}, {Partitions} partitions")]
    public static partial void ReadingAlerts(ILogger logger, string topic, int partitions);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Warning, Message = "the dashboard waits for the alerts topic {Topic}: {Reason}")]
    public static partial void AlertsTopicUnavailable(ILogger logger, string topic, string reason);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Error, Message = "unreadable alert at {Topic}/{Partition}@{Offset} passed over: {Reason}")]
    public static partial void UnreadableAlert(ILogger logger, string topic, int partition, long offset, string reason);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Warning,
        Message = "{Count} more requests refused (events 3002, 3003, 3007) in a minute after its first {Logged}, not logged one by one")]
    public static partial void RefusalsUnlogged(ILogger logger, int count, int logged);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Warning, Message = "sign-in from {Remote} refused: its form came from {Origin}, not from the dashboard's own page")]
    public static partial void ForeignSignIn(ILogger logger, string? remote, string origin);
}
