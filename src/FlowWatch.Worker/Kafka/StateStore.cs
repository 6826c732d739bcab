using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using Confluent.Kafka;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Engine;
using FlowWatch.Core.Reference;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FlowWatch.Worker.Kafka;

/// <summary>
/// Engine state in the state topic (DESIGN.md §4). For payments partition p, partition p of the state topic holds:
/// <list type="bullet">
/// <item>entity states (key <c>E/{entityId}</c>, the newest wins under compaction, and a tombstone deletes them all), each saved a
/// <c>CheckpointInterval</c> after its first change since its last save, with the sequence of the last payment it
/// includes in a header;</item>
/// <item>accepted ids, saved every interval (keys <c>I/{number}/{part}</c>), each with the offset of its payment, and
/// deleted once they are past the duplicate horizon;</item>
/// <item>the position (key <c>P</c>), written last by every commit: the next payments offset and the parameters in
/// force, and the restart point, before which every change is saved, with the parameters in force there;</item>
/// <item>claims (key <c>C</c>): each owner of the partition writes one, with a fresh owner id, before it restores, and
/// names that id in every record it writes afterwards (header <c>flowwatch.owner</c>). After a claim, a restore takes
/// only the records of the claim's owner: a worker that has lost the partition without knowing it yet (frozen past
/// its session, or cut off from the group) may still commit, and what it writes after the claim is passed over.</item>
/// </list>
/// Everything is written in the same transaction as the alerts it goes with. A restore applies the newest state of
/// every entity and the ids accepted before the restart point, then processes the payments from the restart point up
/// to the position again for their effect on state only (<see cref="FlowEngine.Reprocess"/>): an entity whose saved
/// state already includes a payment leaves it alone, and nothing is produced, since the alerts, dead letters and
/// aggregates of those payments were committed before.
/// <para>
/// So every saved record is valid on its own, which is what compaction needs: the newest record of each key is all
/// a restore reads. A broker that lets a read_committed consumer see records of aborted transactions (the embedded
/// mock broker does) may show an entity state that includes payments beyond the position; a restore passes over it
/// and takes that entity's previous state.
/// </para>
/// </summary>
public static class StateStore
{
    private const string PositionKey = "P";
    private const string EntityPrefix = "E/";
    private const string IdsPrefix = "I/";
    private const string FragmentPrefix = "F/";
    private const string ClaimKey = "C";
    private const string OwnerHeader = "flowwatch.owner";
    private const string ThroughHeader = "flowwatch.through";
    private const string PartsHeader = "flowwatch.parts";

    /// <summary>Opens every position record of this format; the format before it had none.</summary>
    private static ReadOnlySpan<byte> PositionFormat => "FWP2"u8;

    /// <summary>
    /// Claims partition <paramref name="partition"/> of the state topic for a new owner, before its restore. The claim is
    /// written by <paramref name="producer"/>, one outside any transaction, so that it is in the log at once: every
    /// later record of a worker that owned the partition before comes after it. Answers the new owner's id and where
    /// the claim is in the log.
    /// </summary>
    internal static Claim ClaimPartition(IProducer<string?, byte[]> producer, string stateTopic, int partition, CancellationToken cancellation = default)
    {
        var owner = Guid.NewGuid().ToByteArray();
        var target = new TopicPartition(stateTopic, new Partition(partition));
        var delivery = producer.ProduceAsync(target, new Message<string?, byte[]> { Key = ClaimKey, Value = owner }, CancellationToken.None);
        // A stop ends the wait (the session then disposes the producer, and the claim with it): a partition without a
        // leader would otherwise hold it for as long as the claim may take to be delivered (CatchUpTimeout).
        Task.WaitAny([delivery], cancellation);
        try
        {
            return new Claim(owner, delivery.GetAwaiter().GetResult().Offset.Value);
        }
        catch (ProduceException<string?, byte[]> ex) when (ex.Error.Code == ErrorCode.Local_UnknownPartition
            && producer.LacksPartition(target, TimeSpan.FromSeconds(10)))
        {
            throw MissingStatePartition(stateTopic, partition, ex);
        }
    }

