using FlowWatch.Core.Contracts;
using FlowWatch.Core.Reference;

namespace FlowWatch.Core.Engine;

/// <summary>
/// Completes a decoded event from reference data (DESIGN.md §3.1) and classifies it (RULES.md §1): account kind,
/// holder, counterparty holder, customer type, channel, large-value category, currency class and equivalents.
/// </summary>
public static class EventResolver
{
    /// <summary>
    /// The event times accepted (UTC ticks): 1970-01-01T00:00:00Z to 2105-12-31T23:59:59.9999999 in Shanghai. The
    /// aggregate tables' times (ClickHouse <c>DateTime</c>) hold 1970 to early 2106, and a day's 24-hour windows and
    /// silences stay inside the calendar.
    /// </summary>
    public static readonly long EarliestTs = DateTime.UnixEpoch.Ticks;

    /// <inheritdoc cref="EarliestTs"/>
    public static readonly long LatestTs = new DateTime(2106, 1, 1).Ticks - ShanghaiTime.OffsetTicks - 1;

    /// <summary>The span of <see cref="EarliestTs"/> to <see cref="LatestTs"/> as refusals name it.</summary>
    public const string TimeSpanText = "1970-01-01T00:00:00Z to 2105-12-31T23:59:59.9999999+08:00";

    public static bool TryResolve(ref PaymentEvent e, ReferenceData reference, out string? reason) =>
        TryResolve(ref e, reference, null, out reason);

    /// <summary>Resolves with the lookups an engine keeps (<paramref name="memo"/>, in use for <paramref name="reference"/>).</summary>
    internal static bool TryResolve(ref PaymentEvent e, ReferenceData reference, ReferenceMemo? memo, out string? reason)
    {
        if (e.TimestampTicks < EarliestTs || e.TimestampTicks > LatestTs)
        {
            reason = $"ts: outside {TimeSpanText}, the span FlowWatch's calendar and aggregate tables hold";
            return false;
        }
        var accountInfo = AccountOf(e.Account, e.AccountSymbol, reference, memo);
        if (e.AccountKind == AccountKind.None)
        {
            e.AccountKind = accountInfo?.Kind ?? AccountKinds.FromAccountPrefix(e.Account);
            if (e.AccountKind == AccountKind.None)
            {
                reason = "accountKind: not given, account not in reference data, and the account prefix names no kind";
                return false;
            }
        }
        e.EntityId ??= accountInfo?.EntityId;
        if (e.EntityId is null)
        {
            reason = "entityId: not given and the account is not in reference data";
            return false;
        }
        var cpAccountInfo = e.CpAccount is null ? null : AccountOf(e.CpAccount, e.CpAccountSymbol, reference, memo);
        e.CpEntityId ??= cpAccountInfo?.EntityId;
        if (!reference.TryGetRate(e.Currency, out var rate))
        {
            reason = "currency: not CNY and not in reference fxRates";
            return false;
        }

        var accountClass = AccountKinds.ClassOf(e.AccountKind);
        if (accountClass == AccountClass.Offshore)
        {
            reason = "accountKind: an OFFSHORE account is held abroad and cannot be the monitored account";
            return false;
        }
        e.Channel = ChannelOf(accountClass, AccountKinds.ClassOf(e.CpKind), string.Equals(e.CpEntityId, e.EntityId, StringComparison.Ordinal));
        e.Holder = HolderOf(e.EntityId, e.AccountSymbol, reference, memo);
        e.CpHolder = e.CpEntityId is null ? null
            : string.Equals(e.CpEntityId, e.EntityId, StringComparison.Ordinal) ? e.Holder
            : HolderOf(e.CpEntityId, e.CpAccountSymbol, reference, memo);
        e.InvolvesSanctionedParty = e.Holder?.Sanctioned == true || e.CpHolder?.Sanctioned == true
            || (e.CpName is not null && IsSanctionedName(e.CpName, e.CpNameSymbol, reference, memo))
            || OwnedBySanctionedEntity(accountInfo, e.EntityId, reference) || OwnedBySanctionedEntity(cpAccountInfo, e.CpEntityId, reference);
        // An event may name its own entity and kind (DESIGN.md §3.1); one that contradicts the bank's reference data is
        // counted, for a supervisor to see (a payment booked to another entity moves another quota).
        e.ContradictsReference = (accountInfo is not null && (!string.Equals(accountInfo.EntityId, e.EntityId, StringComparison.Ordinal) || accountInfo.Kind != e.AccountKind))
            || (cpAccountInfo is not null && !string.Equals(cpAccountInfo.EntityId, e.CpEntityId, StringComparison.Ordinal));
        e.CustomerType = e.Holder?.Type ?? AccountKinds.DefaultCustomerType(e.AccountKind);
        e.Category = e.Method == PaymentMethod.Cash ? LargeValueCategory.Cash
            : e.CustomerType != CustomerType.Individual ? LargeValueCategory.NonIndividualTransfer
            : e.Channel == Channel.Domestic ? LargeValueCategory.IndividualDomestic
            : LargeValueCategory.IndividualCrossBorder;
        e.CurrencyClass = string.Equals(e.Currency, ReferenceData.Cny, StringComparison.Ordinal) ? CurrencyClass.Cny : CurrencyClass.Fx;
        e.UsdRate = reference.UsdRate;
        if (e.CurrencyClass == CurrencyClass.Cny)
        {
            e.AmountCny = e.Amount;
        }
        else
        {
            e.AmountCny = e.Amount * rate;
            e.FxAmountUsd = e.AmountCny / reference.UsdRate;
        }
        reason = null;
        return true;
    }

