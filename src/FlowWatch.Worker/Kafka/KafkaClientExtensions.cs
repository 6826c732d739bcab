using Confluent.Kafka;

namespace FlowWatch.Worker.Kafka;

public static class KafkaClientExtensions
{
    /// <summary>
    /// Produces <paramref name="message"/>, waiting while the client's queue is full (it takes a bounded number of
    /// messages not yet delivered) rather than failing: for the commands that produce a stream as fast as they can.
    /// </summary>
    public static void ProduceWhenQueued<TKey, TValue>(this IProducer<TKey, TValue> producer, string topic, Message<TKey, TValue> message,
        Action<DeliveryReport<TKey, TValue>>? delivered = null) =>
        producer.ProduceWhenQueued(new TopicPartition(topic, Partition.Any), message, delivered, Timeout.InfiniteTimeSpan);

    /// <summary>
    /// Produces <paramref name="message"/> to <paramref name="target"/> (<see cref="Partition.Any"/>: the partitioner's
    /// choice), waiting up to <paramref name="patience"/> while the client's queue is full (<c>queue.buffering.max.messages</c>,
    /// 100,000 by default; its messages leave it as the broker takes them): a worker's commit that saves many entities
    /// writes more records than that. A queue full for longer, with no broker taking anything, fails as the produce did.
    /// </summary>
    public static void ProduceWhenQueued<TKey, TValue>(this IProducer<TKey, TValue> producer, TopicPartition target, Message<TKey, TValue> message,
        Action<DeliveryReport<TKey, TValue>>? delivered, TimeSpan patience)
    {
        var waitingSince = 0L;
        while (true)
        {
            try
            {
                producer.Produce(target, message, delivered);
                return;
            }
            catch (ProduceException<TKey, TValue> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
            {
                if (waitingSince == 0) waitingSince = System.Diagnostics.Stopwatch.GetTimestamp();
                else if (patience != Timeout.InfiniteTimeSpan && System.Diagnostics.Stopwatch.GetElapsedTime(waitingSince) > patience) throw;
                // The client's own thread serves the delivery reports that make room.
                Thread.Sleep(1);
            }
        }
    }

    /// <summary>
    /// Produces into a worker's transaction: waits for room in the client's queue as long as a commit waits for its
    /// outputs' delivery (30 s).
    /// </summary>
    public static void ProduceInTransaction(this IProducer<string?, byte[]> producer, TopicPartition target, Message<string?, byte[]> message,
        Action<DeliveryReport<string?, byte[]>> delivered) =>
        producer.ProduceWhenQueued(target, message, delivered, TimeSpan.FromSeconds(30));

    /// <summary>
    /// The partition's watermarks, asked for again every 5 s up to <paramref name="timeout"/>, so that
    /// <paramref name="cancellation"/> (a stop) ends the wait (<see cref="OperationCanceledException"/>) rather than a
    /// broker that does not answer holding it for the whole timeout (a host gives its services 30 s to stop). A step
    /// is long enough for a slow broker's answer. A partition without a leader for now (a broker restarting, an
    /// election) is waited for too: the client reports it as unknown, like a partition that does not exist, which
    /// the topic's metadata tells apart. One without a leader for the whole timeout fails as a Kafka error.
    /// </summary>
    public static WatermarkOffsets QueryWatermarkOffsets<TKey, TValue>(this IConsumer<TKey, TValue> consumer, TopicPartition partition,
        TimeSpan timeout, CancellationToken cancellation)
    {
        var deadline = SteadyClock.Now + timeout;
        while (true)
        {
            cancellation.ThrowIfCancellationRequested();
            var step = SteadyClock.Until(deadline, QueryStep);
            try
            {
                return consumer.QueryWatermarkOffsets(partition, step);
            }
            catch (KafkaException ex) when (ex.Error.Code == ErrorCode.Local_TimedOut && SteadyClock.Now < deadline)
            {
            }
            catch (KafkaException ex) when (ex.Error.Code is ErrorCode.Local_UnknownPartition or ErrorCode.LeaderNotAvailable
                && !consumer.LacksPartition(partition, step))
            {
                if (SteadyClock.Now >= deadline)
                {
                    throw new KafkaException(new Error(ErrorCode.LeaderNotAvailable,
                        $"{partition.Topic} [{partition.Partition.Value}] has had no leader for {timeout.TotalSeconds:0.#} s"));
                }
                cancellation.WaitHandle.WaitOne(LeaderPause);
            }
        }
    }

    /// <summary>
    /// Whether the topic's metadata says the partition does not exist: the topic is known, without error, and has fewer
    /// partitions. False when it lists the partition, when the topic itself has an error for now (a broker that has not
    /// yet learnt of a new topic, a topic being created, one not authorised), or when the metadata does not come within
    /// <paramref name="wait"/>: nothing is known yet.
    /// </summary>
    public static bool LacksPartition(this IClient client, TopicPartition partition, TimeSpan wait) =>
        client.KnownTopic(partition.Topic, wait) is { Partitions.Count: > 0 } topic && topic.Partitions.All(listed => listed.PartitionId != partition.Partition.Value);

    /// <summary>
    /// The topic's metadata when the broker knows it without error; null when it has an error for now (not there yet,
    /// being created, not authorised) or the metadata does not come within <paramref name="wait"/>.
    /// </summary>
    public static TopicMetadata? KnownTopic(this IClient client, string topic, TimeSpan wait) =>
        client.TopicMetadata(topic, wait) is { Error.Code: ErrorCode.NoError } known ? known : null;

    /// <summary>
    /// The topic's metadata as the broker gives it, with its error if it has one (not there, not authorised); null when
    /// the metadata does not come within <paramref name="wait"/>.
    /// </summary>
    public static TopicMetadata? TopicMetadata(this IClient client, string topic, TimeSpan wait)
    {
        using var admin = new DependentAdminClientBuilder(client.Handle).Build();
        try
        {
            return admin.GetMetadata(topic, wait).Topics.FirstOrDefault(known => known.Topic == topic);
        }
        catch (KafkaException)
        {
            return null;
        }
    }

    private static readonly TimeSpan LeaderPause = TimeSpan.FromMilliseconds(500);

    private static readonly TimeSpan QueryStep = TimeSpan.FromSeconds(5);

    private static readonly long MaxUnixMilliseconds = DateTimeOffset.MaxValue.ToUnixTimeMilliseconds();

    private static readonly long EarliestPublication = new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

    /// <summary>
    /// The next record within <paramref name="wait"/>, or null. A failed fetch (a broker's hiccup, a topic missing) counts
    /// as nothing yet, told to <paramref name="failed"/>: the client fetches again by itself, and let out, the error
    /// would end the caller's work for nothing.
    /// </summary>
    public static ConsumeResult<TKey, TValue>? ConsumeOrNothing<TKey, TValue>(this IConsumer<TKey, TValue> consumer, TimeSpan wait,
        Action<Error>? failed = null)
    {
        try
        {
            return consumer.Consume(wait);
        }
        catch (ConsumeException ex) when (!ex.Error.IsFatal)
        {
            failed?.Invoke(ex.Error);
            return null;
        }
    }

    /// <summary>
    /// When the record entered its topic: its timestamp (its producer's clock, or its broker's with log-append time), or
    /// null when it has none or one that is no time a record was written: before 2000 (a producer's mistake, such as
    /// seconds for milliseconds or an explicit 0, which would make every event seem dated decades after its record) or
    /// beyond the calendar (a producer may set any number).
    /// </summary>
    public static DateTimeOffset? PublishedAt<TKey, TValue>(this ConsumeResult<TKey, TValue> record)
    {
        var timestamp = record.Message.Timestamp;
        return timestamp.Type != TimestampType.NotAvailable && timestamp.UnixTimestampMs >= EarliestPublication && timestamp.UnixTimestampMs <= MaxUnixMilliseconds
            ? DateTimeOffset.FromUnixTimeMilliseconds(timestamp.UnixTimestampMs)
            : null;
    }
}
