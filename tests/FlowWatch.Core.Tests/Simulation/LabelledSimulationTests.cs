using System.Text;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Engine;
using FlowWatch.Core.Reference;
using FlowWatch.Simulator;

namespace FlowWatch.Core.Tests.Simulation;

/// <summary>The labelled simulator: reproducible, readable by the engine, with every typology labelled by its payments.</summary>
public sealed class LabelledSimulationTests
{
    private static readonly SimulationOptions Small = new() { Entities = 200, Days = 8, Seed = 7, EpisodeRate = 0.02 };

    private static byte[] Bytes(LabelledSimulation simulation, Action<LabelledSimulation, Stream> write)
    {
        using var buffer = new MemoryStream();
        write(simulation, buffer);
        return buffer.ToArray();
    }

    [Fact]
    public void Generate_SameOptions_GivesTheSameBytes()
    {
        var first = LabelledSimulation.Generate(Small);
        var second = LabelledSimulation.Generate(Small);

        Assert.Equal(Bytes(first, (s, o) => s.WriteEvents(o)), Bytes(second, (s, o) => s.WriteEvents(o)));
        Assert.Equal(Bytes(first, (s, o) => s.WriteLabels(o)), Bytes(second, (s, o) => s.WriteLabels(o)));
        Assert.Equal(first.ReferenceBytes(), second.ReferenceBytes());
    }

    [Fact]
    public void Generate_AnotherSeed_GivesAnotherStream()
    {
        var first = LabelledSimulation.Generate(Small);
        var other = LabelledSimulation.Generate(Small with { Seed = 8 });

        Assert.NotEqual(Bytes(first, (s, o) => s.WriteEvents(o)), Bytes(other, (s, o) => s.WriteEvents(o)));
    }

    [Fact]
    public void Generate_Stream_LoadsAndDecodesInTheEngineInTimeOrderWithoutDeadLetters()
    {
        var simulation = LabelledSimulation.Generate(Small);
        var reference = ReferenceDataLoader.Parse(simulation.ReferenceBytes());
        var engine = new FlowEngine(reference, new RuleSettings());
        var alerts = new List<Alert>();
        var sequence = 0L;

        foreach (var payment in simulation.Payments)
        {
            Assert.Equal(RecordOutcome.Accepted, engine.Process(payment.Line, ++sequence, alerts, out var reason));
            Assert.Null(reason);
        }

        Assert.Equal(0, engine.Counters.Late);
        Assert.True(simulation.Payments.Zip(simulation.Payments.Skip(1)).All(p => p.First.UtcTicks <= p.Second.UtcTicks));
        var kinds = simulation.Payments.Select(p => Encoding.UTF8.GetString(p.Line)).Select(l => l[(l.IndexOf("\"accountKind\":\"", StringComparison.Ordinal) + 15)..].Split('"')[0]).ToHashSet();
        Assert.Superset(new HashSet<string> { "EFE", "EFN", "EFF", "EFU", "FTE", "FTN", "FTU", "FTI", "FTF", "NRA", "OSA", "DOMESTIC" }, kinds);
        Assert.True(kinds.Count >= 10, string.Join(", ", kinds));
    }

    [Fact]
    public void Generate_WidestAmountSpread_WritesOnlyAmountsTheEngineAccepts()
    {
        // At --amount-spread 5 an entity's heavy tail reaches far beyond 10^15 unless the simulator bounds it.
        var simulation = LabelledSimulation.Generate(new SimulationOptions { Entities = 1000, Days = 8, Seed = 1, AmountSpread = 5 });
        var engine = new FlowEngine(ReferenceDataLoader.Parse(simulation.ReferenceBytes()), new RuleSettings());
        var alerts = new List<Alert>();
        var sequence = 0L;

        foreach (var payment in simulation.Payments)
        {
            var outcome = engine.Process(payment.Line, ++sequence, alerts, out var reason);
            Assert.True(outcome == RecordOutcome.Accepted, $"{payment.TxnId}: {reason}");
            alerts.Clear();
        }
    }

