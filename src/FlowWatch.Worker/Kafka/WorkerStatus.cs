namespace FlowWatch.Worker.Kafka;

/// <summary>Whether the worker is consuming its partitions, and if not, why: what <c>/readyz</c> and <c>/api/stats</c> report.</summary>
public readonly record struct WorkerStatus(bool IsConsuming, string Description)
{
    public static WorkerStatus Consuming { get; } = new(true, "consuming");
}
