using System.Buffers.Binary;
using Confluent.Kafka;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Engine;
using FlowWatch.Core.Reference;

namespace FlowWatch.Worker.Kafka;

/// <summary>
/// Engine state in the state topic (DESIGN.md §4). For payments partition p, partition p of the state topic holds:
/// <list type="bullet">
/// <item>the position (key <c>P</c>): the next payments offset and the parameters in force, written by every commit;</item>
/// <item>checkpoints, every <c>CheckpointInterval</c>: each entity changed since the previous one (key
/// <c>E/{entityId}</c>, its newest state wins under compaction), the ids accepted meanwhile (key <c>I/{checkpoint}</c>,
/// deleted once they are past the duplicate horizon), and last the checkpoint's marker (key <c>K/{checkpoint}</c>: the
/// payments offset it was taken at and the parameters then), which also serves as the position.</item>
/// </list>
/// Everything is written in the same transaction as the alerts it goes with. A restore applies the newest saved
/// state of every entity, then processes the payments from the latest checkpoint's offset up to the position again,
/// discarding what they produce (their alerts, dead letters and aggregates were committed before): so commits stay
/// small, and a checkpoint writes each busy entity once, not once per commit.
/// <para>
/// Every record of a checkpoint carries its number in a header, and its marker comes last, after the rest has reached
/// the broker: a restore applies a checkpoint's records only once it has read its marker, so records of a checkpoint
/// whose transaction never committed are left out even by a broker that lets a read_committed consumer see aborted
/// records (the embedded mock broker does). A marker is kept while any record of its checkpoint is the newest of its
/// key (<see cref="CheckpointBook"/>), so compaction never leaves a saved state without its marker.
/// </para>
/// </summary>
public static class StateStore
{
    private const string PositionKey = "P";
    private const string EntityPrefix = "E/";
    private const string IdsPrefix = "I/";
    private const string MarkerPrefix = "K/";
    private const string CheckpointHeader = "flowwatch.checkpoint";

    /// <summary>The position record of a commit without a checkpoint: to be written last, by <see cref="Write"/>.</summary>
    public static PendingRecord Position(string stateTopic, int partition, FlowEngine engine, long nextOffset) =>
        new(new TopicPartition(stateTopic, new Partition(partition)), PositionKey, PositionValue(nextOffset, engine.Reference.Parameters), null);

    /// <summary>
    /// Writes a checkpoint of what changed in <paramref name="engine"/> since the previous one, and the deletions of
    /// records nothing needs any more. The checkpoint is whole once <see cref="Write"/> has written the marker it
    /// returns, last.
    /// </summary>
    internal static PendingRecord WriteCheckpoint(IProducer<string?, byte[]> producer, string stateTopic, int partition, FlowEngine engine,
        CheckpointBook book, long nextOffset, Action<DeliveryReport<string?, byte[]>> onDelivery)
    {
        var target = new TopicPartition(stateTopic, new Partition(partition));
        var checkpoint = book.Begin();
        var number = Number(checkpoint);
        var entities = new List<EntityState>();
        var ids = new List<TxnIdRecord>();
        engine.TakeChanges(entities, ids);
        foreach (var entity in entities)
        {
            Produce(producer, new PendingRecord(target, EntityPrefix + entity.EntityId, StateCodec.Encode(entity), number), onDelivery);
            book.SavedEntity(entity.EntityId, checkpoint);
        }
        if (ids.Count > 0)
        {
            Produce(producer, new PendingRecord(target, IdsKey(checkpoint), StateCodec.Encode(ids), number), onDelivery);
            book.SavedIds(checkpoint, ids.Max(id => id.Day));
        }
        foreach (var expired in book.ExpireIds(engine.ForgetsIdsOf)) Produce(producer, new PendingRecord(target, IdsKey(expired), null, number), onDelivery);
        foreach (var unneeded in book.Complete(checkpoint)) Produce(producer, new PendingRecord(target, MarkerKey(unneeded), null, number), onDelivery);
        return new PendingRecord(target, MarkerKey(checkpoint), PositionValue(nextOffset, engine.Reference.Parameters), number);
    }

    /// <summary>Writes a record returned by <see cref="Position"/> or <see cref="WriteCheckpoint"/>.</summary>
    public static void Write(IProducer<string?, byte[]> producer, PendingRecord record, Action<DeliveryReport<string?, byte[]>> onDelivery) =>
        Produce(producer, record, onDelivery);