    private static InvalidDataException MissingStatePartition(string stateTopic, int partition, Exception inner) =>
        new($"the state topic '{stateTopic}' has no partition {partition}: it needs as many partitions as the payments topic", inner);

    /// <summary>A claim on a state partition: the new owner's id, and the claim's offset.</summary>
    internal sealed record Claim(byte[] Owner, long Offset);

    /// <summary>
    /// Books a commit of <paramref name="engine"/>'s partition at <paramref name="nextOffset"/>, writes the entity
    /// states and ids due (all of them when <paramref name="all"/>: before the partition is given up) and the deletions
    /// of ids past the horizon, and answers the position record, to be written last with <see cref="Write"/>.
    /// </summary>
    internal static PendingRecord WriteCommit(IProducer<string?, byte[]> producer, string stateTopic, int partition, FlowEngine engine,
        StateBook book, long nextOffset, StateWriting writing, bool all, Action<DeliveryReport<string?, byte[]>> onDelivery)
    {
        var target = new TopicPartition(stateTopic, new Partition(partition));
        var (changed, accepted) = book.TakeChanges(engine);
        var (due, ids) = book.Commit(nextOffset, engine.Reference.Parameters, changed, accepted, SteadyClock.Now, writing.CheckpointInterval,
            writing.CommitInterval, all);
        foreach (var entity in due) WriteEntity(producer, target, entity, book, writing.RecordBytes, onDelivery);
        if (ids is { Count: > 0 })
        {
            var parts = (ids.Count + writing.IdsPerRecord - 1) / writing.IdsPerRecord;
            var number = book.SavedIds(parts, ids.Max(id => id.Day));
            for (var part = 0; part < parts; part++)
            {
                var slice = CollectionsMarshal.AsSpan(ids).Slice(part * writing.IdsPerRecord, Math.Min(writing.IdsPerRecord, ids.Count - part * writing.IdsPerRecord));
                producer.ProduceInTransaction(target, new Message<string?, byte[]> { Key = IdsKey(number, part), Value = StateCodec.Encode(slice), Headers = Owned(book.Owner) }, onDelivery);
            }
        }
        foreach (var (number, parts) in book.ExpireIds(engine.ForgetsIdsOf))
        {
            // A tombstone: compaction deletes the key.
            for (var part = 0; part < parts; part++) producer.ProduceInTransaction(target, new Message<string?, byte[]> { Key = IdsKey(number, part), Value = null!, Headers = Owned(book.Owner) }, onDelivery);
        }
        var (restartPoint, restartParameters) = book.RestartPoint();
        return new PendingRecord(target, PositionValue(new Position(nextOffset, engine.Reference.Parameters, restartPoint, restartParameters)), book.Owner);
    }

    /// <summary>Headers naming the partition's owner, when it has claimed the partition.</summary>
    private static Headers Owned(byte[]? owner)
    {
        var headers = new Headers();
        if (owner is not null) headers.Add(OwnerHeader, owner);
        return headers;
    }

    /// <summary>
    /// Writes an entity's state: one record <c>E/{entityId}</c>, or, when the state is larger than
    /// <paramref name="recordBytes"/>, that record with the first part and how many parts there are, and the rest under
    /// <c>F/{part}/{entityId}</c>; parts a larger earlier state had beyond these are deleted. Every part names the last
    /// payment the state includes, so a restore puts together parts of the same state only.
    /// </summary>
    private static void WriteEntity(IProducer<string?, byte[]> producer, TopicPartition target, EntityState entity, StateBook book, int recordBytes,
        Action<DeliveryReport<string?, byte[]>> onDelivery)
    {
        var state = StateCodec.Encode(entity);
        var parts = Math.Max(1, (state.Length + recordBytes - 1) / recordBytes);
        var through = new byte[sizeof(long)];
        BinaryPrimitives.WriteInt64LittleEndian(through, entity.LastSequence);
        for (var part = 0; part < parts; part++)
        {
            var headers = Owned(book.Owner);
            headers.Add(ThroughHeader, through);
            if (part == 0 && parts > 1) headers.Add(PartsHeader, BitConverter.GetBytes(parts));
            var value = parts == 1 ? state : state[(part * recordBytes)..Math.Min(state.Length, (part + 1) * recordBytes)];
            producer.ProduceInTransaction(target, new Message<string?, byte[]> { Key = PartKey(entity.EntityId, part), Value = value, Headers = headers }, onDelivery);
        }
        for (var part = parts; part < book.PartsOf(entity.EntityId); part++)
        {
            producer.ProduceInTransaction(target, new Message<string?, byte[]> { Key = PartKey(entity.EntityId, part), Value = null!, Headers = Owned(book.Owner) }, onDelivery);
        }
        book.SavedParts(entity.EntityId, parts);
    }

