using FlowWatch.Core.Aggregates;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Engine;
using FlowWatch.Core.Tests.Oracle;

namespace FlowWatch.Core.Tests.Engine;

public sealed class FlowAggregatorTests
{
    /// <summary>
    /// Random streams (duplicates, rejects, late events, control records) cut into batches at random points: the rows
    /// of all batches summed per key equal the naive oracle's sums over its accepted events, and no batch's rows change
    /// after it was taken.
    /// </summary>
    [Fact]
    public void Take_RandomStreamsInRandomBatches_RowsSumToTheOraclesTotals()
    {
        for (var seed = 1; seed <= 60; seed++)
        {
            var stream = RandomStreams.Generate(seed, SettingsProfile.Defaults);
            var oracle = new NaiveEngine(stream.ReferenceJson, stream.Settings);
            var engine = new FlowEngine(stream.Reference, stream.Settings, shards: 1 + seed % 3) { Aggregator = new FlowAggregator() };
            var cuts = new Random(seed);
            var batches = new List<AggregateBatch>();
            var rowsWhenTaken = new List<(PaymentsMinuteRow[] Payments, CorridorMinuteRow[] Corridors)>();
            var alerts = new List<Alert>();
            for (var i = 0; i < stream.Lines.Count; i++)
            {
                foreach (var change in stream.ChangesBefore(i))
                {
                    oracle.UpdateReference(change.Json);
                    engine.UpdateReference(change.Reference);
                }
                oracle.Process(stream.Lines[i], i + 1, []);
                engine.Process(stream.Lines[i], i + 1, alerts, out _);
                if (cuts.Next(40) != 0) continue;
                batches.Add(engine.Aggregator.Take($"batch {batches.Count}"));
                rowsWhenTaken.Add(([.. batches[^1].Payments], [.. batches[^1].Corridors]));
            }
            batches.Add(engine.Aggregator.Take("last"));
            rowsWhenTaken.Add(([.. batches[^1].Payments], [.. batches[^1].Corridors]));

            Assert.True(engine.Aggregator.IsEmpty);
            Assert.Equal(rowsWhenTaken.SelectMany(r => r.Payments), batches.SelectMany(b => b.Payments));
            Assert.Equal(rowsWhenTaken.SelectMany(r => r.Corridors), batches.SelectMany(b => b.Corridors));
            var payments = batches.SelectMany(b => b.Payments)
                .GroupBy(r => (r.EntityId, Minute: r.MinuteTicks, Kind: r.AccountKind, r.Channel, r.Direction, r.Currency))
                .Select(g => FormattableString.Invariant($"{g.Key} {g.Sum(r => r.Events)} {NaiveEngine.Plain(g.Sum(r => r.Amount))} {NaiveEngine.Plain(g.Sum(r => r.AmountCny))}"));
            Assert.Equal(oracle.PaymentsMinuteTotals().Order(StringComparer.Ordinal), payments.Order(StringComparer.Ordinal));
            var corridors = batches.SelectMany(b => b.Corridors)
                .GroupBy(r => (Minute: r.MinuteTicks, Kind: r.AccountKind, r.CpKind, Country: r.CpCountry, r.Currency, r.Direction))
                .Select(g => FormattableString.Invariant($"{g.Key} {g.Sum(r => r.Events)} {NaiveEngine.Plain(g.Sum(r => r.AmountCny))}"));
            Assert.Equal(oracle.CorridorMinuteTotals().Order(StringComparer.Ordinal), corridors.Order(StringComparer.Ordinal));
        }
    }

