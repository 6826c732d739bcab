using FlowWatch.Core.Contracts;
using FlowWatch.Core.Engine;
using FlowWatch.Core.Reference;
using FlowWatch.Simulator;
using FlowWatch.Worker.Kafka;

namespace FlowWatch.Core.Tests.Simulation;

/// <summary>The demo's simulated traffic runs on Shanghai days, as the simulator means them.</summary>
public sealed class DemoStartTests
{
    [Theory]
    [InlineData("2026-11-28T04:00:00+00:00", "2026-11-18T00:00:00+08:00")]   // noon in Shanghai
    [InlineData("2026-11-28T17:30:00+00:00", "2026-11-19T00:00:00+08:00")]   // already the 29th in Shanghai
    [InlineData("2026-11-28T15:59:59+00:00", "2026-11-18T00:00:00+08:00")]   // the last second of the 28th there
    public void SimulationStart_IsShanghaiMidnightDaysBeforeTodayInShanghai(string now, string expected)
    {
        var start = DemoCommand.SimulationStart(DateTimeOffset.Parse(now, System.Globalization.CultureInfo.InvariantCulture), 10);

        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), start);
        Assert.Equal(TimeSpan.FromHours(8), start.Offset);
        Assert.Equal(TimeSpan.Zero, start.TimeOfDay);
    }
}

/// <summary>The demo's first simulated days, for any length of run and any seed.</summary>
public sealed class DemoSimulationOptionsTests
{
    [Theory]
    [InlineData(1, 2_000, 0)]
    [InlineData(3, 2_000, 0)]
    [InlineData(3, 2_000, 5)]
    [InlineData(60, 100, 7)]
    [InlineData(3, 2_000, 8)]
    public void SimulationOptionsFor_AShortRun_GivesAPopulationWithRoomForEveryEpisodeAndItsFollowingDaysToo(int seconds, int rate, int seed)
    {
        // Days short enough leave too few entities with the history a burst or an outsized amount needs for some seeds.
        var options = DemoCommand.SimulationOptionsFor(seconds, rate, seed, DateTimeOffset.Parse("2026-11-28T04:00:00+00:00", System.Globalization.CultureInfo.InvariantCulture));

        var simulation = LabelledSimulation.Generate(options);

        Assert.Equal(Typologies.All.Order(), simulation.Episodes.Select(e => e.Typology).Distinct().Order());
        Assert.Equal(LabelledSimulation.BreachRules.Order(), simulation.Breaches.Select(b => b.Typology).Distinct().Order());
        Assert.NotEmpty(DemoCommand.NextDays(options, 1));
    }

    /// <summary>A demo of up to 45 s at the default rate stays in the past: its simulated days hold its payments.</summary>
    [Theory]
    [InlineData(20, 2_000, 1)]
    [InlineData(30, 2_000, 2)]
    [InlineData(45, 2_000, 3)]
    [InlineData(4, 20_000, 1)]
    public void SimulationOptionsFor_ARunOfUpTo90000Payments_SimulatesDaysThatHoldThemAll(int seconds, int rate, int seed)
    {
        var options = DemoCommand.SimulationOptionsFor(seconds, rate, seed, DateTimeOffset.Parse("2026-11-28T04:00:00+00:00", System.Globalization.CultureInfo.InvariantCulture));

        var count = LabelledSimulation.Generate(options).Payments.Count;
        Assert.True(count >= seconds * rate, $"{options.Days} days, {count} payments");
    }

    /// <summary>
    /// The demo publishes the reference data of its first days only: the companies without equity on file in the days
    /// that follow are the same ones, so that the rule raised for their same-name payments stays true to that data.
    /// </summary>
    [Fact]
    public void NextDays_SameNamePaymentsWithoutQuota_AreOfTheCompaniesTheFirstDaysReferenceDataLeavesWithoutEquity()
    {
        var options = DemoCommand.SimulationOptionsFor(3, 2_000, 5, DateTimeOffset.Parse("2026-11-28T04:00:00+00:00", System.Globalization.CultureInfo.InvariantCulture));
        var first = LabelledSimulation.Generate(options);
        var engine = new FlowEngine(ReferenceDataLoader.Parse(first.ReferenceBytes()), new RuleSettings());
        var alerts = new List<Alert>();
        var sequence = 0L;

        foreach (var payment in first.Payments.Concat(DemoCommand.NextDays(options, 1))) engine.Process(payment.Line, ++sequence, alerts, out _);

        var withoutQuota = alerts.Where(a => a.Rule == "PENETRATION_NO_QUOTA").ToList();
        Assert.Contains(withoutQuota, a => a.Ts.UtcTicks >= options.Start.AddDays(options.Days).UtcTicks);
        var reference = System.Text.Json.JsonDocument.Parse(first.ReferenceBytes()).RootElement;
        var companies = reference.GetProperty("accounts").EnumerateArray().Where(a => a.GetProperty("kind").GetString() == "EFE")
            .Select(a => a.GetProperty("entityId").GetString()).ToHashSet();
        var withoutEquity = reference.GetProperty("entities").EnumerateArray()
            .Where(e => companies.Contains(e.GetProperty("entityId").GetString()) && !e.TryGetProperty("ownersEquityPrevYear", out _))
            .Select(e => e.GetProperty("entityId").GetString()!).ToHashSet();
        Assert.NotEmpty(withoutEquity);
        Assert.Superset(withoutEquity, withoutQuota.Select(a => a.EntityId).ToHashSet());
    }
}

/// <summary>The demo runs until it is stopped: when its simulated days run out, the next ones follow.</summary>
public sealed class DemoNextDaysTests
{
    private static readonly SimulationOptions First = new()
    {
        Entities = 60, Days = 12, Seed = 7, EpisodeRate = 0.03, TxnPrefix = "D", Start = new DateTimeOffset(2026, 9, 1, 0, 0, 0, TimeSpan.FromHours(8)),
    };

    [Fact]
    public void NextDays_FollowTheFirstDaysWithTheSameAccountsAndNewTransactionIds()
    {
        var first = LabelledSimulation.Generate(First).Payments;
        var second = DemoCommand.NextDays(First, 1);
        var third = DemoCommand.NextDays(First, 2);

        var secondStart = First.Start.AddDays(First.Days).UtcTicks;
        var thirdStart = First.Start.AddDays(2 * First.Days).UtcTicks;
        Assert.All(first, p => Assert.True(p.UtcTicks < secondStart));
        Assert.All(second, p => Assert.InRange(p.UtcTicks, secondStart, thirdStart - 1));
        Assert.All(third, p => Assert.True(p.UtcTicks >= thirdStart));
        // The same entities: every account paying later was one of the first days' (the reference data is theirs).
        var accounts = first.Select(p => p.Account).ToHashSet();
        Assert.Superset(accounts, second.Select(p => p.Account).ToHashSet());
        Assert.Superset(accounts, third.Select(p => p.Account).ToHashSet());
        var ids = first.Concat(second).Concat(third).Select(p => p.TxnId).ToList();
        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
    }
}
