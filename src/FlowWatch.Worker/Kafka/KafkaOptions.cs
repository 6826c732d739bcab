using Confluent.Kafka;

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

    /// <summary>
    /// Compacted topic of engine state (<see cref="StateStore"/>), with as many partitions as the payments topic: the state of payments
    /// partition p lives in its partition p.
    /// </summary>
    public string StateTopic { get; set; } = "flowwatch.state";

    /// <summary>
    /// Aggregate rows of each committed cycle, produced in the same transaction as the alerts; the aggregate feed
    /// writes them to ClickHouse or DuckDB. Used when <see cref="PublishAggregates"/> is on.
    /// </summary>
    public string AggregatesTopic { get; set; } = "flowwatch.aggregates";

    /// <summary>
    /// Sum accepted payments into aggregate rows and publish them: on with an aggregate sink, whose feed reads them.
    /// Not a setting: a field, which binding neither fills nor counts among the keys, so a key of that name is refused.
    /// </summary>
    internal bool PublishAggregates;

    /// <summary>
    /// How often the open transaction is committed with the position and offsets behind its outputs.
    /// Alerts become visible to read_committed consumers at commit, so this bounds their latency.
    /// </summary>
    public TimeSpan CommitInterval { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// How long a changed entity waits before its state is saved, and how often accepted ids are saved. A busy entity
    /// is then written about once an interval instead of at every commit; a restore processes the payments since the
    /// earliest unsaved change again, so this also bounds the work of a recovery (at 200,000 payments/s, 5 s is about
    /// 2 s of processing).
    /// </summary>
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Most accepted ids (28 bytes each) in one record of saved ids: 32,768 makes 896 KiB, within a Kafka client's and a
    /// broker's default limit of about 1 MB a message (<c>message.max.bytes</c>); at most 35,000 (980,001 bytes), which
    /// leaves room for the record's key, headers and framing.
    /// </summary>
    public int StateIdsPerRecord { get; set; } = 32_768;

    /// <summary>
    /// Most bytes of an entity's state in one record: a larger state (a very busy entity's window) is saved in parts,
    /// each within a broker's default limit of 1 MB a message.
    /// </summary>
    public int StateRecordBytes { get; set; } = 524_288;

    /// <summary>Prefix of this worker's transactional id.</summary>
    public string TransactionalIdPrefix { get; set; } = "flowwatch";

    /// <summary>
    /// A stable name for this worker (e.g. a pod ordinal). A restarted worker with the same name fences its
    /// crashed predecessor's open transaction at once; without one, each process takes a unique id and a crashed
    /// transaction is aborted by the broker after <see cref="TransactionTimeout"/>.
    /// </summary>
    public string? InstanceId { get; set; }

    public TimeSpan TransactionTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Longest a session waits for a topic it reads to the end as it starts (a state partition, the payments it
    /// processes again, the reference and control topics); past it the session restarts, as on a Kafka error. Longer
    /// than <see cref="TransactionTimeout"/>: a crashed worker's open transaction holds a state partition's end back
    /// until the broker aborts it.
    /// </summary>
    public TimeSpan CatchUpTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Optional compacted topic of reference documents (one partition); the latest replaces the file's data.
    /// Empty: reference data comes from <see cref="ReferenceFile"/> only.
    /// </summary>
    public string ReferenceTopic { get; set; } = "";

    /// <summary>
    /// Optional topic of PARAMETERS control records (one partition), read by every worker. Empty: control
    /// records travel in the payments stream and apply to their own partition.
    /// </summary>
    public string ControlTopic { get; set; } = "";

    /// <summary>Reference data file (DESIGN.md §3.2).</summary>
    public string ReferenceFile { get; set; } = "";

    /// <summary>Most records processed in one transaction before it is committed early.</summary>
    public int BatchSize { get; set; } = 50_000;

    /// <summary>Longest wait for a record in one call to the consumer.</summary>
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
        Check(!string.IsNullOrWhiteSpace(BootstrapServers), nameof(BootstrapServers), "is required (host:port[,host:port], or --bootstrap-servers on the command line)");
        Check(!string.IsNullOrWhiteSpace(GroupId), nameof(GroupId), "is required");
        void Topic(string? name, string key, bool required = true)
        {
            if (string.IsNullOrEmpty(name)) Check(!required, key, "is required");
            else Check(IsTopicName(name), key, $"'{name}' is not a Kafka topic name (1 to 249 of a-z, A-Z, 0-9, '.', '_', '-')");
        }
        Topic(PaymentsTopic, nameof(PaymentsTopic));
        Topic(AlertsTopic, nameof(AlertsTopic));
        Topic(DeadLetterTopic, nameof(DeadLetterTopic));
        Topic(StateTopic, nameof(StateTopic));
        Topic(AggregatesTopic, nameof(AggregatesTopic), required: PublishAggregates);
        Topic(ReferenceTopic, nameof(ReferenceTopic), required: false);
        Topic(ControlTopic, nameof(ControlTopic), required: false);
        // One topic in two roles feeds the worker its own output: dead letters in the payments topic come back as bad
        // records and are dead letters again, without end.
        var roles = new List<(string Key, string Name)>
        {
            (nameof(PaymentsTopic), PaymentsTopic), (nameof(AlertsTopic), AlertsTopic), (nameof(DeadLetterTopic), DeadLetterTopic),
            (nameof(StateTopic), StateTopic), (nameof(ReferenceTopic), ReferenceTopic), (nameof(ControlTopic), ControlTopic),
        };
        if (PublishAggregates) roles.Add((nameof(AggregatesTopic), AggregatesTopic));
        for (var i = 0; i < roles.Count; i++)
        {
            var (key, name) = roles[i];
            var earlier = roles.Take(i).FirstOrDefault(role => role.Name == name).Key;
            Check(name.Length == 0 || earlier is null, key, $"'{name}' is already the {earlier}: each topic has one role");
        }
        Check(CommitInterval > TimeSpan.Zero && CommitInterval <= TimeSpan.FromMinutes(1), nameof(CommitInterval), "must be from 1 ms to 1 minute");
        Check(CheckpointInterval > TimeSpan.Zero && CheckpointInterval <= TimeSpan.FromHours(1), nameof(CheckpointInterval), "must be from 1 ms to 1 hour");
        // Both within the 1 MB a message that Kafka clients and brokers take by default.
        Check(StateIdsPerRecord is >= 1 and <= 35_000, nameof(StateIdsPerRecord), "must be from 1 to 35,000 (28 bytes each, within a Kafka client's 1,000,000-byte message)");
        Check(StateRecordBytes is >= 64 and <= 900_000, nameof(StateRecordBytes), "must be from 64 to 900,000");
        // librdkafka takes 1 s at least; brokers allow 15 minutes at most by default (transaction.max.timeout.ms).
        Check(TransactionTimeout >= TimeSpan.FromSeconds(1) && TransactionTimeout <= TimeSpan.FromMinutes(15), nameof(TransactionTimeout),
            "must be from 1 second to 15 minutes");
        Check(!string.IsNullOrWhiteSpace(TransactionalIdPrefix), nameof(TransactionalIdPrefix), "is required");
        // A broker refuses a group.instance.id as it refuses such a topic name: the worker would restart its session for good.
        Check(InstanceId is null || (InstanceId.Length > 0 && IsTopicName(InstanceId)), nameof(InstanceId),
            $"'{InstanceId}' is not a Kafka group instance id (1 to 249 of a-z, A-Z, 0-9, '.', '_', '-')");
        Check(!string.IsNullOrWhiteSpace(ReferenceFile), nameof(ReferenceFile), "is required (path of the reference data file, or --reference on the command line)");
        Check(BatchSize >= 1, nameof(BatchSize), "must be at least 1");
        Check(CatchUpTimeout > TransactionTimeout && CatchUpTimeout <= TimeSpan.FromHours(1), nameof(CatchUpTimeout),
            "must be longer than TransactionTimeout and at most 1 hour");
        Check(BatchInterval > TimeSpan.Zero && BatchInterval <= TimeSpan.FromSeconds(10), nameof(BatchInterval), "must be from 1 ms to 10 seconds");
        // The clients are built with the settings above, so only once those are in range.
        if (Client.Count > 0 && errors.Count == 0 && ClientProblem() is { } problem) errors.Add($"{SectionName}:{nameof(Client)}: {problem}");
        return errors;
    }

    private static bool IsTopicName(string name) =>
        name.Length <= 249 && name is not ("." or "..") && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    // Each config gets its own copy of the pass-through properties: a config writes into the dictionary it is given.

    /// <summary>The worker's transactional producer (alerts, dead letters, aggregates, state and offsets in one transaction).</summary>
    internal ProducerConfig WorkerProducerConfig(string transactionalId)
    {
        var config = new ProducerConfig(new Dictionary<string, string>(Client))
        {
            BootstrapServers = BootstrapServers,
            TransactionalId = transactionalId,
            TransactionTimeoutMs = (int)TransactionTimeout.TotalMilliseconds,
            EnableIdempotence = true,
            LingerMs = 5,
        };
        // Delivery reports are read for their error only: without their key, value and headers marshalled back, each
        // record written allocates less, and a state's bytes are not kept alive until its delivery.
        config.DeliveryReportFields ??= "none";
        return config;
    }

    /// <summary>The producer of claims on state partitions: written at once, outside the transactions.</summary>
    internal ProducerConfig ClaimsProducerConfig() => new(new Dictionary<string, string>(Client))
    {
        BootstrapServers = BootstrapServers,
        EnableIdempotence = true,
        LingerMs = 0,
        MessageTimeoutMs = (int)CatchUpTimeout.TotalMilliseconds,
    };

    /// <summary>
    /// The worker's consumer: the pass-through properties with the worker's own settings over them (and its defaults
    /// where they set none).
    /// </summary>
    internal ConsumerConfig WorkerConsumerConfig()
    {
        var config = new ConsumerConfig(new Dictionary<string, string>(Client))
        {
            BootstrapServers = BootstrapServers,
            GroupId = GroupId,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,   // offsets are committed inside each transaction
            IsolationLevel = IsolationLevel.ReadCommitted,
            PartitionAssignmentStrategy = PartitionAssignmentStrategy.CooperativeSticky,
            // A named worker keeps its group membership across a restart, so it gets its partitions back at once.
            GroupInstanceId = InstanceId,
        };
        // A dead worker's partitions move on once its session times out: short enough for recovery within 10 s.
        config.SessionTimeoutMs ??= 6_000;
        config.HeartbeatIntervalMs ??= 1_500;
        // Alert latency: do not let the broker hold a fetch for long when a partition is quiet.
        config.FetchWaitMaxMs ??= 10;
        // Readiness: the statistics tell whether the group is in touch with its coordinator (Status).
        config.StatisticsIntervalMs ??= 1_000;
        // Payments are read for their bytes, topic and time: their headers are not marshalled into objects for every
        // record. (The property can be set but not read back, hence Get.)
        if (config.Get(ConfigPropertyNames.Consumer.ConsumeResultFields) is null) config.ConsumeResultFields = "topic,timestamp";
        return config;
    }

    /// <summary>
    /// What librdkafka refuses in the pass-through properties (an unknown name, a value out of range, a missing
    /// certificate file, a setting the worker's clients cannot combine with their own, such as <c>acks=1</c> beside the
    /// producers' idempotence or <c>group.protocol=consumer</c> beside the consumer's session timeout), found by building
    /// each client the worker builds with them, never used; null when all take them.
    /// </summary>
    private string? ClientProblem()
    {
        // A placeholder address, and silent: librdkafka connects at once, and its failures to reach this address would be
        // logged as errors beside the real cluster's.
        static T Nowhere<T>(T config) where T : ClientConfig
        {
            config.BootstrapServers = "127.0.0.1:9";
            return config;
        }
        try
        {
            using var producer = new ProducerBuilder<Null, Null>(Nowhere(WorkerProducerConfig(TransactionalIdPrefix + "-check")))
                .SetLogHandler((_, _) => { }).SetErrorHandler((_, _) => { }).Build();
            using var claims = new ProducerBuilder<Null, Null>(Nowhere(ClaimsProducerConfig()))
                .SetLogHandler((_, _) => { }).SetErrorHandler((_, _) => { }).Build();
            using var consumer = new ConsumerBuilder<Null, Null>(Nowhere(WorkerConsumerConfig()))
                .SetLogHandler((_, _) => { }).SetErrorHandler((_, _) => { }).Build();
            return null;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or KafkaException)
        {
            return ex.Message;
        }
    }
}
