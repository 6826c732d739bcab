using System.Collections.Concurrent;
using FlowWatch.Core.Engine;
using Microsoft.Extensions.Logging;

namespace FlowWatch.Worker.Kafka;

/// <summary>
/// Which of this worker's partitions holds each entity, to see an entity whose payments reach two of them. State is
/// per partition, so such an entity's quota, windows and counts are split between two engines, each judging only its
/// share: an entity could move twice its penetration cap unflagged. Producers must key payments so that this never
/// happens (README); a producer keying by account, for an entity with two accounts, does it for every such entity.
/// Only partitions owned by this worker are compared (other workers' are out of sight), which catches such a producer
/// as soon as one worker owns two of the partitions involved. Thread-safe: the partitions' engines call it as they run.
/// </summary>
internal sealed class EntityPartitions(ILogger log)
{
    /// <summary>Most entities named in the log, so that a producer splitting every entity logs a bounded number of lines.</summary>
    private const int MaxLogged = 32;

    private readonly ConcurrentDictionary<string, int> _owners = new(StringComparer.Ordinal);
    private long _split;

    /// <summary>Entities met in two of this worker's partitions at once since it started.</summary>
    public long Split => Interlocked.Read(ref _split);

    /// <summary>Takes note of every entity a partition's engine holds (after its restore), and of each it meets from then on.</summary>
    public void Watch(FlowEngine engine, int partition)
    {
        foreach (var entity in engine.Entities) Own(entity.EntityId, partition);
        engine.OnEntityMet(entityId => Own(entityId, partition));
    }

    /// <summary>Forgets the entities of a partition this worker no longer owns.</summary>
    public void Release(int partition)
    {
        foreach (var (entityId, owner) in _owners)
        {
            if (owner == partition) _owners.TryRemove(KeyValuePair.Create(entityId, owner));
        }
    }

    private void Own(string entityId, int partition)
    {
        var owner = _owners.GetOrAdd(entityId, partition);
        if (owner == partition) return;
        if (Interlocked.Increment(ref _split) <= MaxLogged) WorkerLog.EntityInTwoPartitions(log, entityId, owner, partition);
    }
}
