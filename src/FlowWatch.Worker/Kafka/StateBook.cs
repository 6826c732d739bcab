using FlowWatch.Core.Engine;
using FlowWatch.Core.Reference;

namespace FlowWatch.Worker.Kafka;

/// <summary>
/// What of one partition's engine state is saved in the state topic and what is not yet (DESIGN.md §4). An entity is
/// saved a <c>CheckpointInterval</c> after its first change since its last save: busy entities are saved about once
/// an interval, and since entities change at different moments their saves spread over the commits instead of
/// coming all at once. Accepted ids are saved together, every interval. From this the book knows the restart point:
/// the commit boundary from which a restore processes payments again so that every unsaved change is redone, and
/// the parameters in force there. Used by the consumer thread only.
/// </summary>
internal sealed class StateBook
{
    /// <summary>Fewest entity states a commit saves when that many are due.</summary>
    private const int MinSavesPerCommit = 16;

    /// <summary>Entities changed since their last save: the commit boundary before their first unsaved change.</summary>
    private readonly Dictionary<string, long> _dirtySince = [];

    /// <summary>Changed entities in the order they first changed, with when (wall clock); stale once saved.</summary>
    private readonly Queue<(EntityState Entity, long Since, DateTime At)> _dirty = new();
    private List<TxnIdRecord> _unsavedIds = [];

    /// <summary>The ids last handed out to be saved; cleared and filled again once the next ids are handed out.</summary>
    private List<TxnIdRecord> _handedOutIds = [];

    /// <summary>What the engine changed and accepted since the last commit (<see cref="TakeChanges"/>); reused.</summary>
    private readonly List<EntityState> _changed = [];
    private readonly List<TxnIdRecord> _accepted = [];

    /// <summary>The entities a commit answers as due; reused, so that commits allocate nothing once it has grown.</summary>
    private readonly List<EntityState> _due = [];
    private readonly List<(long Number, int Parts, int NewestDay)> _idRecords;

    /// <summary>Entities whose saved state has more than one part: how many (<see cref="StateStore"/>).</summary>
    private readonly Dictionary<string, int> _parts = [];

    /// <summary>
    /// Parameters in force at each commit from the restart point on, oldest first (from <see cref="_parametersHead"/>).
    /// Of commits at the same boundary the last counts: a change between them applies to the records after it.
    /// </summary>
    private readonly List<(long Boundary, Parameters Parameters)> _parameters = [];
    private int _parametersHead;
    private long _idsSavedThrough;
    private long _savedThrough;
    private long _boundary;
    private DateTime _nextIdSave = DateTime.MinValue;

    /// <summary>Per record of ids found all forgotten and not deleted yet: the boundary of the commit that found it so.</summary>
    private readonly Dictionary<long, long> _forgottenAt = [];

    /// <param name="boundary">The offset processing resumes at.</param>
    /// <param name="parameters">The parameters in force there.</param>
    /// <param name="idRecords">The saved records of ids, by number: how many parts, the newest day of their ids.</param>
    /// <param name="nextIdRecord">The number the next record of ids takes: above every number in the partition.</param>
    public StateBook(long boundary, Parameters parameters, List<(long Number, int Parts, int NewestDay)> idRecords, long nextIdRecord)
    {
        _boundary = boundary;
        _idsSavedThrough = boundary;
        _savedThrough = boundary;
        _parameters.Add((boundary, parameters));
        _idRecords = idRecords;
        NextIdRecord = nextIdRecord;
    }

    public long NextIdRecord { get; private set; }

    /// <summary>The owner id of the claim this worker made on the partition (<see cref="StateStore.ClaimPartition"/>); null without one.</summary>
    public byte[]? Owner { get; init; }

    /// <summary>How many parts the entity's saved state has (1 for a state in one record).</summary>
    public int PartsOf(string entityId) => _parts.GetValueOrDefault(entityId, 1);

    /// <summary>The entity's state was saved in <paramref name="parts"/> parts.</summary>
    public void SavedParts(string entityId, int parts)
    {
        if (parts > 1) _parts[entityId] = parts;
        else _parts.Remove(entityId);
    }

    /// <summary>The restart point of the latest commit; read from any thread.</summary>
    public long SavedThrough => Volatile.Read(ref _savedThrough);

    /// <summary>When the next save falls due, with no new records: the oldest unsaved change waits <paramref name="interval"/>.</summary>
    public DateTime NextDue(TimeSpan interval)
    {
        var due = _unsavedIds.Count > 0 ? _nextIdSave : DateTime.MaxValue;
        while (_dirty.TryPeek(out var oldest))
        {
            if (_dirtySince.TryGetValue(oldest.Entity.EntityId, out var since) && since == oldest.Since) return Min(due, oldest.At + interval);
            _dirty.Dequeue();
        }
        return due;
    }

    private static DateTime Min(DateTime a, DateTime b) => a < b ? a : b;

    /// <summary>
    /// What a restore processed again from <paramref name="restartPoint"/> (under <paramref name="parameters"/>) up to
    /// the boundary: it changed these entities and accepted these ids, none of it saved.
    /// </summary>
    public void Replayed(long restartPoint, Parameters parameters, IEnumerable<EntityState> entities, IEnumerable<TxnIdRecord> ids)
    {
        if (restartPoint >= _boundary) return;
        _parameters.Insert(_parametersHead, (restartPoint, parameters));
        _idsSavedThrough = restartPoint;
        _unsavedIds.AddRange(ids);
        foreach (var entity in entities) MarkChanged(entity, restartPoint, DateTime.MinValue);
    }

