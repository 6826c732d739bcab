using FlowWatch.Core.Contracts;
using FlowWatch.Core.Reference;
using Microsoft.Extensions.Logging;

namespace FlowWatch.Worker.Kafka;

/// <summary>
/// Says (event 1020) which monitored accounts of the reference data in force name a holder without an entity record,
/// and says it again only when that changes: a worker's sessions each read the reference topic afresh, and one
/// restarting in a loop would otherwise say the same at every start. A host that reads reference data once says it
/// through an instance of its own. Used by one thread at a time.
/// </summary>
public sealed class HoldersWithoutRecordWarning
{
    /// <summary>Accounts named in the warning; more are counted.</summary>
    private const int Named = 10;

    private (int Count, string Accounts)? _said;

    public void Say(ILogger log, ReferenceData reference)
    {
        var holders = Describe(reference);
        if (holders == _said) return;
        _said = holders;
        if (holders.Count > 0) WorkerLog.HoldersWithoutRecord(log, holders.Count, holders.Accounts);
    }

    /// <summary>How many monitored accounts name a holder without a record, and the first of them, masked, with their holders.</summary>
    private static (int Count, string Accounts) Describe(ReferenceData reference)
    {
        var accounts = reference.MonitoredAccountsWithoutHolderRecord().ToList();
        var named = string.Join(", ", accounts.Take(Named).Select(a => $"{AccountMask.Mask(a.Account)} of '{a.EntityId}'"));
        return (accounts.Count, accounts.Count > Named ? $"{named} and {accounts.Count - Named} more" : named);
    }
}
