using FlowWatch.Core.Contracts;
using FlowWatch.Core.Reference;

namespace FlowWatch.Core.Engine;

/// <summary>
/// Completes a decoded event from reference data (DESIGN.md §3.1) and classifies it (RULES.md §1): account kind,
/// holder, counterparty holder, customer type, channel, large-value category, currency class and equivalents.
/// </summary>
public static class EventResolver
{
    public static bool TryResolve(ref PaymentEvent e, ReferenceData reference, out string? reason)
    {
        reference.Accounts.TryGetValue(e.Account, out var accountInfo);
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
        if (e.CpEntityId is null && e.CpAccount is not null && reference.Accounts.TryGetValue(e.CpAccount, out var cpInfo))
        {
            e.CpEntityId = cpInfo.EntityId;
        }
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
        e.Holder = reference.Entities.GetValueOrDefault(e.EntityId);
        e.CpHolder = e.CpEntityId is null ? null
            : string.Equals(e.CpEntityId, e.EntityId, StringComparison.Ordinal) ? e.Holder
            : reference.Entities.GetValueOrDefault(e.CpEntityId);
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

    /// <summary>RULES.md §1, channel table.</summary>
    public static Channel ChannelOf(AccountClass account, AccountClass counterparty, bool sameEntity) => account switch
    {
        AccountClass.Zone when counterparty != AccountClass.Domestic => Channel.FirstLine,
        AccountClass.Zone => sameEntity ? Channel.SecondLineSameName : Channel.SecondLine,
        AccountClass.Domestic when counterparty == AccountClass.Domestic => Channel.Domestic,
        _ => Channel.CrossBorder,
    };
}
