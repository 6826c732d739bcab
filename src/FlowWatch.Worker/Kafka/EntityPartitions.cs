using System.Collections.Concurrent;
using FlowWatch.Core.Engine;
using Microsoft.Extensions.Logging;

namespace FlowWatch.Worker.Kafka;

/// <summary>
/// Which of this worker's partitions hold each entity, to see an entity whose payments reach two of them. State is
/// per partition, so such an entity's quota, windows and counts are split between two engines, each judging only its
/// share: an entity could move twice its penetration cap unflagged. Producers must key payments so that this never
/// happens (README); a producer keying by account, for an entity with two accounts, does it for every such entity.
/// Only partitions owned by this worker are compared (other workers' are out of sight), which catches such a producer
/// as soon as one worker owns two of the partitions involved. Thread-safe: the partitions' pipelines call it as they run.
/// </summary>
internal sealed class EntityPartitions(ILogger log)
{
    /// <summary>Most entities named in the log, so that a producer splitting every entity logs a bounded number of lines.</summary>
    private const int MaxLogged = 32;

    /// <summary>The partitions of this worker holding each entity: one, unless the entity is split.</summary>
    private readonly ConcurrentDictionary<string, int[]> _holders = new(StringComparer.Ordinal);

    /// <summary>Entities found split, each once however often its partitions are given up and taken again.</summary>
    private readonly ConcurrentDictionary<string, byte> _split = new(StringComparer.Ordinal);

    /// <summary>Entities this worker has found with payments in two of its partitions since it started.</summary>
    public long Split => _split.Count;

    /// <summary>Takes note of every entity a partition's engine holds, after its restore.</summary>
    public void HoldAll(FlowEngine engine, int partition)
    {
        foreach (var entity in engine.Entities) Hold(entity.EntityId, partition);
    }

    /// <summary>Takes note that a partition holds an entity, and says so once when another partition of this worker holds it too.</summary>
    public void Hold(string entityId, int partition)
    {
        var holders = _holders.AddOrUpdate(entityId, static (_, p) => [p], static (_, held, p) => held.Contains(p) ? held : [.. held, p], partition);
        if (holders.Length < 2 || !_split.TryAdd(entityId, 0)) return;
        if (_split.Count <= MaxLogged) WorkerLog.EntityInTwoPartitions(log, entityId, holders.First(p => p != partition), partition);
    }

    /// <summary>Forgets what a partition this worker no longer owns held; the other partitions' holdings stay.</summary>
    public void Release(int partition)
    {
        foreach (var (entityId, _) in _holders)
        {
            while (_holders.TryGetValue(entityId, out var held) && held.Contains(partition))
            {
                var done = held.Length == 1
                    ? _holders.TryRemove(KeyValuePair.Create(entityId, held))
                    : _holders.TryUpdate(entityId, [.. held.Where(p => p != partition)], held);
                if (done) break;
            }
        }
    }
}