    /// <summary>
    /// Takes from <paramref name="engine"/> the entities it changed and the ids it accepted since it was last asked, for
    /// <see cref="Commit"/>. The lists are the book's own: valid until the next call.
    /// </summary>
    public (IReadOnlyList<EntityState> Changed, IReadOnlyList<TxnIdRecord> Accepted) TakeChanges(FlowEngine engine)
    {
        _changed.Clear();
        _accepted.Clear();
        engine.TakeChanges(_changed, _accepted);
        return (_changed, _accepted);
    }

    /// <summary>
    /// Books a commit at <paramref name="boundary"/> (the next offset) of what changed since the previous one, and
    /// answers what to save now: the entities that have waited an <paramref name="interval"/> since their first
    /// unsaved change, oldest first, and the ids accepted since the last save when an interval has passed since it.
    /// With <paramref name="all"/>, everything. Commits come every <paramref name="commitInterval"/>: one saves at most
    /// twice its share of the unsaved entities, so that entities which first changed together (at start, after a
    /// restore, after a lull) are saved over several commits instead of in one large one. The lists answered are the
    /// book's own: valid until the next commit.
    /// </summary>
    public (IReadOnlyList<EntityState> Entities, List<TxnIdRecord>? Ids) Commit(long boundary, Parameters parameters, IEnumerable<EntityState> changed,
        IEnumerable<TxnIdRecord> accepted, DateTime now, TimeSpan interval, TimeSpan commitInterval, bool all)
    {
        foreach (var entity in changed) MarkChanged(entity, _boundary, now);
        _unsavedIds.AddRange(accepted);
        _boundary = boundary;
        _parameters.Add((boundary, parameters));

        var due = _due;
        due.Clear();
        var limit = all ? int.MaxValue : Math.Max(MinSavesPerCommit, (int)Math.Ceiling(2.0 * _dirtySince.Count * commitInterval.Ticks / interval.Ticks));
        while (due.Count < limit && _dirty.TryPeek(out var next) && (all || next.At + interval <= now))
        {
            _dirty.Dequeue();
            // A stale place in the queue: the entity was saved since, and may have changed again later.
            if (!_dirtySince.TryGetValue(next.Entity.EntityId, out var since) || since != next.Since) continue;
            _dirtySince.Remove(next.Entity.EntityId);
            due.Add(next.Entity);
        }
        List<TxnIdRecord>? ids = null;
        if (all || now >= _nextIdSave)
        {
            // Handed out whole; the next ids go to the list handed out last time, written by now.
            ids = _unsavedIds;
            _unsavedIds = _handedOutIds;
            _unsavedIds.Clear();
            _handedOutIds = ids;
            _idsSavedThrough = boundary;
            _nextIdSave = now + interval;
        }
        return (due, ids);
    }

    /// <summary>Books a record of ids saved in <paramref name="parts"/> parts and answers its number.</summary>
    public long SavedIds(int parts, int newestDay)
    {
        var number = NextIdRecord++;
        _idRecords.Add((number, parts, newestDay));
        return number;
    }

    /// <summary>
    /// Removes and answers the records of ids that are all forgotten by now, so that they can be deleted, once the
    /// restart point has reached the commit that first found them forgotten. A restore processes the payments after the
    /// restart point again, and one of them may have been refused as a repeat of an id such a record holds: deleted
    /// sooner, the record would be missing from the restore, and the repeat accepted.
    /// </summary>
    public List<(long Number, int Parts)> ExpireIds(Func<int, bool> forgotten)
    {
        var expired = new List<(long Number, int Parts)>();
        var restartPoint = RestartPoint().Offset;
        _idRecords.RemoveAll(record =>
        {
            if (!forgotten(record.NewestDay)) return false;
            if (!_forgottenAt.TryGetValue(record.Number, out var at)) _forgottenAt[record.Number] = at = _boundary;
            if (restartPoint < at) return false;
            _forgottenAt.Remove(record.Number);
            expired.Add((record.Number, record.Parts));
            return true;
        });
        return expired;
    }

    /// <summary>
    /// The restart point after the latest commit: every change before it is saved (each entity's, each id), and the
    /// parameters in force there.
    /// </summary>
    public (long Offset, Parameters Parameters) RestartPoint()
    {
        var point = _idsSavedThrough;
        while (_dirty.TryPeek(out var oldest))
        {
            if (_dirtySince.TryGetValue(oldest.Entity.EntityId, out var since) && since == oldest.Since)
            {
                point = Math.Min(point, since);
                break;
            }
            _dirty.Dequeue();
        }
        // Boundaries only grow, and so does the restart point, which is always one of them: older ones are not needed.
        while (_parametersHead + 1 < _parameters.Count && _parameters[_parametersHead + 1].Boundary <= point) _parametersHead++;
        if (_parametersHead > 1024)
        {
            _parameters.RemoveRange(0, _parametersHead);
            _parametersHead = 0;
        }
        var (boundary, parameters) = _parameters[_parametersHead];
        if (boundary != point) throw new InvalidOperationException($"restart point {point} is not a commit boundary (oldest kept: {boundary})");
        Volatile.Write(ref _savedThrough, point);
        return (point, parameters);
    }

    private void MarkChanged(EntityState entity, long since, DateTime at)
    {
        if (!_dirtySince.TryAdd(entity.EntityId, since)) return;
        _dirty.Enqueue((entity, since, at));
    }
}
