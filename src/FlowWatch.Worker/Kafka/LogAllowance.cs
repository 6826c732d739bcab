namespace FlowWatch.Worker.Kafka;

/// <summary>
/// How many more lines of one kind may be logged: kept by the worker per partition, so that a partition given up and
/// taken again (a rebalance, a session restarted after a Kafka error) does not start its count afresh, and a worker
/// restarting in a loop does not flood the log. Used by one thread at a time (the partition's pipeline; the next
/// pipeline of the partition starts after the last one stopped).
/// </summary>
internal sealed class LogAllowance(int lines)
{
    private int _logged;

    /// <summary>Takes one line, if any is left; <paramref name="last"/> says it is the last one.</summary>
    public bool TryTake(out bool last)
    {
        last = _logged + 1 == lines;
        if (_logged >= lines) return false;
        _logged++;
        return true;
    }
}
