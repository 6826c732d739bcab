namespace FlowWatch.Worker.Kafka;

/// <summary>
/// Which checkpoint of one state partition each live saved record belongs to: every entity's newest state, every
/// record of accepted ids still inside the duplicate horizon, and the latest checkpoint itself. A checkpoint's marker
/// must outlive every record of its own that a restore still reads (a restore applies a record only with its marker),
/// and may go once none is left: then the book hands it out for deletion, so that a compacted state topic holds about
/// one record per entity however long the worker runs. Used by the consumer thread only.
/// </summary>
internal sealed class CheckpointBook
{
    private readonly Dictionary<string, long> _entities;
    private readonly List<(long Checkpoint, int NewestDay)> _ids;
    private readonly Dictionary<long, int> _references = [];
    private readonly List<long> _unreferenced = [];
    private long? _latest;

    /// <summary>A book for a state partition with nothing saved.</summary>
    public CheckpointBook()
        : this(1, [], [], null, [])
    {
    }

    /// <param name="next">The number the next checkpoint takes: above every number found in the partition.</param>
    /// <param name="entities">Each entity's newest saved state: the checkpoint it belongs to.</param>
    /// <param name="ids">Each live record of ids: its checkpoint and the newest day of its ids.</param>
    /// <param name="latest">The latest complete checkpoint, if any.</param>
    /// <param name="markers">The checkpoints whose markers are in the partition.</param>
    public CheckpointBook(long next, Dictionary<string, long> entities, List<(long Checkpoint, int NewestDay)> ids, long? latest,
        IEnumerable<long> markers)
    {
        Next = next;
        _entities = entities;
        _ids = ids;
        foreach (var checkpoint in entities.Values) Hold(checkpoint);
        foreach (var (checkpoint, _) in ids) Hold(checkpoint);
        if (latest is { } last) Hold(last);
        _latest = latest;
        // Markers that nothing needs any more, left by a worker that stopped before it deleted them.
        _unreferenced.AddRange(markers.Where(marker => !_references.ContainsKey(marker)));
    }

    /// <summary>The number of the next checkpoint.</summary>
    public long Next { get; private set; }

    /// <summary>Starts the next checkpoint and answers its number.</summary>
    public long Begin() => Next++;

    /// <summary>An entity's state was saved in <paramref name="checkpoint"/>; its previous one is superseded.</summary>
    public void SavedEntity(string entityId, long checkpoint)
    {
        if (_entities.TryGetValue(entityId, out var previous)) Release(previous);
        _entities[entityId] = checkpoint;
        Hold(checkpoint);
    }

    /// <summary>The ids accepted since the previous checkpoint were saved in <paramref name="checkpoint"/>.</summary>
    public void SavedIds(long checkpoint, int newestDay)
    {
        _ids.Add((checkpoint, newestDay));
        Hold(checkpoint);
    }

    /// <summary>Removes and answers the checkpoints whose saved ids are all forgotten by now, so their records can be deleted.</summary>
    public List<long> ExpireIds(Func<int, bool> forgotten)
    {
        var expired = new List<long>();
        _ids.RemoveAll(record =>
        {
            if (!forgotten(record.NewestDay)) return false;
            expired.Add(record.Checkpoint);
            return true;
        });
        foreach (var checkpoint in expired) Release(checkpoint);
        return expired;
    }

    /// <summary>
    /// Makes <paramref name="checkpoint"/> the latest and answers the earlier checkpoints that no saved record needs
    /// any more: their markers are to be deleted in the same transaction.
    /// </summary>
    public List<long> Complete(long checkpoint)
    {
        Hold(checkpoint);
        if (_latest is { } previous) Release(previous);
        _latest = checkpoint;
        var unreferenced = new List<long>(_unreferenced);
        _unreferenced.Clear();
        return unreferenced;
    }

    /// <summary>How many records (and the latest mark) keep each checkpoint's marker alive.</summary>
    internal IReadOnlyDictionary<long, int> References => _references;

    private void Hold(long checkpoint) => _references[checkpoint] = _references.GetValueOrDefault(checkpoint) + 1;

    private void Release(long checkpoint)
    {
        if (--_references[checkpoint] > 0) return;
        _references.Remove(checkpoint);
        _unreferenced.Add(checkpoint);
    }
}
