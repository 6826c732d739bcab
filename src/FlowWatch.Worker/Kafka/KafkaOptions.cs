namespace FlowWatch.Worker.Kafka;

/// <summary>Kafka settings of the streaming worker, bound from <c>FlowWatch:Kafka</c>.</summary>
public sealed class KafkaOptions
{
    public const string SectionName = "FlowWatch:Kafka";

    public string BootstrapServers { get; set; } = "";
    public string GroupId { get; set; } = "flowwatch";
    public string PaymentsTopic { get; set; } = "payments";
    public string AlertsTopic { get; set; } = "alerts";
    public string DeadLetterTopic { get; set; } = "payments.dead-letters";

    /// <summary>Reference data file (DESIGN.md §3.2).</summary>
    public string ReferenceFile { get; set; } = "";

    /// <summary>Most records processed before produced alerts are flushed and offsets stored.</summary>
    public int BatchSize { get; set; } = 5_000;

    /// <summary>Longest wait before a partial batch is completed.</summary>
    public TimeSpan BatchInterval { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// librdkafka properties passed through to every client, e.g. <c>security.protocol</c>, <c>sasl.mechanism</c>,
    /// <c>sasl.username</c>, <c>ssl.ca.location</c>.
    /// </summary>
    public Dictionary<string, string> Client { get; set; } = [];

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        void Check(bool ok, string key, string problem)
        {
            if (!ok) errors.Add($"{SectionName}:{key}: {problem}");
        }
        Check(!string.IsNullOrWhiteSpace(BootstrapServers), nameof(BootstrapServers), "is required (host:port[,host:port])");
        Check(!string.IsNullOrWhiteSpace(GroupId), nameof(GroupId), "is required");
        Check(!string.IsNullOrWhiteSpace(PaymentsTopic), nameof(PaymentsTopic), "is required");
        Check(!string.IsNullOrWhiteSpace(AlertsTopic), nameof(AlertsTopic), "is required");
        Check(!string.IsNullOrWhiteSpace(DeadLetterTopic), nameof(DeadLetterTopic), "is required");
        Check(!string.IsNullOrWhiteSpace(ReferenceFile), nameof(ReferenceFile), "is required (path of the reference data file)");
        Check(BatchSize >= 1, nameof(BatchSize), "must be at least 1");
        Check(BatchInterval > TimeSpan.Zero, nameof(BatchInterval), "must be positive");
        return errors;
    }
}