    private static string PartKey(string entityId, int part) =>
        part == 0 ? EntityPrefix + entityId : string.Create(CultureInfo.InvariantCulture, $"{FragmentPrefix}{part}/{entityId}");

    /// <summary>Writes a position record returned by <see cref="WriteCommit"/>.</summary>
    public static void Write(IProducer<string?, byte[]> producer, PendingRecord record, Action<DeliveryReport<string?, byte[]>> onDelivery) =>
        producer.ProduceInTransaction(record.Target, new Message<string?, byte[]> { Key = PositionKey, Value = record.Value, Headers = Owned(record.Owner) }, onDelivery);

    /// <summary>
    /// Restores an engine from partition <paramref name="partition"/> of the state topic, reading committed records up
    /// to its end, then processes the payments from the restart point up to the position again, producing nothing.
    /// The engine must track changes, must not write aggregates yet, and counts only what comes after. With
    /// <paramref name="claim"/> (from <see cref="ClaimPartition"/>), the partition is read at least through the claim, and
    /// the records saved from then on name its owner. Its Kafka clients log through <paramref name="clientLog"/> when given
    /// (one that served the restores before this one), else to <paramref name="log"/>.
    /// </summary>
    internal static RestoredPartition Restore(ConsumerConfig baseConfig, string stateTopic, string paymentsTopic, int partition, FlowEngine engine,
        TimeSpan? catchUpTimeout = null, Claim? claim = null, ILogger? log = null, KafkaClientLog? clientLog = null, CancellationToken cancellation = default)
    {
        var timeout = catchUpTimeout ?? new KafkaOptions().CatchUpTimeout;
        log ??= NullLogger.Instance;
        var clients = clientLog ?? new KafkaClientLog(log, "state restore");
        var owner = claim?.Owner;
        var saved = ReadSaved(baseConfig, stateTopic, partition, claim?.Offset, timeout, log, clients, cancellation);
        var idRecords = new Dictionary<long, (int Parts, int NewestDay)>();
        if (saved.Position is not { } position)
        {
            return new RestoredPartition(null, 0, new StateBook(0, engine.Reference.Parameters, [], saved.HighestIdRecord + 1) { Owner = owner });
        }
        foreach (var (key, (through, value)) in saved.Entities)
        {
            engine.Restore(Decoded(partition, key, () => Entity(key, through, value, engine.Settings.TrailingWindow)));
        }
        // In the order they were written: an id accepted again after the duplicate horizon takes the day of its newer
        // record. The dictionary's own order is not that once a deleted key's place is taken by a newer one.
        foreach (var (key, ((number, _), value)) in saved.Ids.OrderBy(r => r.Value.Record))
        {
            var (parts, newestDay) = idRecords.GetValueOrDefault(number, (0, int.MinValue));
            foreach (var id in Decoded(partition, key, () => StateCodec.DecodeTxnIds(value)))
            {
                newestDay = Math.Max(newestDay, id.Day);
                // Ids from the restart point on are met again below.
                if (id.Sequence < position.RestartPoint) engine.Restore(id);
            }
            idRecords[number] = (parts + 1, newestDay);
        }
        engine.Restore(position.RestartParameters);
        var (replayed, keptFrom) = Replay(baseConfig, paymentsTopic, partition, engine, position.RestartPoint, position.NextOffset, timeout, log, clients, cancellation);
        engine.Restore(position.Parameters);
        engine.Counters.Clear();
        var book = new StateBook(position.NextOffset, position.Parameters, [.. idRecords.Select(r => (r.Key, r.Value.Parts, r.Value.NewestDay))],
            saved.HighestIdRecord + 1) { Owner = owner };
        foreach (var (entityId, parts) in saved.Parts) book.SavedParts(entityId, parts);
        var changed = new List<EntityState>();
        var accepted = new List<TxnIdRecord>();
        engine.TakeChanges(changed, accepted);
        book.Replayed(position.RestartPoint, position.RestartParameters, changed, accepted);
        // Payments after the position deleted before they were read (a worker far behind): the worker goes on from the
        // first one kept, and says so (DESIGN.md §4: nothing is lost unseen), where a consumer's reset would pass them over.
        var deletedUnread = Math.Max(0, keptFrom - position.NextOffset);
        if (deletedUnread > 0) WorkerLog.PaymentsDeletedUnread(log, partition, position.NextOffset, keptFrom);
        return new RestoredPartition(position.NextOffset + deletedUnread, replayed, book) { DeletedUnread = deletedUnread };
    }

