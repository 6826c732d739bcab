using FlowWatch.Core.Reference;
using Microsoft.Extensions.Logging;

namespace FlowWatch.Worker.Kafka;

/// <summary>The streaming worker's log events: source-generated, with stable event ids.</summary>
internal static partial class WorkerLog
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "subscribing to {Topic} at {BootstrapServers} as group {GroupId}")]
    public static partial void Consuming(ILogger logger, string topic, string bootstrapServers, string groupId);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information,
        Message = "partition {Partition} restored in {Milliseconds} ms ({Replayed} payments after the restart point processed again), resuming at {Offset}")]
    public static partial void PartitionRestored(ILogger logger, int partition, long milliseconds, long replayed, string offset);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "partitions {Partitions} revoked after a commit")]
    public static partial void PartitionsRevoked(ILogger logger, string partitions);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Information, Message = "partitions {Partitions} released as the session ends (their last commit stands)")]
    public static partial void PartitionsReleased(ILogger logger, string partitions);

    [LoggerMessage(EventId = 1011, Level = LogLevel.Error,
        Message = "partition {Partition}: payments {From} to {To} (exclusive) are gone from the payments topic (its retention); the state is restored without them")]
    public static partial void PaymentsRemoved(ILogger logger, int partition, long from, long to);

    [LoggerMessage(EventId = 1021, Level = LogLevel.Error,
        Message = "partition {Partition}: payments {From} to {To} (exclusive) were deleted from the payments topic (its retention) before the worker read them; it goes on from offset {To}, and the rules miss what they held")]
    public static partial void PaymentsDeletedUnread(ILogger logger, int partition, long from, long to);

    [LoggerMessage(EventId = 1022, Level = LogLevel.Error,
        Message = "partition {Partition}: the payments topic no longer holds the worker's position {Offset} (its retention deleted payments before they were read, or the topic was recreated); restarting from the committed state, whose restore says which")]
    public static partial void PositionDeleted(ILogger logger, int partition, long offset);

    [LoggerMessage(EventId = 1013, Level = LogLevel.Error,
        Message = "partition {Partition} of the state topic begins at offset {Low}: the records before it were deleted (retention, where the topic must be compacted), and the entities saved only there are restored without their state")]
    public static partial void StateRemoved(ILogger logger, int partition, long low);

    [LoggerMessage(EventId = 1014, Level = LogLevel.Warning,
        Message = "reference file {File} changed: the worker goes on with the reference data it has; the file is read at the next start (changes while running go through the reference topic)")]
    public static partial void ReferenceFileChanged(ILogger logger, string file);

    [LoggerMessage(EventId = 1015, Level = LogLevel.Error,
        Message = "reference file {File} changed, and the next start would refuse it: {Reason}; the worker goes on with the reference data it has")]
    public static partial void ReferenceFileRefused(ILogger logger, string file, string reason);

    [LoggerMessage(EventId = 1012, Level = LogLevel.Warning, Message = "consuming the payments: {Code}: {Reason} (the client tries again)")]
    public static partial void ConsumeFailed(ILogger logger, string code, string reason);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning, Message = "{Code}: {Reason}; restarting from the committed state in {Seconds} s")]
    public static partial void Restarting(ILogger logger, string code, string reason, double seconds);

    [LoggerMessage(EventId = 1009, Level = LogLevel.Critical, Message = "the worker stopped on an unexpected error")]
    public static partial void Stopped(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Information, Message = "reference data updated from the reference topic")]
    public static partial void ReferenceUpdated(ILogger logger);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Warning, Message = "reference record rejected, keeping the last good one: {Reason}")]
    public static partial void ReferenceRejected(ILogger logger, string reason);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Information, Message = "parameters changed by a control record dated {Ts}: {Parameters}")]
    public static partial void ParametersChanged(ILogger logger, string ts, Parameters parameters);

    // A warning: whoever may write payments changed a supervisor's caps, which a ControlTopic would have refused.
    [LoggerMessage(EventId = 1016, Level = LogLevel.Warning,
        Message = "parameters changed by a PARAMETERS record in the payments stream (partition {Partition}, offset {Offset}) dated {Ts}: {Parameters}; they apply to that partition's payments")]
    public static partial void ParametersChangedInStream(ILogger logger, int partition, long offset, string ts, Parameters parameters);

    [LoggerMessage(EventId = 1017, Level = LogLevel.Warning, Message = "{Reason} (partition {Partition}, offset {Offset}){Afterwards}")]
    public static partial void DifferingDuplicate(ILogger logger, string reason, int partition, long offset, string afterwards);

    [LoggerMessage(EventId = 1018, Level = LogLevel.Warning,
        Message = "payments carry a field '{Name}' that the event contract does not define: it is passed over (first at partition {Partition}, offset {Offset})")]
    public static partial void UnknownField(ILogger logger, string name, int partition, long offset);

    [LoggerMessage(EventId = 1019, Level = LogLevel.Warning,
        Message = "entity {EntityId} has payments in partitions {First} and {Second}: its state, quota and windows are split between them; producers must key payments so that all events of an entity land in one partition")]
    public static partial void EntityInTwoPartitions(ILogger logger, string entityId, int first, int second);

    [LoggerMessage(EventId = 1020, Level = LogLevel.Warning,
        Message = "reference data: monitored accounts name holders that have no entity record ({Count}), so their payments are judged as an unknown entity's (not screened as a sanctioned entity, no penetration cap); a misspelt entityId? {Accounts}")]
    internal static partial void HoldersWithoutRecord(ILogger logger, int count, string accounts);

    [LoggerMessage(EventId = 1008, Level = LogLevel.Warning, Message = "control record rejected: {Reason}")]
    public static partial void ControlRejected(ILogger logger, string reason);
}
