using System.Globalization;
using System.Text;

namespace FlowWatch.Simulator;

/// <summary>
/// Labelled synthetic traffic: entities of every account kind with behaviour of their own (heavy-tailed amounts
/// around a personal median, a usual number of payments per day with daily and weekly seasonality, a stable set of
/// counterparties in the corridors of their kind, purposes that fit the kind, same-name penetration for EFE
/// companies with equity on file), plus injected episodes of each typology in <see cref="Typologies"/>, each
/// labelled with its payments. Everything follows from <see cref="SimulationOptions.Seed"/>.
/// </summary>
public sealed partial class LabelledSimulation
{
    private static readonly (string Kind, int Weight)[] KindWeights =
    [
        ("EFE", 18), ("EFN", 8), ("EFF", 8), ("EFU", 2), ("FTE", 16), ("FTN", 8), ("FTU", 3), ("FTI", 8), ("FTF", 4),
        ("NRA", 12), ("OSA", 8), ("DOMESTIC", 5),
    ];

    /// <summary>Corridors: counterparty country and the currencies payments with it use.</summary>
    private static readonly (string Country, string[] Currencies, int Weight)[] Corridors =
    [
        ("HK", ["HKD", "CNY", "USD"], 30), ("MO", ["MOP", "CNY", "HKD"], 18), ("SG", ["SGD", "USD"], 12),
        ("MY", ["MYR", "CNY", "USD"], 12), ("US", ["USD"], 8), ("DE", ["EUR"], 6), ("GB", ["USD", "EUR"], 5), ("VN", ["USD", "CNY"], 1),
    ];

    public static IReadOnlyDictionary<string, decimal> FxRates { get; } = new Dictionary<string, decimal>(StringComparer.Ordinal)
    {
        ["USD"] = 7.10m, ["HKD"] = 0.91m, ["MOP"] = 0.88m, ["EUR"] = 7.70m, ["MYR"] = 1.55m, ["SGD"] = 5.30m,
    };

    private readonly SimulationOptions _options;
    private readonly Random _random;
    private readonly List<Profile> _profiles = [];
    private readonly List<(SimulatedPayment Payment, long Order)> _payments = [];
    private readonly List<Episode> _episodes = [];
    private long _nextId;

    private LabelledSimulation(SimulationOptions options)
    {
        _options = options;
        _random = new Random(options.Seed);
    }

    /// <summary>Every payment in event-time order (ties in the order they were generated).</summary>
    public IReadOnlyList<SimulatedPayment> Payments { get; private set; } = [];

    public IReadOnlyList<Episode> Episodes => _episodes;

    public static LabelledSimulation Generate(SimulationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Validate();
        if (problems.Count > 0) throw new ArgumentException(string.Join("; ", problems), nameof(options));
        var simulation = new LabelledSimulation(options);
        simulation.Run();
        return simulation;
    }

    private DateTimeOffset Start => _options.Start;

    private void Run()
    {
        var kinds = Kinds();
        for (var i = 0; i < _options.Entities; i++) _profiles.Add(NewProfile(i, kinds[i]));
        if (_options.BreachRate > 0) WithoutEquityOnFile();
        InjectEpisodes();
        foreach (var profile in _profiles)
        {
            if (!profile.Dormant) NormalTraffic(profile);
        }
        if (_options.BreachRate > 0) AddBreaches(_payments.Count);
        _payments.Sort((a, b) => a.Payment.UtcTicks != b.Payment.UtcTicks ? a.Payment.UtcTicks.CompareTo(b.Payment.UtcTicks) : a.Order.CompareTo(b.Order));
        Payments = _payments.ConvertAll(p => p.Payment);
    }

    /// <summary>
    /// The account kind of every entity, in proportion to <see cref="KindWeights"/> (largest remainders), in random
    /// order: a small population has every kind its share calls for, and so the entities each typology needs.
    /// </summary>
    private string[] Kinds()
    {
        var total = KindWeights.Sum(k => k.Weight);
        var counts = KindWeights.Select(k => (long)_options.Entities * k.Weight / total).ToArray();
        var byRemainder = Enumerable.Range(0, KindWeights.Length)
            .OrderByDescending(i => (long)_options.Entities * KindWeights[i].Weight % total).ThenBy(i => i).ToList();
        var left = _options.Entities - counts.Sum();
        for (var n = 0; n < left; n++) counts[byRemainder[n]]++;
        var kinds = KindWeights.SelectMany((k, i) => Enumerable.Repeat(k.Kind, (int)counts[i])).ToArray();
        _random.Shuffle(kinds);
        return kinds;
    }

