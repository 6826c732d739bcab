using System.Collections.Frozen;

namespace FlowWatch.Core.Engine;

/// <summary>Rule codes of RULES.md §2, in the order the engine evaluates them (and so the order of alerts per event).</summary>
public static class RuleCodes
{
    public const string CashOnZoneAccount = "CASH_ON_ZONE_ACCOUNT";
    public const string SecondLineNonCny = "SECOND_LINE_NON_CNY";
    public const string NonSameNameNotGoods = "NON_SAME_NAME_NOT_GOODS";
    public const string PenetrationNegativeList = "PENETRATION_NEGATIVE_LIST";
    public const string PenetrationCapWarn = "PENETRATION_CAP_WARN";
    public const string PenetrationCapBreach = "PENETRATION_CAP_BREACH";
    public const string PenetrationNoQuota = "PENETRATION_NO_QUOTA";
    public const string ServicesTaxFiling = "SERVICES_TAX_FILING";
    public const string EffPurpose = "EFF_PURPOSE";
    public const string SanctionedParty = "SANCTIONED_PARTY";
    public const string HighRiskJurisdiction = "HIGH_RISK_JURISDICTION";
    public const string WhitelistRequired = "WHITELIST_REQUIRED";
    public const string LargeValueReport = "LARGE_VALUE_REPORT";
    public const string Structuring = "STRUCTURING";
    public const string RapidPassThrough = "RAPID_PASS_THROUGH";
    public const string FanIn = "FAN_IN";
    public const string FanOut = "FAN_OUT";
    public const string DormantReactivation = "DORMANT_REACTIVATION";
    public const string HighFrequency = "HIGH_FREQUENCY";
    public const string AmountAnomaly = "AMOUNT_ANOMALY";
    public const string MlAnomaly = "ML_ANOMALY";

    private static readonly FrozenDictionary<string, string[]> ReferencesByRule = new Dictionary<string, string[]>
    {
        [CashOnZoneAccount] = ["Hengqin Art.13", "Tianjin Art.8"],
        [SecondLineNonCny] = ["Hengqin Art.15", "Hengqin Art.18"],
        [NonSameNameNotGoods] = ["Hengqin Art.17"],
        [PenetrationNegativeList] = ["Hengqin Art.18(1)"],
        [PenetrationCapWarn] = ["Hengqin Art.18(2)"],
        [PenetrationCapBreach] = ["Hengqin Art.18(2)"],
        [PenetrationNoQuota] = ["Hengqin Art.18(2)"],
        [ServicesTaxFiling] = ["Hengqin Art.16"],
        [EffPurpose] = ["Hengqin Art.19"],
        [SanctionedParty] = ["Hengqin Art.8", "Hengqin Art.22"],
        [HighRiskJurisdiction] = ["Hengqin Art.7", "Hengqin Art.8"],
        [WhitelistRequired] = ["Qinzhou tasks 3 and 5"],
        [LargeValueReport] = ["PBOC Order [2016] No.3 Art.5"],
        [Structuring] = ["PBOC suspicious-transaction indicators", "Hengqin Art.18 (large and high-frequency flows)"],
        [RapidPassThrough] = ["PBOC suspicious-transaction indicators (rapid in, rapid out)", "Western land-sea corridor opinion §21"],
        [FanIn] = ["PBOC suspicious-transaction indicators (dispersed in, concentrated out)"],
        [FanOut] = ["PBOC suspicious-transaction indicators (dispersed in, concentrated out)"],
        [DormantReactivation] = ["PBOC suspicious-transaction indicators (dormant account reactivated)"],
        [HighFrequency] = ["Hengqin Art.18 (large and high-frequency flows)", "PBOC suspicious-transaction indicators"],
        [AmountAnomaly] = ["Hengqin Art.18 (large and high-frequency flows)", "PBOC suspicious-transaction indicators"],
        [MlAnomaly] = ["Hengqin Art.18 (large and high-frequency flows)", "PBOC suspicious-transaction indicators"],
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>Every exact rule code (RULES.md §2), in evaluation order.</summary>
    public static IReadOnlyList<string> All { get; } =
    [
        CashOnZoneAccount, SecondLineNonCny, NonSameNameNotGoods, PenetrationNegativeList, PenetrationCapWarn,
        PenetrationCapBreach, PenetrationNoQuota, ServicesTaxFiling, EffPurpose, SanctionedParty, HighRiskJurisdiction,
        WhitelistRequired, LargeValueReport, Structuring, RapidPassThrough, FanIn, FanOut, DormantReactivation,
    ];

    /// <summary>The scored rules of RULES.md §6, evaluated after the exact ones, in this order.</summary>
    public static IReadOnlyList<string> Scored { get; } = [HighFrequency, AmountAnomaly, MlAnomaly];

    /// <summary>Every rule, exact then scored: the order in which the engine evaluates them.</summary>
    public static IReadOnlyList<string> InOrder { get; } = [.. All, .. Scored];

    /// <summary>How many rules the engine evaluates.</summary>
    public static int Count => InOrder.Count;

    private static readonly FrozenDictionary<string, int> Order =
        InOrder.Select((rule, index) => (rule, index)).ToFrozenDictionary(p => p.rule, p => p.index, StringComparer.Ordinal);

    /// <summary>Position of a rule in evaluation order; unknown rules sort last.</summary>
    public static int OrderOf(string rule) => Order.TryGetValue(rule, out var index) ? index : int.MaxValue;

    /// <summary>The regulation behind a rule, carried in every alert's <c>refs</c>.</summary>
    public static IReadOnlyList<string> References(string rule) => ReferencesByRule.TryGetValue(rule, out var refs) ? refs : [];
}
