using System.Globalization;

namespace FlowWatch.Simulator;

/// <summary>The injected episodes, one method per typology.</summary>
public sealed partial class LabelledSimulation
{
    private void InjectEpisodes()
    {
        var perTypology = Math.Max(2, (int)Math.Round(_options.Entities * _options.EpisodeRate));
        // The typologies with the fewest fitting entities choose first, so that the broader ones do not use them up.
        var pools = Typologies.All.ToDictionary(t => t, t => _profiles.Count(p => Fits(p, t)));
        foreach (var typology in Typologies.All.OrderBy(t => pools[t]))
        {
            var candidates = _profiles.Where(p => !p.InEpisode && Fits(p, typology)).ToList();
            if (candidates.Count < perTypology)
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"{_options.Entities} entities (seed {_options.Seed}) leave {candidates.Count} fit for {typology} episodes, fewer than the {perTypology} due; simulate more entities"));
            }
            for (var n = 0; n < perTypology; n++)
            {
                // A random candidate, swapped out of the list: each entity has at most one episode.
                var pick = _random.Next(candidates.Count);
                var profile = candidates[pick];
                candidates[pick] = candidates[^1];
                candidates.RemoveAt(candidates.Count - 1);
                profile.InEpisode = true;
                // Episodes start on a day after the warm-up, at an office hour, early enough to end inside the stream.
                var firstDay = FirstDay(profile, typology);
                var day = firstDay + _random.Next(LastDay(typology) - firstDay + 1);
                var start = Start.AddDays(day).AddHours(9 + _random.Next(LatestStartHour - 9)).AddMinutes(_random.Next(60));
                var txnIds = new List<string>();
                var end = typology switch
                {
                    Typologies.HighFrequency => Burst(profile, start, txnIds),
                    Typologies.LargeAmount => LargeAmount(profile, start, txnIds),
                    Typologies.Structuring => Structuring(profile, start, txnIds),
                    Typologies.PassThrough => PassThrough(profile, start, txnIds),
                    Typologies.FanIn => Fan(profile, start, "IN", txnIds),
                    Typologies.FanOut => Fan(profile, start, "OUT", txnIds),
                    Typologies.DormantReactivation => Reactivation(profile, start, txnIds),
                    Typologies.QuotaCreep => QuotaCreep(profile, start, txnIds),
                    _ => RoundTrip(profile, start, txnIds),
                };
                // The labels give the times the payments' lines give, which are to the millisecond.
                _episodes.Add(new Episode(profile.EntityId, typology, WholeMilliseconds(start), WholeMilliseconds(end), txnIds));
            }
        }
    }

    private static DateTimeOffset WholeMilliseconds(DateTimeOffset ts) => ts.AddTicks(-(ts.UtcTicks % TimeSpan.TicksPerMillisecond));

    /// <summary>Episodes start before this hour of the Shanghai day.</summary>
    private const int LatestStartHour = 17;

    /// <summary>Days from the start of an episode's first day to the end of its last, at the latest.</summary>
    internal static int DaysToPlayOut(string typology) => (int)Math.Ceiling((LatestStartHour + LongestSpan(typology).TotalHours) / 24);

    /// <summary>The longest an episode of the typology lasts from its first payment to its last (see each method below).</summary>
    private static TimeSpan LongestSpan(string typology) => typology switch
    {
        Typologies.HighFrequency => TimeSpan.FromMinutes(50),
        Typologies.LargeAmount => TimeSpan.Zero,
        Typologies.Structuring => TimeSpan.FromMinutes(4 * 270),
        Typologies.PassThrough => TimeSpan.FromMinutes(3 * 170),
        Typologies.FanIn or Typologies.FanOut => TimeSpan.FromHours(12),
        Typologies.DormantReactivation => TimeSpan.FromMinutes(4 * 130),
        Typologies.QuotaCreep => TimeSpan.FromHours(72),
        _ => TimeSpan.FromHours(48) + TimeSpan.FromMinutes(330),
    };

    /// <summary>Payments an entity is expected to have made before a burst or a large amount of its: a baseline to stand out from.</summary>
    private const int HistoryPayments = 40;

    /// <summary>
    /// The first day an episode of the typology can start on for the entity: after the warm-up, and for a burst or a
    /// large amount once the entity is expected to have made <see cref="HistoryPayments"/> payments.
    /// </summary>
    private int FirstDay(Profile p, string typology)
    {
        if (typology is not (Typologies.HighFrequency or Typologies.LargeAmount)) return _options.WarmupDays;
        var day = 0;
        for (var expected = 0.0; expected < HistoryPayments && day < _options.Days; day++) expected += p.Rate * DayFactor(p, Start.AddDays(day));
        return Math.Max(_options.WarmupDays, day);
    }

    /// <summary>The last day an episode of the typology can start on and still end inside the stream.</summary>
    private int LastDay(string typology) => _options.Days - DaysToPlayOut(typology);

    /// <summary>
    /// Whether the entity is fit for an episode of the typology, with a day for it to start on. A company without equity
    /// on file (made only with breaches) takes none: its breaches are the alerts it is there for.
    /// </summary>
    private bool Fits(Profile p, string typology) => FirstDay(p, typology) <= LastDay(typology) && !(p.Kind == "EFE" && p.Equity is null) && typology switch
    {
        // Enough history for a baseline: several payments a day.
        Typologies.HighFrequency or Typologies.LargeAmount => p.Rate >= 3 * _options.Activity,
        Typologies.Structuring => p.Type is "CORPORATE" or "INDIVIDUAL" && p.Kind != "DOMESTIC",
        // A conduit: money passes through a company that usually pays out more than it receives.
        Typologies.PassThrough => p.Type == "CORPORATE" && p.InShare < 0.5,
        Typologies.FanIn or Typologies.FanOut => p.Type == "CORPORATE",
        Typologies.DormantReactivation => p.Type == "CORPORATE",
        _ => p.Kind == "EFE" && p.Equity is not null,
    };

    /// <summary>A day's worth of payments or more within the hour, to the entity's usual partners at its usual amounts.</summary>
    private DateTimeOffset Burst(Profile p, DateTimeOffset start, List<string> txnIds)
    {
        var count = Math.Max(25, (int)(p.Rate * (1.2 + 0.8 * _random.NextDouble())));
        var minutes = 15 + 35 * _random.NextDouble();
        var end = start;
        for (var i = 0; i < count; i++)
        {
            end = start.AddMinutes(minutes * i / count);
            var counterparty = p.Counterparties[WeightedIndex(p.Weights)];
            txnIds.Add(Add(p, end, _random.NextDouble() < p.InShare ? "IN" : "OUT", UsualAmountCny(p), counterparty));
        }
        return end;
    }

    /// <summary>One payment thousands of times the entity's usual amount.</summary>
    private DateTimeOffset LargeAmount(Profile p, DateTimeOffset start, List<string> txnIds)
    {
        var amount = (decimal)Math.Min(Math.Exp(p.LogMedian + p.Sigma * (8 + 3 * _random.NextDouble())), MaxAmountCny);
        // With one of its foreign or domestic partners, not through its own same-name account (a quota matter).
        var counterparty = p.Counterparties[WeightedIndex(p.Weights)];
        txnIds.Add(Add(p, start, _random.Next(2) == 0 ? "IN" : "OUT", amount, counterparty.SameName ? p.Counterparties[0] : counterparty));
        return start;
    }

    /// <summary>Three to five CNY payments each just below the large-value threshold of the entity's category, within a day.</summary>
    private DateTimeOffset Structuring(Profile p, DateTimeOffset start, List<string> txnIds)
    {
        var threshold = p.Type == "INDIVIDUAL" ? 200_000m : 2_000_000m;   // individual cross-border, non-individual transfer
        var offshore = p.Counterparties.Where(c => c.Kind == "OFFSHORE").ToList();
        var count = 3 + _random.Next(3);
        var ts = start;
        for (var i = 0; i < count; i++)
        {
            if (i > 0) ts = ts.AddMinutes(30 + _random.Next(240));
            var amount = Math.Round(threshold * (0.9m + 0.098m * (decimal)_random.NextDouble()), 2);
            var counterparty = offshore.Count > 0 ? offshore[_random.Next(offshore.Count)] : p.Counterparties[0];
            txnIds.Add(Add(p, ts, "OUT", amount, counterparty, currency: "CNY"));
        }
        return ts;
    }

    /// <summary>A large inflow paid on within hours, 97–102% of it, in one to three payments.</summary>
    private DateTimeOffset PassThrough(Profile p, DateTimeOffset start, List<string> txnIds)
    {
        var inflow = 600_000m + (decimal)_random.NextDouble() * 2_400_000m;
        txnIds.Add(Add(p, start, "IN", inflow, NewPartner(p, "PT-IN")));
        var outflow = inflow * (0.97m + 0.05m * (decimal)_random.NextDouble());
        var parts = 1 + _random.Next(3);
        var ts = start;
        for (var i = 0; i < parts; i++)
        {
            ts = ts.AddMinutes(20 + _random.Next(150));
            txnIds.Add(Add(p, ts, "OUT", outflow / parts, NewPartner(p, $"PT-OUT{i}")));
        }
        return ts;
    }

    /// <summary>Payments from (or to) 22–30 counterparties the entity never dealt with, within half a day.</summary>
    private DateTimeOffset Fan(Profile p, DateTimeOffset start, string direction, List<string> txnIds)
    {
        var count = 22 + _random.Next(9);
        var hours = 2 + 10 * _random.NextDouble();
        var end = start;
        for (var i = 0; i < count; i++)
        {
            end = start.AddHours(hours * i / count);
            txnIds.Add(Add(p, end, direction, UsualAmountCny(p), NewPartner(p, $"FAN{i:D2}")));
        }
        return end;
    }

    /// <summary>An entity silent for 200–400 days (per reference data) moves 0.6–5 M CNY, then a few ordinary payments.</summary>
    private DateTimeOffset Reactivation(Profile p, DateTimeOffset start, List<string> txnIds)
    {
        p.Dormant = true;
        p.LastActivityTicks = Start.AddDays(-200 - _random.Next(200)).UtcTicks;
        txnIds.Add(Add(p, start, _random.Next(2) == 0 ? "IN" : "OUT", 600_000m + (decimal)_random.NextDouble() * 4_400_000m, p.Counterparties[0]));
        var ts = start;
        for (var i = _random.Next(2, 5); i > 0; i--)
        {
            ts = ts.AddMinutes(10 + _random.Next(120));
            txnIds.Add(Add(p, ts, _random.Next(2) == 0 ? "IN" : "OUT", UsualAmountCny(p), p.Counterparties[WeightedIndex(p.Weights)]));
        }
        return ts;
    }

    /// <summary>Same-name transfers into the domestic account adding up to 82–97% of the yearly cap over one to three days.</summary>
    private DateTimeOffset QuotaCreep(Profile p, DateTimeOffset start, List<string> txnIds)
    {
        var own = p.Counterparties.Single(c => c.SameName);
        var total = p.Equity!.Value * (0.82m + 0.15m * (decimal)_random.NextDouble());
        var count = 6 + _random.Next(7);
        var spanHours = 24 + _random.Next(48);
        var ts = start;
        for (var i = 0; i < count; i++)
        {
            ts = start.AddHours(spanHours * (double)i / count);
            txnIds.Add(Add(p, ts, "OUT", total / count, own, purpose: "GOODS_TRADE"));
        }
        return ts;
    }

    /// <summary>
    /// Round amounts out to an offshore company, back a day or two later from another one, and on within hours to the
    /// company's own domestic account through same-name penetration.
    /// </summary>
    private DateTimeOffset RoundTrip(Profile p, DateTimeOffset start, List<string> txnIds)
    {
        var amount = 1_000_000m + (decimal)_random.Next(400) * 10_000m;
        txnIds.Add(Add(p, start, "OUT", amount, NewPartner(p, "RT-OUT", "HKD"), round: true));
        var back = start.AddHours(24 + _random.Next(24));
        var returned = Math.Round(amount * (0.97m + 0.03m * (decimal)_random.NextDouble()) / 10_000m) * 10_000m;
        txnIds.Add(Add(p, back, "IN", returned, NewPartner(p, "RT-IN", "CNY"), round: true));
        var onward = back.AddMinutes(30 + _random.Next(300));
        txnIds.Add(Add(p, onward, "OUT", returned, p.Counterparties.Single(c => c.SameName), purpose: "GOODS_TRADE", round: true));
        return onward;
    }

    /// <summary>An offshore counterparty new to the entity (in Hong Kong, where most of these corridors run).</summary>
    private Counterparty NewPartner(Profile p, string tag, string currency = "USD") =>
        new($"OFF{tag}{p.Index:D6}{_random.Next(1000):D3}", "OFFSHORE", null, $"HK Counterparty {tag} {p.Index:D6}", "HK", currency, SameName: false);
}