    /// <summary>
    /// The entity state saved under <paramref name="key"/>, which must be the state of the entity the key names and include
    /// the payments its header says: another entity's would take that entity's place, and a state claiming later payments
    /// than it includes would leave them out when they are processed again.
    /// </summary>
    private static EntityState Entity(string key, long through, byte[] value, TimeSpan trailingWindow)
    {
        var state = StateCodec.DecodeEntity(value, trailingWindow);
        if (state.EntityId != key[EntityPrefix.Length..]) throw new InvalidDataException($"it holds the state of entity '{state.EntityId}'");
        if (state.LastSequence != through)
        {
            throw new InvalidDataException($"it holds a state through payment {state.LastSequence}, its header says through {through}");
        }
        return state;
    }

    /// <summary>
    /// Decodes a record of the state topic; one that cannot be decoded (corrupted, or of another format) stops the
    /// restore with its partition and key named, rather than restoring without it.
    /// </summary>
    private static T Decoded<T>(int partition, string key, Func<T> decode)
    {
        try
        {
            return decode();
        }
        catch (InvalidDataException ex)
        {
            throw new InvalidDataException($"partition {partition} of the state topic: record '{key}' cannot be read: {ex.Message}", ex);
        }
    }

    /// <summary>The newest valid record of each entity and ids key of a state partition, and the position.</summary>
    private static Saved ReadSaved(ConsumerConfig baseConfig, string stateTopic, int partition, long? claimedAt, TimeSpan timeout, ILogger log,
        KafkaClientLog clients, CancellationToken cancellation)
    {
        var saved = new Saved();
        using var consumer = new ConsumerBuilder<string?, byte[]?>(RestoreConfig(baseConfig)).LogTo(clients).Build();
        var topicPartition = new TopicPartition(stateTopic, new Partition(partition));
        WatermarkOffsets watermarks;
        try
        {
            watermarks = consumer.QueryWatermarkOffsets(topicPartition, TimeSpan.FromSeconds(30), cancellation);
        }
        catch (KafkaException ex) when (ex.Error.Code == ErrorCode.Local_UnknownPartition)
        {
            throw MissingStatePartition(stateTopic, partition, ex);
        }
        // Compaction keeps each key's newest record and never moves a partition's start; retention (or records deleted
        // by hand) does, taking with it the states of entities not saved since.
        if (watermarks.Low.Value > 0) WorkerLog.StateRemoved(log, partition, watermarks.Low.Value);
        if (watermarks.High.Value <= 0) return saved;
        // Per entity: states in log order after the newest one known to be valid (including a payment before a position
        // already read); the rest are judged against the final position.
        var entities = new Dictionary<string, List<(long Through, int Parts, byte[] Value)>>();
        // Per entity and part after the first: the parts in log order, pruned as the first parts are.
        var fragments = new Dictionary<(string EntityId, int Part), List<(long Through, byte[] Value)>>();
        consumer.Assign(new TopicPartitionOffset(topicPartition, Offset.Beginning));
        // The owner of the latest claim read: from a claim on, only that owner's records count.
        byte[]? owner = null;
        while (true)
        {
            // End of partition for read_committed is the last stable offset: a transaction not yet decided holds it
            // back (a crashed worker's until it is fenced or times out), and the client reports that end at once. The
            // claim, written outside any transaction after every record of earlier owners, becomes readable only once
            // all their transactions are decided, such as a commit whose markers are still on their way: the restore
            // reads through it, so it never takes a position that such a commit is about to replace.
            var record = ConsumeWithin(consumer, timeout, cancellation) ?? throw new TimeoutException($"state partition {partition} did not reach its end in {timeout.TotalSeconds:0.#} s");
            if (record.IsPartitionEOF)
            {
                if (claimedAt is not { } claimOffset || record.Offset.Value > claimOffset) break;
                continue;
            }
            if (record.Message.Key is not { } key) continue;
            var value = record.Message.Value;
            if (key == ClaimKey)
            {
                if (value is not null) owner = value;
                continue;
            }
            if (owner is not null && !(record.Message.Headers?.TryGetLastBytes(OwnerHeader, out var writer) == true && writer.AsSpan().SequenceEqual(owner)))
            {
                continue;   // written after a newer owner's claim by one that had lost the partition
            }
            if (key == PositionKey)
            {
                if (value is not null) saved.Position = ReadPosition(value, partition);
                continue;
            }
            if (IdsRecord(key) is { } ids)
            {
                saved.HighestIdRecord = Math.Max(saved.HighestIdRecord, ids.Number);
                if (value is null) saved.Ids.Remove(key);
                else saved.Ids[key] = (ids, value);
                continue;
            }
            if (FragmentOf(key) is { } fragment)
            {
                saved.Parts[fragment.EntityId] = Math.Max(saved.Parts.GetValueOrDefault(fragment.EntityId, 1), fragment.Part + 1);
                if (!fragments.TryGetValue(fragment, out var pieces)) fragments[fragment] = pieces = [];
                if (value is null)
                {
                    pieces.Clear();   // deleted: the entity's newer states have fewer parts
                    continue;
                }
                var pieceThrough = Through(partition, key, record.Message.Headers);
                if (saved.Position is { } settled && pieceThrough < settled.NextOffset) pieces.Clear();
                pieces.Add((pieceThrough, value));
                continue;
            }
            if (!key.StartsWith(EntityPrefix, StringComparison.Ordinal)) continue;
            if (value is null)
            {
                entities.Remove(key);   // deleted, as compaction deletes it with every earlier state
                continue;
            }
            var through = Through(partition, key, record.Message.Headers);
            var parts = Parts(partition, key, record.Message.Headers!);
            if (!entities.TryGetValue(key, out var versions)) entities[key] = versions = [];
            if (saved.Position is { } known && through < known.NextOffset) versions.Clear();
            versions.Add((through, parts, value));
        }
        consumer.Close();
        var end = saved.Position?.NextOffset ?? 0;
        foreach (var (key, versions) in entities)
        {
            for (var i = versions.Count - 1; i >= 0; i--)
            {
                if (versions[i].Through >= end) continue;   // includes payments past the position: its transaction did not commit
                if (Assemble(key[EntityPrefix.Length..], versions[i], fragments) is not { } state) continue;
                saved.Entities[key] = (versions[i].Through, state);
                break;
            }
        }
        return saved;
    }