    [Fact]
    public void Take_PenetrationEvents_KeepsTheNewestPositionPerEntityAndYearWithItsVersion()
    {
        var reference = TestStreams.Reference().Entity("E1", equity: 1_000_000m).Account("EFE0001", "EFE", "E1").Build();
        var engine = new FlowEngine(reference, new RuleSettings()) { Aggregator = new FlowAggregator() };
        var alerts = new List<Alert>();
        var payments = new[]
        {
            TestStreams.Event("P1").Out().Amount(600_000m).Cp("DOMESTIC", entityId: "E1", account: "DOM1"),
            TestStreams.Event("P2").Out().Amount(300_000m).Cp("DOMESTIC", entityId: "E1", account: "DOM1").At(TestStreams.T0.AddMinutes(1)),
            TestStreams.Event("P3").In().Amount(100_000m).Cp("DOMESTIC", entityId: "E1", account: "DOM1").At(TestStreams.T0.AddMinutes(2)),
            TestStreams.Event("P4").In().Amount(5_000m).Cp("OFFSHORE", account: "X1").At(TestStreams.T0.AddMinutes(3)),   // not same-name
        };
        foreach (var payment in payments) engine.Process(System.Text.Encoding.UTF8.GetBytes(payment.ToJson()), 1, alerts, out _);

        var position = Assert.Single(engine.Aggregator.Take("b").Positions);

        // N = 600,000 + 300,000 − 100,000 against equity × 1 × 1; the version counts the entity's events.
        Assert.Equal(new PositionRow("E1", 2026, 800_000m, 1_000_000m, 1_000_000m, 0.8m, -0.8m, TestStreams.T0.AddMinutes(2).UtcTicks, 3), position);
    }

    [Fact]
    public void Take_PenetrationAgainstACapOfZero_KeepsTheCapAndLeavesUtilisationNull()
    {
        // Equity of 0 on file: a cap of 0, which any position breaches (RULES.md §3) but no utilisation measures.
        var reference = TestStreams.Reference().Entity("E1", equity: 0m).Account("EFE0001", "EFE", "E1").Build();
        var engine = new FlowEngine(reference, new RuleSettings()) { Aggregator = new FlowAggregator() };
        var alerts = new List<Alert>();
        var payment = TestStreams.Event("P1").Out().Amount(1_000m).Cp("DOMESTIC", entityId: "E1", account: "DOM1");
        engine.Process(System.Text.Encoding.UTF8.GetBytes(payment.ToJson()), 1, alerts, out _);

        var position = Assert.Single(engine.Aggregator.Take("b").Positions);

        Assert.Contains(alerts, a => a.Rule == RuleCodes.PenetrationCapBreach);
        Assert.Equal(new PositionRow("E1", 2026, 1_000m, 0m, 0m, null, null, TestStreams.T0.UtcTicks, 1), position);
    }

    [Fact]
    public void Split_ABatch_KeepsEveryRowOnceAndEachRollUpKeyInOnePartTheSameWayEveryTime()
    {
        var stream = RandomStreams.Generate(7, SettingsProfile.Defaults);
        var engine = new FlowEngine(stream.Reference, stream.Settings) { Aggregator = new FlowAggregator() };
        var alerts = new List<Alert>();
        for (var i = 0; i < stream.Lines.Count; i++) engine.Process(stream.Lines[i], i + 1, alerts, out _);
        var batch = engine.Aggregator.Take("b");

        var parts = batch.Split(4);

        Assert.Equal(parts.Select(p => p.BatchId).Order(), parts.Select(p => p.BatchId).Distinct().Order());
        Assert.All(parts, p => Assert.StartsWith("b/", p.BatchId, StringComparison.Ordinal));
        Assert.Equal(batch.Payments.ToHashSet(), parts.SelectMany(p => p.Payments).ToHashSet());
        Assert.Equal(batch.Payments.Count, parts.Sum(p => p.Payments.Count));
        Assert.Equal(batch.Corridors.Count, parts.Sum(p => p.Corridors.Count));
        Assert.Equal(batch.Positions.Count, parts.Sum(p => p.Positions.Count));
        Assert.All(batch.Payments.GroupBy(r => r.EntityId), entity => Assert.Single(parts, p => p.Payments.Any(r => r.EntityId == entity.Key)));
        Assert.All(batch.Corridors.GroupBy(r => (r.AccountKind, r.CpKind, r.CpCountry, r.Currency, r.Direction)),
            corridor => Assert.Single(parts, p => p.Corridors.Any(r => (r.AccountKind, r.CpKind, r.CpCountry, r.Currency, r.Direction) == corridor.Key)));
        Assert.Equal(parts.Select(p => (p.BatchId, p.Payments.Count, p.Corridors.Count)), batch.Split(4).Select(p => (p.BatchId, p.Payments.Count, p.Corridors.Count)));
        Assert.Same(batch, Assert.Single(batch.Split(1)));
    }
}
