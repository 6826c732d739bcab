using System.Runtime.InteropServices;
using System.Text;
using Confluent.Kafka;

namespace FlowWatch.Worker.Kafka;

/// <summary>
/// A Kafka-protocol broker inside this process: librdkafka's mock cluster (real Kafka protocol over TCP on
/// 127.0.0.1, with consumer groups and transactions), created through librdkafka's C API from the very library
/// Confluent.Kafka loaded. It cannot create topics on request, so topics are made here. For tests and
/// <c>demo</c>; production uses a real cluster.
/// </summary>
public sealed partial class EmbeddedBroker : IDisposable
{
    private const string Library = "librdkafka";
    private static readonly object LoadGate = new();
    private static bool s_resolverSet;

    private readonly nint _client;
    private nint _cluster;

    private EmbeddedBroker(nint client, nint cluster, int brokers)
    {
        _client = client;
        _cluster = cluster;
        Brokers = brokers;
        BootstrapServers = Marshal.PtrToStringUTF8(rd_kafka_mock_cluster_bootstraps(cluster))
            ?? throw new InvalidOperationException("the mock cluster has no bootstrap servers");
    }

    public string BootstrapServers { get; }

    public int Brokers { get; }

    /// <summary>Starts a cluster of <paramref name="brokers"/> brokers (ids 1..N) on loopback ports.</summary>
    public static EmbeddedBroker Start(int brokers = 1)
    {
        EnsureNativeLibrary();
        var errors = new byte[512];
        var conf = rd_kafka_conf_new();
        // The cluster's host client connects nowhere itself; its notice about missing bootstrap servers is noise.
        rd_kafka_conf_set(conf, "log_level", "4", errors, (nuint)errors.Length);
        var client = rd_kafka_new(0 /* RD_KAFKA_PRODUCER */, conf, errors, (nuint)errors.Length);
        if (client == 0) throw new InvalidOperationException("librdkafka: " + Encoding.UTF8.GetString(errors).TrimEnd('\0'));
        var cluster = NewClusterWithSignalsBlocked(client, brokers);
        if (cluster == 0)
        {
            rd_kafka_destroy(client);
            throw new InvalidOperationException("librdkafka could not create a mock cluster");
        }
        return new EmbeddedBroker(client, cluster, brokers);
    }

    /// <summary>
    /// The mock cluster serves from a thread of its own, which takes the signal mask of the thread that creates it,
    /// and ends for good (refusing every connection after) when a signal this process handles, such as the SIGCONT
    /// that resumes it after a SIGSTOP, interrupts its wait. Created with every signal blocked, as librdkafka creates
    /// its clients' threads, it never takes one; this thread's own mask is put back at once.
    /// </summary>
    private static nint NewClusterWithSignalsBlocked(nint client, int brokers)
    {
        var all = new byte[SignalSetBytes];
        Array.Fill(all, byte.MaxValue);
        var previous = new byte[SignalSetBytes];
        if (pthread_sigmask(SigSetMask, all, previous) != 0) throw new InvalidOperationException("could not block signals for the mock cluster's thread");
        try
        {
            return rd_kafka_mock_cluster_new(client, brokers);
        }
        finally
        {
            _ = pthread_sigmask(SigSetMask, previous, null);
        }
    }

    public void CreateTopic(string name, int partitions, int replicationFactor = 1) =>
        Check(rd_kafka_mock_topic_create(_cluster, name, partitions, Math.Min(replicationFactor, Brokers)), $"create topic {name}");

    /// <summary>
    /// Creates the worker's topics: payments, alerts and state with <paramref name="partitions"/> partitions each
    /// (the state topic matches the payments topic: its partition p holds the state of payments partition p),
    /// and the dead-letter topic with one.
    /// </summary>
    public void CreateFlowWatchTopics(KafkaOptions options, int partitions)
    {
        foreach (var topic in new[] { options.PaymentsTopic, options.AlertsTopic, options.StateTopic, options.AggregatesTopic }) CreateTopic(topic, partitions);
        CreateTopic(options.DeadLetterTopic, 1);
    }

    // Faults to inject, for the tests of delivery and recovery only: internal, so that no command of the executable
    // offers them.

    /// <summary>Takes a broker down: its connections close and it refuses new ones until <see cref="SetBrokerUp"/>.</summary>
    internal void SetBrokerDown(int brokerId) => Check(rd_kafka_mock_broker_set_down(_cluster, brokerId), $"set broker {brokerId} down");

    internal void SetBrokerUp(int brokerId) => Check(rd_kafka_mock_broker_set_up(_cluster, brokerId), $"set broker {brokerId} up");

    /// <summary>Makes broker <paramref name="brokerId"/> the leader of a partition.</summary>
    internal void SetLeader(string topic, int partition, int brokerId) =>
        Check(rd_kafka_mock_partition_set_leader(_cluster, topic, partition, brokerId), $"make broker {brokerId} the leader of {topic} [{partition}]");