    private Profile NewProfile(int index, string kind)
    {
        var type = kind is "EFF" or "FTI" or "FTF" ? "INDIVIDUAL" : kind is "FTU" or "EFU" ? "FI" : "CORPORATE";
        var individual = type == "INDIVIDUAL";
        var entityId = $"E{index:D6}";
        var logMedian = type switch
        {
            "INDIVIDUAL" => Math.Log(3_000) + Gaussian() * 0.7,
            "FI" => Math.Log(150_000) + Gaussian() * 0.5,
            _ => Math.Log(25_000) + Gaussian() * 0.8,
        };
        var rate = Math.Exp(Math.Log(individual ? 1.5 : 6) + Gaussian() * 0.7) * _options.Activity;
        // Keep a usual day's volume modest, as most accounts' are, so that ordinary days do not look like pass-through.
        rate = Math.Clamp(Math.Min(rate, 100_000 / Math.Exp(logMedian)), 0.3, 60 * _options.Activity);
        var profile = new Profile
        {
            Index = index,
            EntityId = entityId,
            Kind = kind,
            Type = type,
            Account = $"{(kind == "DOMESTIC" ? "DOM" : kind)}{index:D7}",
            Name = individual ? $"Resident {index:D6}" : $"{Syllable()}{Syllable()} {(type == "FI" ? "Bank" : "Trading")} {index:D6}",
            Equity = kind is "EFE" or "FTE" ? 20_000_000m * _random.Next(1, 6) : null,
            Whitelisted = _random.Next(3) == 0,
            Rate = rate,
            LogMedian = logMedian,
            Sigma = (0.5 + 0.5 * _random.NextDouble()) * _options.AmountSpread,
            InShare = individual ? 0.6 : _random.Next(2) == 0 ? 0.15 + 0.2 * _random.NextDouble() : 0.65 + 0.2 * _random.NextDouble(),
        };
        var counterparties = _random.Next(3, 13);
        for (var c = 0; c < counterparties; c++) profile.Counterparties.Add(NewCounterparty(profile, c));
        if (kind == "EFE")
        {
            // The company's own domestic account: same-name penetration (Hengqin Art.18).
            profile.Counterparties.Add(new Counterparty($"DOM{index:D7}", "DOMESTIC", entityId, profile.Name, "CN", "CNY", SameName: true));
        }
        profile.Weights = profile.Counterparties.Select((_, i) => 1.0 / (i + 1)).ToArray();   // Zipf: a few main partners
        return profile;
    }

    private Counterparty NewCounterparty(Profile profile, int n)
    {
        var corridor = Weighted(Corridors, c => c.Weight);
        var currencies = profile.Kind == "EFF" ? ["CNY"] : corridor.Currencies;
        var currency = currencies[_random.Next(currencies.Length)];
        var domestic = profile.Kind is "FTE" or "FTN" or "NRA" or "OSA" or "EFE" && _random.Next(4) == 0;
        if (domestic)
        {
            return new Counterparty($"DOC{profile.Index:D6}{n:D2}", "DOMESTIC", null, $"Domestic Supplier {profile.Index:D6}-{n}", "CN", "CNY", SameName: false);
        }
        return new Counterparty($"OFF{corridor.Country}{profile.Index:D6}{n:D2}", "OFFSHORE", null,
            $"{corridor.Country} {(profile.Type == "INDIVIDUAL" ? "Family" : "Partner")} {profile.Index:D6}-{n}", corridor.Country, currency, SameName: false);
    }

    private void NormalTraffic(Profile profile)
    {
        for (var day = 0; day < _options.Days; day++)
        {
            var date = Start.AddDays(day);
            var count = Poisson(profile.Rate * DayFactor(profile, date));
            for (var i = 0; i < count; i++)
            {
                var ts = date.AddHours(Hour(profile)).AddSeconds(_random.NextDouble() * 3600);
                var counterparty = profile.Counterparties[WeightedIndex(profile.Weights)];
                var direction = _random.NextDouble() < profile.InShare ? "IN" : "OUT";
                Add(profile, ts, direction, UsualAmountCny(profile), counterparty);
            }
        }
    }

    /// <summary>The share of its usual number of payments the entity makes on the day: fewer at weekends, unless a person.</summary>
    private static double DayFactor(Profile profile, DateTimeOffset date) =>
        date.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday ? profile.Type == "INDIVIDUAL" ? 0.9 : 0.2 : 1.0;

    /// <summary>
    /// An amount in CNY from the entity's own heavy-tailed distribution: log-normal with one payment in ten wider, at most
    /// <see cref="MaxAmountCny"/> (at the widest --amount-spread the tail would reach past what an event may carry).
    /// </summary>
    private decimal UsualAmountCny(Profile profile)
    {
        var z = Gaussian();
        if (_random.NextDouble() < 0.1) z *= 1.6;
        return (decimal)Math.Min(Math.Exp(profile.LogMedian + profile.Sigma * z), MaxAmountCny);
    }

    /// <summary>
    /// The largest payment simulated, in CNY: in any simulated currency far below the 10^15 an event's amount may be
    /// (DESIGN.md §3.1).
    /// </summary>
    private const double MaxAmountCny = 5e10;

    /// <summary>Hour of the Shanghai day: office hours for companies and banks, daytime and evening for people.</summary>
    private int Hour(Profile profile)
    {
        var roll = _random.NextDouble();
        if (profile.Type == "INDIVIDUAL") return roll < 0.9 ? 8 + _random.Next(15) : _random.Next(8);
        return roll < 0.92 ? 9 + _random.Next(9) : roll < 0.98 ? 18 + _random.Next(4) : _random.Next(9);
    }

