using System.Buffers.Binary;
using Confluent.Kafka;
using FlowWatch.Core.Engine;

namespace FlowWatch.Worker.Kafka;

/// <summary>
/// Engine snapshots in the state topic (DESIGN.md §4). For payments partition p, partition p of the state topic
/// holds: one record per entity (key <c>E/{entityId}</c>, its latest state wins under compaction), the ids
/// accepted in each commit (key <c>I/{offset}</c>, kept), and the position (key <c>P</c>: the next payments offset
/// and the parameters in force). All of them are written in the same transaction as the alerts they go with.
/// Every record of one snapshot carries the snapshot's id in a header, and the position record comes last, so a
/// restore applies a snapshot only once it has read the whole of it: records of a snapshot whose transaction
/// never committed are left out even by a broker that lets a read_committed consumer see aborted records (the
/// embedded mock broker does).
/// </summary>
public static class StateStore
{
    private const string PositionKey = "P";
    private const string EntityPrefix = "E/";
    private const string IdsPrefix = "I/";
    private const string SnapshotHeader = "flowwatch.snapshot";

    /// <summary>
    /// Writes what changed in <paramref name="engine"/> since its last snapshot. The snapshot is whole once
    /// <see cref="WritePosition"/> has written the position record it returns, last.
    /// </summary>
    public static PendingPosition WriteChanges(IProducer<string?, byte[]> producer, string stateTopic, int partition, FlowEngine engine,
        long nextOffset, Action<DeliveryReport<string?, byte[]>> onDelivery)
    {
        var target = new TopicPartition(stateTopic, new Partition(partition));
        var snapshot = Guid.NewGuid().ToByteArray();
        var entities = new List<EntityState>();
        var ids = new List<TxnIdRecord>();
        engine.TakeChanges(entities, ids);
        foreach (var entity in entities) Produce(producer, target, snapshot, EntityPrefix + entity.EntityId, StateCodec.Encode(entity), onDelivery);
        if (ids.Count > 0) Produce(producer, target, snapshot, IdsPrefix + nextOffset, StateCodec.Encode(ids), onDelivery);
        var parameters = StateCodec.Encode(engine.Reference.Parameters);
        var position = new byte[8 + parameters.Length];
        BinaryPrimitives.WriteInt64LittleEndian(position, nextOffset);
        parameters.CopyTo(position, 8);
        return new PendingPosition(target, snapshot, position);
    }

    /// <summary>Writes the position record that completes a snapshot.</summary>
    public static void WritePosition(IProducer<string?, byte[]> producer, PendingPosition position, Action<DeliveryReport<string?, byte[]>> onDelivery) =>
        Produce(producer, position.Target, position.Snapshot, PositionKey, position.Value, onDelivery);

    private static void Produce(IProducer<string?, byte[]> producer, TopicPartition target, byte[] snapshot, string key, byte[] value,
        Action<DeliveryReport<string?, byte[]>> onDelivery) =>
        producer.Produce(target, new Message<string?, byte[]> { Key = key, Value = value, Headers = new Headers { { SnapshotHeader, snapshot } } }, onDelivery);

    /// <summary>
    /// Restores an engine from partition <paramref name="partition"/> of the state topic, reading committed
    /// records up to its end. Answers the payments offset to resume from, or null when nothing was saved.
    /// </summary>
    public static long? Restore(ConsumerConfig baseConfig, string stateTopic, int partition, FlowEngine engine)
    {
        var config = new ConsumerConfig(new Dictionary<string, string>(baseConfig))
        {
            GroupId = "flowwatch-restore",   // assign() only: no group membership, no commits
            EnableAutoCommit = false,
            EnablePartitionEof = true,
            IsolationLevel = IsolationLevel.ReadCommitted,
        };
        using var consumer = new ConsumerBuilder<string?, byte[]>(config).Build();
        var topicPartition = new TopicPartition(stateTopic, new Partition(partition));
        if (consumer.QueryWatermarkOffsets(topicPartition, TimeSpan.FromSeconds(30)).High.Value <= 0) return null;
        long? resumeAt = null;
        // The records of the snapshot being read, until its position record says it is whole.
        var pending = new List<(string Key, byte[] Value)>();
        byte[]? pendingSnapshot = null;
        consumer.Assign(new TopicPartitionOffset(topicPartition, Offset.Beginning));
        while (true)
        {
            // End of partition for read_committed is the last stable offset: an open transaction of a crashed
            // worker holds it back until that transaction is fenced or times out.
            var record = consumer.Consume(TimeSpan.FromSeconds(60)) ?? throw new TimeoutException($"state partition {partition} did not reach its end in 60 s");
            if (record.IsPartitionEOF) break;
            if (record.Message is not { Key: { } key, Value: { } value }) continue;
            var snapshot = record.Message.Headers?.TryGetLastBytes(SnapshotHeader, out var id) == true ? id : null;
            if (pendingSnapshot is null || snapshot is null || !snapshot.AsSpan().SequenceEqual(pendingSnapshot))
            {
                pending.Clear();   // a snapshot that never reached its position record: its transaction did not commit
                pendingSnapshot = snapshot;
            }
            if (key != PositionKey)
            {
                pending.Add((key, value));
                continue;
            }
            foreach (var (entryKey, entryValue) in pending) Apply(engine, entryKey, entryValue);
            pending.Clear();
            pendingSnapshot = null;
            resumeAt = BinaryPrimitives.ReadInt64LittleEndian(value);
            engine.Restore(StateCodec.DecodeParameters(value[8..]));
        }
        consumer.Close();
        return resumeAt;
    }

    /// <summary>The last record of a snapshot, written once everything else of the commit is on the broker.</summary>
    public sealed record PendingPosition(TopicPartition Target, byte[] Snapshot, byte[] Value);

    private static void Apply(FlowEngine engine, string key, byte[] value)
    {
        if (key.StartsWith(EntityPrefix, StringComparison.Ordinal))
        {
            engine.Restore(StateCodec.DecodeEntity(value, engine.Settings.TrailingWindow));
        }
        else if (key.StartsWith(IdsPrefix, StringComparison.Ordinal))
        {
            foreach (var id in StateCodec.DecodeTxnIds(value)) engine.Restore(id);
        }
    }
}