    /// <summary>Makes broker <paramref name="brokerId"/> the coordinator of a consumer group (<c>group</c>) or a transactional id (<c>transaction</c>).</summary>
    internal void SetCoordinator(string keyType, string key, int brokerId) =>
        Check(rd_kafka_mock_coordinator_set(_cluster, keyType, key, brokerId), $"make broker {brokerId} the {keyType} coordinator of {key}");

    /// <summary>Answers every metadata request for <paramref name="topic"/> with <paramref name="error"/> (<see cref="ErrorCode.NoError"/> ends it).</summary>
    internal void SetTopicError(string topic, ErrorCode error) => rd_kafka_mock_topic_set_error(_cluster, topic, (int)error);

    /// <summary>Deletes the records of a partition before <paramref name="offset"/>, as a topic's retention does.</summary>
    internal void DeleteRecords(string topic, int partition, long offset) =>
        Check(rd_kafka_mock_partition_delete_records(_cluster, topic, partition, offset), $"delete records of {topic} [{partition}] before {offset}");

    /// <summary>
    /// Answers the next requests of the Kafka protocol's API <paramref name="apiKey"/> (e.g. 26, EndTxn) with
    /// <paramref name="errors"/>, one each, without carrying them out.
    /// </summary>
    internal void FailNextRequests(short apiKey, params ErrorCode[] errors) =>
        rd_kafka_mock_push_request_errors_array(_cluster, apiKey, (nuint)errors.Length, [.. errors.Select(error => (int)error)]);

    public void Dispose()
    {
        if (_cluster == 0) return;
        rd_kafka_mock_cluster_destroy(_cluster);
        rd_kafka_destroy(_client);
        _cluster = 0;
    }

    private static void Check(int error, string what)
    {
        if (error != 0) throw new InvalidOperationException($"librdkafka: {what} failed with error code {error}");
    }

    /// <summary>
    /// Binds this class's imports to the librdkafka that Confluent.Kafka loads (on Debian its default build needs a
    /// libsasl2 the system lacks, and Confluent falls back to another build), so client and broker share one library.
    /// </summary>
    private static void EnsureNativeLibrary()
    {
        lock (LoadGate)
        {
            if (s_resolverSet) return;
            Confluent.Kafka.Library.Load();
            var path = LoadedLibraryPath()
                ?? throw new InvalidOperationException("Confluent.Kafka loaded no librdkafka that this process can see");
            var handle = NativeLibrary.Load(path);
            NativeLibrary.SetDllImportResolver(typeof(EmbeddedBroker).Assembly,
                (name, _, _) => name == Library ? handle : 0);
            s_resolverSet = true;
        }
    }

    private static string? LoadedLibraryPath() =>
        File.ReadLines("/proc/self/maps")
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields.Length >= 6 && fields[^1].Contains("librdkafka", StringComparison.Ordinal))
            .Select(fields => fields[^1])
            .FirstOrDefault();

    /// <summary>glibc's <c>sigset_t</c> (1,024 bits) and <c>SIG_SETMASK</c>.</summary>
    private const int SignalSetBytes = 128;
    private const int SigSetMask = 2;

    [LibraryImport("libc")]
    private static partial int pthread_sigmask(int how, byte[] set, [Out] byte[]? previous);

    [LibraryImport(Library)]
    private static partial nint rd_kafka_conf_new();

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int rd_kafka_conf_set(nint conf, string name, string value, [Out] byte[] errstr, nuint errstrSize);

    [LibraryImport(Library)]
    private static partial nint rd_kafka_new(int type, nint conf, [Out] byte[] errstr, nuint errstrSize);

    [LibraryImport(Library)]
    private static partial void rd_kafka_destroy(nint client);

    [LibraryImport(Library)]
    private static partial nint rd_kafka_mock_cluster_new(nint client, int brokers);

    [LibraryImport(Library)]
    private static partial void rd_kafka_mock_cluster_destroy(nint cluster);

    [LibraryImport(Library)]
    private static partial nint rd_kafka_mock_cluster_bootstraps(nint cluster);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int rd_kafka_mock_topic_create(nint cluster, string topic, int partitions, int replicationFactor);

    [LibraryImport(Library)]
    private static partial int rd_kafka_mock_broker_set_down(nint cluster, int brokerId);

    [LibraryImport(Library)]
    private static partial int rd_kafka_mock_broker_set_up(nint cluster, int brokerId);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    private static partial void rd_kafka_mock_topic_set_error(nint cluster, string topic, int error);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int rd_kafka_mock_coordinator_set(nint cluster, string keyType, string key, int brokerId);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int rd_kafka_mock_partition_set_leader(nint cluster, string topic, int partition, int brokerId);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int rd_kafka_mock_partition_delete_records(nint cluster, string topic, int partition, long offset);

    [LibraryImport(Library)]
    private static partial void rd_kafka_mock_push_request_errors_array(nint cluster, short apiKey, nuint count, int[] errors);
}