    private string Purpose(Profile profile, Counterparty counterparty)
    {
        if (profile.Type == "INDIVIDUAL") return Pick(["SALARY", "LIVING", "LIVING", "MEDICAL", "TRAVEL"]);
        if (profile.Type == "FI") return "INTERBANK";
        if (counterparty.Kind == "DOMESTIC" && !counterparty.SameName && profile.Kind == "EFE") return "GOODS_TRADE";
        return Pick(["GOODS_TRADE", "GOODS_TRADE", "GOODS_TRADE", "SERVICE_TRADE", "PRIMARY_INCOME", "OTHER"]);
    }

    /// <summary>Adds a payment of <paramref name="amountCny"/> (converted to the counterparty's currency) and answers its id.</summary>
    private string Add(Profile profile, DateTimeOffset ts, string direction, decimal amountCny, Counterparty counterparty,
        string? currency = null, string? purpose = null, bool round = false, string? method = null)
    {
        currency ??= counterparty.Kind == "DOMESTIC" ? "CNY" : counterparty.Currency;
        var rate = currency == "CNY" ? 1m : FxRates[currency];
        var amount = Math.Max(round ? Math.Round(amountCny / rate / 10_000m) * 10_000m : Math.Round(amountCny / rate, 2), 1m);
        purpose ??= Purpose(profile, counterparty);
        var customs = profile.Kind == "EFE" && counterparty.Kind == "DOMESTIC" && !counterparty.SameName;
        var txnId = $"{_options.TxnPrefix}{_options.Seed}-{_nextId:D9}";
        var order = _nextId++;
        var line = string.Create(CultureInfo.InvariantCulture,
            $$"""{"txnId":"{{txnId}}","ts":"{{ts.ToOffset(TimeSpan.FromHours(8)):yyyy-MM-ddTHH:mm:ss.fff}}+08:00","account":"{{profile.Account}}","accountKind":"{{profile.Kind}}","entityId":"{{profile.EntityId}}","direction":"{{direction}}","amount":"{{amount}}","currency":"{{currency}}","cpAccount":"{{counterparty.Account}}","cpKind":"{{counterparty.Kind}}"{{(counterparty.EntityId is null ? "" : $",\"cpEntityId\":\"{counterparty.EntityId}\"")}},"cpName":"{{counterparty.Name}}","cpCountry":"{{counterparty.Country}}","purpose":"{{purpose}}"{{(method is null ? "" : $",\"method\":\"{method}\"")}}{{(customs ? ",\"customsSpecial\":true" : "")}},"bank":"BANK{{profile.Index % 7}}"}""");
        _payments.Add((new SimulatedPayment(ts.UtcTicks, profile.Account, txnId, Encoding.UTF8.GetBytes(line)), order));
        if (counterparty.SameName && currency == "CNY" && profile.Equity is null)
        {
            _breaches.Add(new Episode(profile.EntityId, "PENETRATION_NO_QUOTA", ts, ts, [txnId]));   // a company without equity on file
        }
        return txnId;
    }

    private sealed class Profile
    {
        public required int Index { get; init; }
        public required string EntityId { get; init; }
        public required string Kind { get; init; }
        public required string Type { get; init; }
        public required string Account { get; init; }
        public required string Name { get; init; }
        public required decimal? Equity { get; set; }
        public required bool Whitelisted { get; init; }
        public required double Rate { get; init; }
        public required double LogMedian { get; init; }
        public required double Sigma { get; init; }
        public required double InShare { get; init; }
        public List<Counterparty> Counterparties { get; } = [];
        public double[] Weights { get; set; } = [];
        public bool Dormant { get; set; }
        public long? LastActivityTicks { get; set; }
        public bool InEpisode { get; set; }
    }

    private sealed record Counterparty(string Account, string Kind, string? EntityId, string Name, string Country, string Currency, bool SameName);

    private double Gaussian() => Gaussian(_random);

    private static double Gaussian(Random random)
    {
        // Box–Muller: one of the pair is enough here.
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    private int Poisson(double mean)
    {
        if (mean > 30) return Math.Max(0, (int)Math.Round(mean + Math.Sqrt(mean) * Gaussian()));
        var limit = Math.Exp(-mean);
        var count = 0;
        for (var product = _random.NextDouble(); product > limit; product *= _random.NextDouble()) count++;
        return count;
    }

    private T Weighted<T>(IReadOnlyList<T> items, Func<T, int> weight)
    {
        var roll = _random.Next(items.Sum(weight));
        foreach (var item in items)
        {
            roll -= weight(item);
            if (roll < 0) return item;
        }
        return items[^1];
    }

    private int WeightedIndex(double[] weights)
    {
        var roll = _random.NextDouble() * weights.Sum();
        for (var i = 0; i < weights.Length; i++)
        {
            roll -= weights[i];
            if (roll < 0) return i;
        }
        return weights.Length - 1;
    }

    private string Pick(string[] items) => items[_random.Next(items.Length)];

    private string Syllable() => Pick(["Hua", "Xin", "Tai", "Long", "Feng", "Sheng", "Jin", "Heng", "Yue", "Kang"]);
}