    private static void Produce(IProducer<string?, byte[]> producer, PendingRecord record, Action<DeliveryReport<string?, byte[]>> onDelivery) =>
        producer.Produce(record.Target, new Message<string?, byte[]>
        {
            Key = record.Key,
            Value = record.Value!,   // null: a tombstone, which compaction turns into the key's deletion
            Headers = record.Checkpoint is { } checkpoint ? new Headers { { CheckpointHeader, checkpoint } } : null,
        }, onDelivery);

    /// <summary>
    /// Restores an engine from partition <paramref name="partition"/> of the state topic, reading committed records up
    /// to its end, then processes again the payments between the latest checkpoint and the position, producing
    /// nothing. The engine must not write aggregates yet, and its counters count only what comes after.
    /// </summary>
    internal static RestoredPartition Restore(ConsumerConfig baseConfig, string stateTopic, string paymentsTopic, int partition, FlowEngine engine)
    {
        var saved = ReadSaved(baseConfig, stateTopic, partition);
        var entities = new Dictionary<string, long>();
        var ids = new List<(long Checkpoint, int NewestDay)>();
        foreach (var (key, (checkpoint, value)) in saved.Records.OrderBy(record => record.Value.Checkpoint))
        {
            if (key.StartsWith(EntityPrefix, StringComparison.Ordinal))
            {
                var entity = StateCodec.DecodeEntity(value, engine.Settings.TrailingWindow);
                engine.Restore(entity);
                entities[entity.EntityId] = checkpoint;
            }
            else if (key.StartsWith(IdsPrefix, StringComparison.Ordinal))
            {
                var newestDay = int.MinValue;
                foreach (var id in StateCodec.DecodeTxnIds(value))
                {
                    engine.Restore(id);
                    newestDay = Math.Max(newestDay, id.Day);
                }
                ids.Add((checkpoint, newestDay));
            }
        }
        var book = new CheckpointBook(saved.HighestNumber + 1, entities, ids, saved.Latest?.Checkpoint, saved.Markers);
        if (saved.Position is not { } position) return new RestoredPartition(null, 0, book);

        var from = saved.Latest is { } latest ? latest.Offset : 0;
        if (saved.Latest is { } taken) engine.Restore(taken.Parameters);
        var replayed = Replay(baseConfig, paymentsTopic, partition, engine, from, position.Offset);
        engine.Restore(position.Parameters);
        engine.Counters.Clear();
        return new RestoredPartition(position.Offset, replayed, book);
    }

    /// <summary>
    /// The newest record of each key among the complete checkpoints of a state partition, the latest checkpoint and the
    /// position.
    /// </summary>
    private static Saved ReadSaved(ConsumerConfig baseConfig, string stateTopic, int partition)
    {
        var config = new ConsumerConfig(new Dictionary<string, string>(baseConfig))
        {
            GroupId = "flowwatch-restore",   // assign() only: no group membership, no commits
            EnableAutoCommit = false,
            EnablePartitionEof = true,
            IsolationLevel = IsolationLevel.ReadCommitted,
        };
        var saved = new Saved();
        using var consumer = new ConsumerBuilder<string?, byte[]?>(config).Build();
        var topicPartition = new TopicPartition(stateTopic, new Partition(partition));
        if (consumer.QueryWatermarkOffsets(topicPartition, TimeSpan.FromSeconds(30)).High.Value <= 0) return saved;
        // The records of the checkpoint being read, until its marker says it is whole.
        var pending = new List<(string Key, byte[]? Value)>();
        long? pendingCheckpoint = null;
        var markers = new HashSet<long>();
        consumer.Assign(new TopicPartitionOffset(topicPartition, Offset.Beginning));
        while (true)
        {
            // End of partition for read_committed is the last stable offset: an open transaction of a crashed
            // worker holds it back until that transaction is fenced or times out.
            var record = consumer.Consume(TimeSpan.FromSeconds(60)) ?? throw new TimeoutException($"state partition {partition} did not reach its end in 60 s");
            if (record.IsPartitionEOF) break;
            if (record.Message.Key is not { } key) continue;
            var value = record.Message.Value;
            if (key == PositionKey)
            {
                if (value is not null) saved.Position = ReadPosition(value);
                continue;
            }
            if (record.Message.Headers?.TryGetLastBytes(CheckpointHeader, out var number) != true || number.Length != sizeof(long)) continue;
            var checkpoint = BinaryPrimitives.ReadInt64LittleEndian(number);
            saved.HighestNumber = Math.Max(saved.HighestNumber, checkpoint);
            if (pendingCheckpoint != checkpoint)
            {
                pending.Clear();   // a checkpoint that never reached its marker: its transaction did not commit
                pendingCheckpoint = checkpoint;
            }
            if (key != MarkerKey(checkpoint) || value is null)
            {
                pending.Add((key, value));
                continue;
            }
            foreach (var (pendingKey, pendingValue) in pending)
            {
                if (pendingKey.StartsWith(MarkerPrefix, StringComparison.Ordinal)) markers.Remove(long.Parse(pendingKey.AsSpan(MarkerPrefix.Length), System.Globalization.CultureInfo.InvariantCulture));
                else if (pendingValue is null) saved.Records.Remove(pendingKey);
                else saved.Records[pendingKey] = (checkpoint, pendingValue);
            }
            pending.Clear();
            pendingCheckpoint = null;
            markers.Add(checkpoint);
            var position = ReadPosition(value);
            saved.Latest = (checkpoint, position.Offset, position.Parameters);
            saved.Position = position;
        }
        consumer.Close();
        saved.Markers = markers;
        return saved;
    }

