using FlowWatch.Core.Reference;
using Microsoft.Extensions.Logging;

namespace FlowWatch.Worker.Kafka;

/// <summary>
/// Says (event 1020) which monitored accounts of the reference data in force name a holder without an entity record,
/// and says it again only when that changes: a worker's sessions each read the reference topic afresh, and one
/// restarting in a loop would otherwise say the same at every start. Used by one thread at a time.
/// </summary>
public sealed class HoldersWithoutRecordWarning
{
    private (int Count, string Accounts)? _said;

    public void Say(ILogger log, ReferenceData reference)
    {
        var holders = WorkerLog.HoldersWithoutRecord(reference);
        if (holders == _said) return;
        _said = holders;
        if (holders.Count > 0) WorkerLog.HoldersWithoutRecord(log, holders.Count, holders.Accounts);
    }
}