    /// <summary>
    /// Breaches are labelled exactly: the engine raises a rule of RULES.md §2 that a single payment decides on the
    /// labelled payments, with the rule each is labelled with and no other, and nowhere else (but for the usual traffic's
    /// counterparties in VN, a country under increased monitoring). Without breaches, nothing breaks those rules.
    /// </summary>
    [Theory]
    [InlineData(0.0)]
    [InlineData(0.01)]
    public void Generate_Breaches_RaiseExactlyTheRuleTheyAreLabelledWith(double breachRate)
    {
        var simulation = LabelledSimulation.Generate(Small with { BreachRate = breachRate });
        var engine = new FlowEngine(ReferenceDataLoader.Parse(simulation.ReferenceBytes()), new RuleSettings());
        var alerts = new List<Alert>();
        var sequence = 0L;
        foreach (var payment in simulation.Payments) Assert.Equal(RecordOutcome.Accepted, engine.Process(payment.Line, ++sequence, alerts, out _));
        HashSet<string> breakable = [.. LabelledSimulation.BreachRules];
        // A company over its cap breaches it again with every later payment into the territory: those are not labelled.
        const string CapBreach = "PENETRATION_CAP_BREACH";

        var raised = alerts.Where(a => breakable.Contains(a.Rule) && !(a.Rule == "HIGH_RISK_JURISDICTION" && a.Severity == Severity.I))
            .Select(a => (a.TxnId, a.Rule, a.EntityId)).ToHashSet();
        var labelled = simulation.Breaches.Select(b => (Assert.Single(b.TxnIds), b.Typology, b.EntityId)).Order().ToList();

        Assert.Equal(labelled.Where(b => b.Typology != CapBreach), raised.Where(a => a.Rule != CapBreach).Order());
        Assert.All(labelled.Where(b => b.Typology == CapBreach), breach => Assert.Contains(breach, raised));
        // Nor does a breach payment owe a tax filing (RULES.md §2's other rule that one payment decides); the usual
        // same-name payments of a company without equity, labelled too, may.
        var breachIds = labelled.Where(b => b.Typology != "PENETRATION_NO_QUOTA").Select(b => b.Item1).ToHashSet();
        Assert.DoesNotContain(alerts, a => a.Rule == "SERVICES_TAX_FILING" && breachIds.Contains(a.TxnId));
        if (breachRate == 0) return;
        Assert.Equal(breakable.Order(), labelled.Select(b => b.Typology).Distinct().Order());
        using var labels = new MemoryStream();
        simulation.WriteLabels(labels);
        Assert.Equal(simulation.Episodes.Count + simulation.Breaches.Count, Encoding.UTF8.GetString(labels.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    /// <summary>
    /// Over many seeds and populations, every rule is breached, and each breach payment raises its rule and no other of
    /// RULES.md §2 that one payment decides (a cap breach, a large payment, may also complete a day's large-value report
    /// or a pass-through).
    /// </summary>
    [Theory]
    [InlineData(120, 10, 0.05)]
    [InlineData(300, 30, 0.002)]
    public void Generate_BreachesOfManySeeds_EachRaiseTheirRuleAndNoOtherThatOnePaymentDecides(int entities, int days, double breachRate)
    {
        HashSet<string> decidedByOnePayment = [.. LabelledSimulation.BreachRules, "SERVICES_TAX_FILING"];
        for (var seed = 1; seed <= 20; seed++)
        {
            var simulation = LabelledSimulation.Generate(new SimulationOptions { Entities = entities, Days = days, Seed = seed, EpisodeRate = 0.02, BreachRate = breachRate });
            var engine = new FlowEngine(ReferenceDataLoader.Parse(simulation.ReferenceBytes()), new RuleSettings());
            var alerts = new List<Alert>();
            var sequence = 0L;
            foreach (var payment in simulation.Payments) engine.Process(payment.Line, ++sequence, alerts, out _);
            var raisedBy = alerts.Where(a => decidedByOnePayment.Contains(a.Rule)).ToLookup(a => a.TxnId, a => a.Rule);

            Assert.Equal(LabelledSimulation.BreachRules.Order(), simulation.Breaches.Select(b => b.Typology).Distinct().Order());
            foreach (var breach in simulation.Breaches.Where(b => b.Typology != "PENETRATION_NO_QUOTA"))
            {
                Assert.Equal([breach.Typology], raisedBy[breach.TxnIds.Single()]);
            }
        }
    }

    [Fact]
    public void Generate_Episodes_CoverEveryTypologyAndNameRealPaymentsOfTheirEntityWithinTheirSpan()
    {
        var simulation = LabelledSimulation.Generate(Small);
        var payments = simulation.Payments.ToDictionary(p => p.TxnId, StringComparer.Ordinal);

        Assert.Equal(Typologies.All.Order(), simulation.Episodes.Select(e => e.Typology).Distinct().Order());
        foreach (var episode in simulation.Episodes)
        {
            Assert.NotEmpty(episode.TxnIds);
            foreach (var txnId in episode.TxnIds)
            {
                var payment = payments[txnId];
                Assert.Contains($"\"entityId\":\"{episode.EntityId}\"", Encoding.UTF8.GetString(payment.Line), StringComparison.Ordinal);
                Assert.InRange(WrittenTicks(payment), episode.Start.UtcTicks, episode.End.UtcTicks);
            }
        }
        Assert.Equal(simulation.Episodes.Count, simulation.Episodes.Select(e => e.EntityId).Distinct().Count());   // one episode per entity
    }

    [Theory]
    [InlineData(200, 8, 7, 0.02)]
    [InlineData(300, 8, 3, 0.02)]
    [InlineData(1000, 14, 11, 0.015)]
    public void Generate_EveryEpisode_SpansItsFirstToItsLastPaymentInsideTheStreamsDays(int entities, int days, int seed, double rate)
    {
        var options = new SimulationOptions { Entities = entities, Days = days, Seed = seed, EpisodeRate = rate };
        var simulation = LabelledSimulation.Generate(options);
        // The times the payments' lines say, which is what a reader of the files compares the episodes with.
        var times = simulation.Payments.ToDictionary(p => p.TxnId, WrittenTicks, StringComparer.Ordinal);
        var streamEnd = options.Start.AddDays(days);

        Assert.All(simulation.Episodes, episode =>
        {
            Assert.Equal(episode.TxnIds.Min(id => times[id]), episode.Start.UtcTicks);
            Assert.Equal(episode.TxnIds.Max(id => times[id]), episode.End.UtcTicks);
            Assert.True(episode.End < streamEnd, $"{episode.Typology} of {episode.EntityId} ends {episode.End:O}, after the stream's last day");
        });
    }

    private static long WrittenTicks(SimulatedPayment payment)
    {
        using var json = System.Text.Json.JsonDocument.Parse(payment.Line);
        return DateTimeOffset.Parse(json.RootElement.GetProperty("ts").GetString()!, System.Globalization.CultureInfo.InvariantCulture).UtcTicks;
    }

    [Theory]
    [InlineData(5, 0.03)]
    [InlineData(6, 0.015)]
    [InlineData(7, 0.03)]
    [InlineData(8, 0.04)]
    public void Generate_SmallPopulation_HasAtLeastTwoEpisodesOfEveryTypology(int seed, double rate)
    {
        var simulation = LabelledSimulation.Generate(new SimulationOptions { Entities = 50, Seed = seed, EpisodeRate = rate });

        Assert.All(Typologies.All, typology => Assert.True(simulation.Episodes.Count(e => e.Typology == typology) >= 2, typology));
    }

    [Fact]
    public void Generate_BurstsAndLargeAmounts_FollowTheBaselineOfTheirEntityAndLargeAmountsAvoidItsSameNameAccount()
    {
        var simulation = LabelledSimulation.Generate(new SimulationOptions { Entities = 1000, Days = 14, Seed = 7 });
        var lines = simulation.Payments.ToDictionary(p => p.TxnId, p => Encoding.UTF8.GetString(p.Line), StringComparer.Ordinal);

        foreach (var episode in simulation.Episodes.Where(e => e.Typology is Typologies.HighFrequency or Typologies.LargeAmount))
        {
            var before = simulation.Payments.Count(p => p.UtcTicks < episode.Start.UtcTicks && lines[p.TxnId].Contains($"\"entityId\":\"{episode.EntityId}\"", StringComparison.Ordinal));
            Assert.True(before >= new RuleSettings().AmountAnomalyWarmupEvents, $"{episode.Typology} of {episode.EntityId} after {before} payments");
        }
        Assert.All(simulation.Episodes.Where(e => e.Typology == Typologies.LargeAmount),
            episode => Assert.DoesNotContain("cpEntityId", lines[episode.TxnIds[0]], StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(50)]
    [InlineData(120)]
    [InlineData(1_001)]
    public void Generate_AnyPopulation_HasEveryKindInProportionToItsWeight(int entities)
    {
        var simulation = LabelledSimulation.Generate(new SimulationOptions { Entities = entities, Seed = 3, EpisodeRate = 0 });
        var reference = ReferenceDataLoader.Parse(simulation.ReferenceBytes());
        var kinds = simulation.Payments.Select(p => Encoding.UTF8.GetString(p.Line)).Select(l => l[(l.IndexOf("\"accountKind\":\"", StringComparison.Ordinal) + 15)..].Split('"')[0]);

        Assert.Equal(entities, reference.Entities.Count);
        Assert.InRange(simulation.Payments.Select(p => p.Account).Distinct().Count(a => a.StartsWith("EFE", StringComparison.Ordinal)), entities * 18 / 100 - 1, entities * 18 / 100 + 1);
        Assert.Contains("FTI", kinds);
    }

    [Fact]
    public void Generate_PopulationTooSmallForItsEpisodes_NamesTheTypologyAndTheRemedy()
    {
        var error = Assert.Throws<ArgumentException>(() => LabelledSimulation.Generate(new SimulationOptions { Entities = 50, Days = 8, Seed = 5, Activity = 20 }));

        Assert.Contains("fit for HIGH_FREQUENCY_BURST episodes, fewer than the 2 due; simulate more entities", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_StreamTooLargeToBuildInMemory_NamesTheLimit()
    {
        var problems = new SimulationOptions { Entities = 1_000_000, Days = 3_650 }.Validate();

        Assert.Contains(problems, p => p.Contains("must be at most 1,000,000 (the stream is built in memory)", StringComparison.Ordinal));
        Assert.Empty(new SimulationOptions { Entities = 50_000, Days = 20 }.Validate());
    }

    [Fact]
    public void WriteLabels_ReadLabels_RoundTripsEveryEpisode()
    {
        var simulation = LabelledSimulation.Generate(Small);
        var path = Path.GetTempFileName();
        try
        {
            using (var file = File.Create(path)) simulation.WriteLabels(file);

            var read = LabelledSimulation.ReadLabels(path);

            Assert.Equal(simulation.Episodes.Count, read.Count);
            Assert.All(simulation.Episodes.Zip(read), p =>
            {
                Assert.Equal(p.First.EntityId, p.Second.EntityId);
                Assert.Equal(p.First.Typology, p.Second.Typology);
                Assert.Equal(p.First.Start, p.Second.Start);
                Assert.Equal(p.First.TxnIds, p.Second.TxnIds);
            });
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Validate_TooFewDays_NamesTheOption()
    {
        var error = Assert.Throws<ArgumentException>(() => LabelledSimulation.Generate(Small with { Days = 7 }));

        Assert.Contains("--days must be at least 8", error.Message, StringComparison.Ordinal);
    }
}