    /// <summary>A state from its first part and the other parts with the same last payment; null when one is missing.</summary>
    private static byte[]? Assemble(string entityId, (long Through, int Parts, byte[] Value) first,
        Dictionary<(string EntityId, int Part), List<(long Through, byte[] Value)>> fragments)
    {
        if (first.Parts == 1) return first.Value;
        var pieces = new List<byte[]> { first.Value };
        for (var part = 1; part < first.Parts; part++)
        {
            if (!fragments.TryGetValue((entityId, part), out var versions)) return null;
            var match = versions.FindLastIndex(piece => piece.Through == first.Through);
            if (match < 0) return null;
            pieces.Add(versions[match].Value);
        }
        var state = new byte[pieces.Sum(piece => piece.Length)];
        var at = 0;
        foreach (var piece in pieces)
        {
            piece.CopyTo(state, at);
            at += piece.Length;
        }
        return state;
    }

    /// <summary>
    /// The last payment a part of an entity's state includes, from its header. Every part a worker writes has one: a part
    /// without it stops the restore, as an undecodable one does, rather than leaving the entity out unseen.
    /// </summary>
    private static long Through(int partition, string key, Headers? headers) =>
        headers?.TryGetLastBytes(ThroughHeader, out var bytes) == true && bytes.Length == sizeof(long)
            ? BinaryPrimitives.ReadInt64LittleEndian(bytes)
            : throw new InvalidDataException($"partition {partition} of the state topic: record '{key}' cannot be read: it has no '{ThroughHeader}' header of {sizeof(long)} bytes");

