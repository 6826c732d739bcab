namespace FlowWatch.Simulator;

/// <summary>
/// Compliance breaches (<see cref="SimulationOptions.BreachRate"/>): payments that break one of RULES.md §2's rules
/// each, among the usual traffic, and EFE companies without their equity on file, whose same-name payments have no
/// quota (PENETRATION_NO_QUOTA). They are drawn from a random sequence of their own, so that a simulation without them
/// is, byte for byte, the one it was before they existed: the traffic the models learn from.
/// </summary>
public sealed partial class LabelledSimulation
{
    /// <summary>
    /// The rules a breach payment breaks, one each (RULES.md §2); a cap breach is also a large-value payment, and leaves
    /// its company over its cap, so that its later same-name payments into the territory breach it too.
    /// </summary>
    public static IReadOnlyList<string> BreachRules { get; } =
    [
        "CASH_ON_ZONE_ACCOUNT", "SECOND_LINE_NON_CNY", "NON_SAME_NAME_NOT_GOODS", "PENETRATION_NEGATIVE_LIST", "EFF_PURPOSE",
        "SANCTIONED_PARTY", "WHITELIST_REQUIRED", "HIGH_RISK_JURISDICTION", "PENETRATION_CAP_BREACH", "PENETRATION_NO_QUOTA",
    ];

    /// <summary>Ways the sanctioned counterparty's name is written; each is the reference list's name once normalised.</summary>
    private static readonly string[] SanctionedNames = ["Blue Lotus Trading", "BLUE LOTUS TRADING", "Blue Lotus Trading.", "Blue  Lotus  Trading"];

    private readonly List<Episode> _breaches = [];

    /// <summary>
    /// The breach payments, in the order they were made, each labelled as an episode of one payment whose typology is
    /// the rule it breaks; the same-name payments of companies without equity on file among them.
    /// </summary>
    public IReadOnlyList<Episode> Breaches => _breaches;

    /// <summary>
    /// A random sequence for the breaches alone, so that they leave the usual traffic as it is: a fixed mix of the seed,
    /// the stream and <paramref name="salt"/> (HashCode's would differ from one process to the next).
    /// </summary>
    private Random BreachRandom(ulong stream, long salt = 0)
    {
        var mixed = (ulong)_options.Seed * 0x9E3779B97F4A7C15UL ^ stream * 0xBF58476D1CE4E5B9UL ^ (ulong)salt * 0x94D049BB133111EBUL;
        mixed ^= mixed >> 31;
        return new Random(unchecked((int)mixed));
    }

    /// <summary>
    /// One EFE company in ten (at least one) has no equity on file: a company in its first year. Chosen from the seed
    /// alone, so that the days a demo simulates after its first keep the companies its reference data names.
    /// </summary>
    private void WithoutEquityOnFile()
    {
        var random = BreachRandom(0);
        var companies = _profiles.Where(p => p.Kind == "EFE" && p.Equity is not null).ToList();
        var count = Math.Max(1, companies.Count / 10);
        foreach (var profile in companies.OrderBy(_ => random.Next()).Take(count)) profile.Equity = null;
    }

    /// <summary>
    /// About <see cref="SimulationOptions.BreachRate"/> of the usual payments again as breaches, each rule in turn, at most
    /// one an entity and day, none on an entity of an episode (whose alerts the breach would take or add to). Each round
    /// of days (their start) draws its own.
    /// </summary>
    private void AddBreaches(int usualPayments)
    {
        var random = BreachRandom(1, _options.Start.UtcTicks);
        var count = (int)Math.Round(usualPayments * _options.BreachRate);
        var taken = new HashSet<(int Entity, int Day)>();
        // A company over its cap after a cap breach would breach it again with a negative-list transfer: one or the other.
        var quotaBreached = new HashSet<int>();
        for (var i = 0; i < count; i++)
        {
            var rule = BreachRules[i % BreachRules.Count];
            var day = random.Next(_options.Days);
            var movesQuota = rule is "PENETRATION_CAP_BREACH" or "PENETRATION_NEGATIVE_LIST";
            var candidates = _profiles.Where(p => !p.Dormant && !p.InEpisode && CanBreak(p, rule) && !taken.Contains((p.Index, day))
                                                  && !(movesQuota && quotaBreached.Contains(p.Index))).ToList();
            if (candidates.Count == 0) continue;
            var profile = candidates[random.Next(candidates.Count)];
            taken.Add((profile.Index, day));
            if (movesQuota) quotaBreached.Add(profile.Index);
            var ts = Start.AddDays(day).AddHours(9 + random.Next(9)).AddSeconds(random.NextDouble() * 3600);
            // At most 40,000 CNY (but for a cap breach): below the large cash report and the services tax filing
            // thresholds, so that the payment breaks its rule and no other of RULES.md §2 that one payment decides.
            var amount = Math.Round((decimal)Math.Min(Math.Exp(profile.LogMedian + 0.5 * Gaussian(random)), 40_000), 2);
            var txnId = BreakingPayment(random, profile, rule, ts, amount);
            // Every same-name CNY payment of a company without equity is labelled as it is made (Add).
            if (rule != "PENETRATION_NO_QUOTA") _breaches.Add(new Episode(profile.EntityId, rule, ts, ts, [txnId]));
        }
    }