    /// <summary>Processes payments [<paramref name="from"/>, <paramref name="to"/>) of a partition, keeping only their effect on state.</summary>
    private static long Replay(ConsumerConfig baseConfig, string paymentsTopic, int partition, FlowEngine engine, long from, long to)
    {
        if (from >= to) return 0;
        var config = new ConsumerConfig(new Dictionary<string, string>(baseConfig))
        {
            GroupId = "flowwatch-restore",
            EnableAutoCommit = false,
            EnablePartitionEof = true,
            IsolationLevel = IsolationLevel.ReadCommitted,
            AutoOffsetReset = AutoOffsetReset.Earliest,   // offset 0 (no checkpoint yet) may lie before the log's start
        };
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(config).Build();
        consumer.Assign(new TopicPartitionOffset(paymentsTopic, new Partition(partition), new Offset(from)));
        var discarded = new List<Alert>();
        long replayed = 0;
        while (true)
        {
            var record = consumer.Consume(TimeSpan.FromSeconds(60)) ?? throw new TimeoutException($"payments partition {partition} did not reach offset {to} in 60 s");
            if (record.IsPartitionEOF || record.Offset.Value >= to) break;
            engine.Process(record.Message.Value ?? [], record.Offset.Value, discarded, out _);
            discarded.Clear();
            replayed++;
            if (record.Offset.Value == to - 1) break;
        }
        consumer.Close();
        return replayed;
    }

    private static byte[] PositionValue(long nextOffset, Parameters parameters)
    {
        var encoded = StateCodec.Encode(parameters);
        var value = new byte[sizeof(long) + encoded.Length];
        BinaryPrimitives.WriteInt64LittleEndian(value, nextOffset);
        encoded.CopyTo(value, sizeof(long));
        return value;
    }

    private static (long Offset, Parameters Parameters) ReadPosition(byte[] value) =>
        (BinaryPrimitives.ReadInt64LittleEndian(value), StateCodec.DecodeParameters(value[sizeof(long)..]));

    private static string IdsKey(long checkpoint) => IdsPrefix + checkpoint.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static string MarkerKey(long checkpoint) => MarkerPrefix + checkpoint.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static byte[] Number(long checkpoint)
    {
        var bytes = new byte[sizeof(long)];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, checkpoint);
        return bytes;
    }

    /// <summary>A record to write: a null value deletes its key; <see cref="Checkpoint"/> is the checkpoint number header, if any.</summary>
    public sealed record PendingRecord(TopicPartition Target, string Key, byte[]? Value, byte[]? Checkpoint);

    private sealed class Saved
    {
        public Dictionary<string, (long Checkpoint, byte[] Value)> Records { get; } = [];
        public (long Checkpoint, long Offset, Parameters Parameters)? Latest { get; set; }
        public (long Offset, Parameters Parameters)? Position { get; set; }
        public long HighestNumber { get; set; }
        public IReadOnlyCollection<long> Markers { get; set; } = [];
    }
}

/// <summary>What a restore found: the offset to resume from (null: nothing was saved), the payments processed again, and the book of checkpoints.</summary>
internal sealed record RestoredPartition(long? ResumeAt, long Replayed, CheckpointBook Checkpoints);