    /// <summary>How many parts an entity's state has: its first part's header says so when there are more than one.</summary>
    private static int Parts(int partition, string key, Headers headers)
    {
        if (!headers.TryGetLastBytes(PartsHeader, out var count)) return 1;
        return count.Length == sizeof(int) && BitConverter.ToInt32(count) >= 1
            ? BitConverter.ToInt32(count)
            : throw new InvalidDataException($"partition {partition} of the state topic: record '{key}' cannot be read: its '{PartsHeader}' header is not a count of parts");
    }

    /// <summary>The entity and part of a key <c>F/{part}/{entityId}</c>; null for any other key.</summary>
    private static (string EntityId, int Part)? FragmentOf(string key)
    {
        if (!key.StartsWith(FragmentPrefix, StringComparison.Ordinal)) return null;
        var slash = key.IndexOf('/', FragmentPrefix.Length);
        return slash > 0 && int.TryParse(key.AsSpan(FragmentPrefix.Length, slash - FragmentPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var part)
            && part > 0
            ? (key[(slash + 1)..], part)
            : null;
    }

    /// <summary>
    /// The next record within <paramref name="timeout"/>, or null (the caller's timeout). A fetch that failed (a broker's
    /// hiccup) is retried by the client itself, so its error is waited out with the rest: let out of the restore, which runs
    /// in the worker's partition assignment, it would end the assignment unfinished and the worker's consumer would go on
    /// without it. It waits in steps of a second, so that a stop asked for meanwhile ends it
    /// (<see cref="OperationCanceledException"/>) rather than waiting out the timeout (the CatchUpTimeout, 60 s, passes
    /// the 30 s a host gives its services to stop).
    /// </summary>
    private static ConsumeResult<TKey, TValue>? ConsumeWithin<TKey, TValue>(IConsumer<TKey, TValue> consumer, TimeSpan timeout,
        CancellationToken cancellation)
    {
        var deadline = SteadyClock.Now + timeout;
        while (true)
        {
            cancellation.ThrowIfCancellationRequested();
            var left = SteadyClock.Until(deadline, CancellationStep);
            if (consumer.ConsumeOrNothing(left) is { } record) return record;
            if (SteadyClock.Now >= deadline) return null;
        }
    }

    private static readonly TimeSpan CancellationStep = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Processes payments [<paramref name="from"/>, <paramref name="to"/>) of a partition again, for their effect on state
    /// only. With none to process, checks that the partition reaches <paramref name="to"/>. Answers how many it processed,
    /// and the partition's first offset kept.
    /// </summary>
    private static (long Replayed, long KeptFrom) Replay(ConsumerConfig baseConfig, string paymentsTopic, int partition, FlowEngine engine, long from, long to, TimeSpan timeout,
        ILogger log, KafkaClientLog clients, CancellationToken cancellation)
    {
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(RestoreConfig(baseConfig)).LogTo(clients).Build();
        var payments = new TopicPartition(paymentsTopic, new Partition(partition));
        var kept = consumer.QueryWatermarkOffsets(payments, TimeSpan.FromSeconds(30), cancellation);
        // The topic's retention removed payments the state does not hold: the restore goes on without them, as the worker
        // cannot get them back, and says so.
        if (from < to && kept.Low.Value > from) WorkerLog.PaymentsRemoved(log, partition, from, Math.Min(kept.Low.Value, to));
        if (Math.Max(from, kept.Low.Value) >= to)
        {
            // Resuming past the end, the worker's consumer would be reset to the partition's start and process it all again
            // on top of this state.
            if (kept.High.Value < to) throw EndsBeforePosition(partition, kept.High.Value, to);
            consumer.Close();
            return (0, kept.Low.Value);
        }
        consumer.Assign(new TopicPartitionOffset(payments, new Offset(from)));
        var discarded = new List<Alert>();
        long replayed = 0;
        while (true)
        {
            var record = ConsumeWithin(consumer, timeout, cancellation) ?? throw new TimeoutException($"payments partition {partition} did not reach offset {to} in {timeout.TotalSeconds:0.#} s");
            if (record.IsPartitionEOF)
            {
                // Just after a leader changed, the new leader's end can lag its predecessor's for a moment (its high
                // watermark catching up): the end is asked for, and the topic taken for cut short only if it says so too.
                var end = consumer.QueryWatermarkOffsets(payments, TimeSpan.FromSeconds(30), cancellation).High.Value;
                if (end < to) throw EndsBeforePosition(partition, Math.Max(end, record.Offset.Value), to);
                continue;
            }
            if (record.Offset.Value >= to) break;
            engine.Reprocess(record.Message.Value ?? [], record.Offset.Value, record.PublishedAt(), discarded);
            discarded.Clear();
            replayed++;
            if (record.Offset.Value == to - 1) break;
        }
        consumer.Close();
        return (replayed, kept.Low.Value);
    }

    /// <summary>
    /// The position was committed after the payments before it were read, so the partition cannot end before it unless
    /// the payments topic was recreated or cut short: its state no longer belongs to it.
    /// </summary>
    private static InvalidDataException EndsBeforePosition(int partition, long end, long position) =>
        new($"payments partition {partition} ends at offset {end}, before the saved position {position}: the payments topic was " +
            "recreated or cut short; restore from an empty state topic to process it from its start");

    private static ConsumerConfig RestoreConfig(ConsumerConfig baseConfig) => new(new Dictionary<string, string>(baseConfig))
    {
        GroupId = "flowwatch-restore",   // assign() only: no group membership, no commits
        EnableAutoCommit = false,
        AutoOffsetReset = AutoOffsetReset.Earliest,   // a restart point may lie before the log's start (event 1011)
        EnablePartitionEof = true,
        IsolationLevel = IsolationLevel.ReadCommitted,
        ConsumeResultFields = "all",   // a state record's headers name its owner, its last payment and its parts
    };

    private static byte[] PositionValue(Position position)
    {
        var parameters = StateCodec.Encode(position.Parameters);
        var restartParameters = StateCodec.Encode(position.RestartParameters);
        var start = PositionFormat.Length + 3 * sizeof(long);
        var value = new byte[start + parameters.Length + restartParameters.Length];
        PositionFormat.CopyTo(value);
        var numbers = value.AsSpan(PositionFormat.Length);
        BinaryPrimitives.WriteInt64LittleEndian(numbers, position.NextOffset);
        BinaryPrimitives.WriteInt64LittleEndian(numbers[sizeof(long)..], position.RestartPoint);
        BinaryPrimitives.WriteInt64LittleEndian(numbers[(2 * sizeof(long))..], parameters.Length);
        parameters.CopyTo(value, start);
        restartParameters.CopyTo(value, start + parameters.Length);
        return value;
    }

    private static Position ReadPosition(byte[] value, int partition)
    {
        var start = PositionFormat.Length + 3 * sizeof(long);
        if (value.Length < start || !value.AsSpan().StartsWith(PositionFormat))
        {
            // "FWP" and a higher digit: a later FlowWatch wrote it; anything else, one from before these formats were named.
            var later = value.Length >= PositionFormat.Length && value.AsSpan().StartsWith(PositionFormat[..^1]) && value[PositionFormat.Length - 1] > PositionFormat[^1];
            throw new InvalidDataException($"partition {partition} of the state topic holds a position of another format, written by " +
                (later ? "a later FlowWatch: run that version, or restore" : "an earlier FlowWatch: restore") +
                " from a state topic of this format, or from an empty one (the payments are then processed from their start)");
        }
        var numbers = value.AsSpan(PositionFormat.Length);
        var parametersLength = BinaryPrimitives.ReadInt64LittleEndian(numbers[(2 * sizeof(long))..]);
        if (parametersLength < 0 || parametersLength > value.Length - start)
        {
            throw new InvalidDataException($"partition {partition} of the state topic: record '{PositionKey}' cannot be read: its parameters' length {parametersLength} is out of range");
        }
        var nextOffset = BinaryPrimitives.ReadInt64LittleEndian(numbers);
        var restartPoint = BinaryPrimitives.ReadInt64LittleEndian(numbers[sizeof(long)..]);
        // The restart point is a commit boundary at or before the position: one after it would restore ids of payments
        // the worker has yet to process, and pass those payments over as duplicates.
        if (restartPoint < 0 || restartPoint > nextOffset)
        {
            throw new InvalidDataException($"partition {partition} of the state topic: record '{PositionKey}' cannot be read: its restart point " +
                $"{restartPoint} is not between 0 and its next offset {nextOffset}");
        }
        var end = start + (int)parametersLength;
        return Decoded(partition, PositionKey, () => new Position(nextOffset, StateCodec.DecodeParameters(value[start..end]), restartPoint,
            StateCodec.DecodeParameters(value[end..])));
    }

    /// <summary>The number and part of a key of saved ids, <c>I/{number}/{part}</c>; null for any other key.</summary>
    private static (long Number, int Part)? IdsRecord(string key)
    {
        if (!key.StartsWith(IdsPrefix, StringComparison.Ordinal)) return null;
        var slash = key.IndexOf('/', IdsPrefix.Length);
        return slash > 0 && long.TryParse(key.AsSpan(IdsPrefix.Length, slash - IdsPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            && int.TryParse(key.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var part)
            ? (number, part)
            : null;
    }

    private static string IdsKey(long number, int part) => string.Create(CultureInfo.InvariantCulture, $"{IdsPrefix}{number}/{part}");

    /// <summary>A position record to write last.</summary>
    public sealed record PendingRecord(TopicPartition Target, byte[] Value, byte[]? Owner);

    /// <summary>The next payments offset and the parameters in force; the restart point and the parameters in force there.</summary>
    private sealed record Position(long NextOffset, Parameters Parameters, long RestartPoint, Parameters RestartParameters);

    private sealed class Saved
    {
        /// <summary>The newest valid state of each entity, by key, with the last payment it includes.</summary>
        public Dictionary<string, (long Through, byte[] Value)> Entities { get; } = [];

        /// <summary>Entities whose states have had more than one part: the most parts seen.</summary>
        public Dictionary<string, int> Parts { get; } = [];

        /// <summary>The saved ids, by key: the record's number and part, and its bytes.</summary>
        public Dictionary<string, ((long Number, int Part) Record, byte[] Value)> Ids { get; } = [];
        public Position? Position { get; set; }
        public long HighestIdRecord { get; set; } = -1;
    }
}

/// <summary>How the worker writes state: the intervals <see cref="StateBook"/> works with and how many ids one record holds.</summary>
internal sealed record StateWriting(TimeSpan CheckpointInterval, TimeSpan CommitInterval, int IdsPerRecord, int RecordBytes);

/// <summary>What a restore found: the offset to resume from (null: nothing was saved), the payments processed again, and the book of what is saved.</summary>
internal sealed record RestoredPartition(long? ResumeAt, long Replayed, StateBook Book)
{
    /// <summary>Offsets after the saved position that the payments topic deleted before they were read (event 1021): <see cref="ResumeAt"/> is past them.</summary>
    public long DeletedUnread { get; init; }
}