    private static bool CanBreak(Profile p, string rule) => rule switch
    {
        "CASH_ON_ZONE_ACCOUNT" => p.Kind is "EFE" or "EFN" or "FTE" or "FTN" && OffshoreNotWatched(p) is not null,
        "SECOND_LINE_NON_CNY" or "NON_SAME_NAME_NOT_GOODS" => p.Kind == "EFE",
        "PENETRATION_NEGATIVE_LIST" => p.Kind == "EFE" && p.Equity is not null,
        "PENETRATION_CAP_BREACH" => p.Kind == "EFE" && p.Equity is not null,
        "PENETRATION_NO_QUOTA" => p.Kind == "EFE" && p.Equity is null,
        "EFF_PURPOSE" => p.Kind == "EFF" && OffshoreNotWatched(p) is not null,
        "WHITELIST_REQUIRED" => p.Kind is "EFE" or "EFN" or "FTE" or "FTN" or "NRA" && !p.Whitelisted && OffshoreNotWatched(p) is not null,
        _ => p.Type == "CORPORATE" && p.Kind != "DOMESTIC",
    };

    /// <summary>One of the entity's offshore partners outside every high-risk country, if it has one.</summary>
    private static Counterparty? OffshoreNotWatched(Profile p) => p.Counterparties.FirstOrDefault(c => c.Kind == "OFFSHORE" && c.Country != "VN");

    /// <summary>A payment of <paramref name="profile"/> that breaks <paramref name="rule"/>; answers its id.</summary>
    private string BreakingPayment(Random random, Profile profile, string rule, DateTimeOffset ts, decimal amount)
    {
        var sameName = profile.Counterparties.FirstOrDefault(c => c.SameName);
        return rule switch
        {
            "CASH_ON_ZONE_ACCOUNT" => Add(profile, ts, "IN", amount, OffshoreNotWatched(profile)!, purpose: "GOODS_TRADE", method: "CASH"),
            "SECOND_LINE_NON_CNY" => Add(profile, ts, "OUT", amount, sameName!, currency: "HKD", purpose: "GOODS_TRADE"),
            // Inward, so that a service payment is not also one to file for tax (SERVICES_TAX_FILING is outward).
            "NON_SAME_NAME_NOT_GOODS" => Add(profile, ts, "IN", amount,
                new Counterparty($"DOS{profile.Index:D6}", "DOMESTIC", null, $"Domestic Services {profile.Index:D6}", "CN", "CNY", SameName: false), purpose: "SERVICE_TRADE"),
            "PENETRATION_NEGATIVE_LIST" => Add(profile, ts, "OUT", amount, sameName!, purpose: "SECURITIES_INVESTMENT"),
            // A company without equity on file moving money to its own domestic account: it has no quota to do so.
            "PENETRATION_NO_QUOTA" => Add(profile, ts, "OUT", amount, sameName!, purpose: "GOODS_TRADE"),
            // Two and a half times the owner's equity into the domestic territory at once: past the inflow cap (the
            // simulation's parameters are all 1) from any position within the outflow cap.
            "PENETRATION_CAP_BREACH" => Add(profile, ts, "OUT", profile.Equity!.Value * 2.5m, sameName!, purpose: "GOODS_TRADE"),
                        "EFF_PURPOSE" => Add(profile, ts, "OUT", amount, OffshoreNotWatched(profile)!, currency: "CNY", purpose: "GOODS_TRADE"),
            "SANCTIONED_PARTY" => Add(profile, ts, "OUT", amount,
                new Counterparty("OFFHKBLUELOTUS01", "OFFSHORE", null, SanctionedNames[random.Next(SanctionedNames.Length)], "HK", "HKD", SameName: false), purpose: "GOODS_TRADE"),
            "WHITELIST_REQUIRED" => Add(profile, ts, "OUT", amount, OffshoreNotWatched(profile)!, currency: "CNY", purpose: "DIRECT_INVESTMENT"),
            // A country on the call-for-action list: severity II, where the usual traffic's VN is I.
            _ => Add(profile, ts, "OUT", amount,
                new Counterparty($"OFFMM{profile.Index:D6}", "OFFSHORE", null, $"MM Partner {profile.Index:D6}", "MM", "USD", SameName: false), purpose: "GOODS_TRADE"),
        };
    }
}