    /// <summary>
    /// Whether reference data gives the account to a sanctioned entity other than the one the event names: money through
    /// a sanctioned entity's account involves it, whatever entity the event names (SEMANTICS.md, Resolution).
    /// </summary>
    internal static bool OwnedBySanctionedEntity(AccountInfo? account, string? named, ReferenceData reference) =>
        account is not null && !string.Equals(account.EntityId, named, StringComparison.Ordinal)
        && reference.Entities.GetValueOrDefault(account.EntityId)?.Sanctioned == true;

    private static AccountInfo? AccountOf(string account, int symbol, ReferenceData reference, ReferenceMemo? memo)
    {
        if (memo is null || symbol == 0) return reference.Accounts.GetValueOrDefault(account);
        ref var slot = ref memo[symbol];
        if (!slot.AccountKnown)
        {
            slot.Account = reference.Accounts.GetValueOrDefault(account);
            slot.AccountKnown = true;
        }
        return slot.Account;
    }

    /// <summary>The reference record of the entity of an event's account (or counterparty account, by its symbol).</summary>
    private static EntityInfo? HolderOf(string entityId, int accountSymbol, ReferenceData reference, ReferenceMemo? memo)
    {
        if (memo is null || accountSymbol == 0) return reference.Entities.GetValueOrDefault(entityId);
        ref var slot = ref memo[accountSymbol];
        if (string.Equals(slot.EntityId, entityId, StringComparison.Ordinal)) return slot.Holder;   // the reference first
        // A different entity than last time (an event may name its own): what was kept was another entity's.
        slot.EntityId = entityId;
        slot.Holder = reference.Entities.GetValueOrDefault(entityId);
        slot.State = null;
        return slot.Holder;
    }

    private static bool IsSanctionedName(string name, int symbol, ReferenceData reference, ReferenceMemo? memo)
    {
        if (reference.SanctionedNames.Count == 0) return false;
        if (memo is null || symbol == 0) return reference.SanctionedNames.Contains(PartyNames.Normalise(name));
        ref var slot = ref memo[symbol];
        if (slot.NameSanctioned == 0) slot.NameSanctioned = reference.SanctionedNames.Contains(PartyNames.Normalise(name)) ? (byte)2 : (byte)1;
        return slot.NameSanctioned == 2;
    }

    /// <summary>RULES.md §1, channel table.</summary>
    public static Channel ChannelOf(AccountClass account, AccountClass counterparty, bool sameEntity) => account switch
    {
        AccountClass.Zone when counterparty != AccountClass.Domestic => Channel.FirstLine,
        AccountClass.Zone => sameEntity ? Channel.SecondLineSameName : Channel.SecondLine,
        AccountClass.Domestic when counterparty == AccountClass.Domestic => Channel.Domestic,
        _ => Channel.CrossBorder,
    };
}
