using FlowWatch.Core.Contracts;
using FlowWatch.Core.Engine;

namespace FlowWatch.Core.Tests.Rules;

/// <summary>
/// HIGH_FREQUENCY and AMOUNT_ANOMALY (RULES.md §6): judged against the entity's own baselines, only once the
/// baselines are warm, and explained in the alert's metrics (baseline, observed value, score, top features).
/// </summary>
public sealed class ScoredRuleTests
{
    private static readonly DateTimeOffset Start = TestStreams.T0;

    private static TestStream Stream() => TestStreams.Reference().Entity("E1").Stream();

    /// <summary>One payment an hour for <paramref name="hours"/> hours, amounts cycling between 8,000 and 12,000 CNY.</summary>
    private static void Routine(TestStream stream, int hours)
    {
        for (var h = 0; h < hours; h++)
        {
            var result = stream.Send(TestStreams.Event($"R{h}").Amount(8_000m + h % 5 * 1_000m).At(Start.AddHours(h)));
            Assert.DoesNotContain(result.Alerts, a => RuleCodes.Scored.Contains(a.Rule));
        }
    }

    [Fact]
    public void AmountAnomaly_FarAboveAWarmBaseline_RaisesSeverityIIExplainingItself()
    {
        var stream = Stream();
        Routine(stream, 60);

        var alert = stream.Send(TestStreams.Event("BIG").Amount(2_000_000m).At(Start.AddHours(60))).Single(RuleCodes.AmountAnomaly);

        Assert.Equal(Severity.II, alert.Severity);
        Assert.Equal(2_000_000m, alert.Metrics.Observed);
        Assert.InRange(alert.Metrics.Baseline!.Value, 9_000m, 11_000m);   // the typical amount
        Assert.True(alert.Metrics.Score >= 6, $"score {alert.Metrics.Score}");
        Assert.True(alert.Metrics.Threshold < 2_000_000m);
        Assert.Contains(alert.Metrics.TopFeatures!, f => f.StartsWith("amountScore=", StringComparison.Ordinal));
        Assert.NotEmpty(alert.Refs);
    }

    /// <summary>
    /// The setting at the amount's score exactly fires, and so does one just below it; one just above does not. The
    /// score is read from a stream with the same history, so each stream's baseline is the one the amount meets.
    /// </summary>
    [Theory]
    [InlineData(-1, true)]
    [InlineData(0, true)]
    [InlineData(1, false)]
    public void AmountAnomaly_SettingJustBelowAtAndAboveTheAmountsScore_FiresAtOrBelow(int step, bool fires)
    {
        var probe = Stream();
        Routine(probe, 60);
        var baseline = probe.Entity("E1").Baseline;
        var score = baseline.AmountScore(Math.Log(300_000), new RuleSettings().BaselineAmountDeviationFloor);
        var setting = step switch { < 0 => Math.BitDecrement(score), 0 => score, _ => Math.BitIncrement(score) };
        var stream = TestStreams.Reference().Entity("E1").Stream(new RuleSettings { AmountAnomalyScore = setting });
        Routine(stream, 60);

        var result = stream.Send(TestStreams.Event("BIG").Amount(300_000m).At(Start.AddHours(60)));

        Assert.InRange(score, 6.5, 30);   // far above the routine's own amounts, under the default setting too
        Assert.Equal(fires, result.Raised(RuleCodes.AmountAnomaly));
    }

    [Fact]
    public void Settings_WarmUpLongerThanTheBaselinesMemory_AreRefusedNamingTheKeys()
    {
        // A baseline counts its events (hours) only up to its memory: a longer warm-up would never end, and the rule
        // would never fire.
        var settings = new RuleSettings
        {
            AmountAnomalyWarmupEvents = 60, BaselineAmountMemory = 50, HighFrequencyWarmupHours = 200, BaselineHourlyMemory = 168,
        };

        var problems = settings.Validate();

        Assert.Contains(problems, p => p.Contains("AmountAnomalyWarmupEvents", StringComparison.Ordinal) && p.Contains("BaselineAmountMemory", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("HighFrequencyWarmupHours", StringComparison.Ordinal) && p.Contains("BaselineHourlyMemory", StringComparison.Ordinal));
        Assert.Empty(new RuleSettings { AmountAnomalyWarmupEvents = 50, BaselineAmountMemory = 50, HighFrequencyWarmupHours = 168 }.Validate());
    }

    [Fact]
    public void AmountAnomaly_WarmUpAsLongAsTheMemory_FiresOnceItEnds()
    {
        var stream = TestStreams.Reference().Entity("E1").Stream(new RuleSettings { AmountAnomalyWarmupEvents = 50, BaselineAmountMemory = 50 });
        Routine(stream, 60);

        stream.Send(TestStreams.Event("BIG").Amount(2_000_000m).At(Start.AddHours(60))).Single(RuleCodes.AmountAnomaly);
    }

    [Fact]
    public void AmountAnomaly_BeforeTheBaselineIsWarm_RaisesNothing()
    {
        var stream = Stream();
        Routine(stream, 10);

        stream.Send(TestStreams.Event("BIG").Amount(2_000_000m).At(Start.AddHours(10))).AssertNotRaised(RuleCodes.AmountAnomaly);
    }

    [Fact]
    public void AmountAnomaly_WithinTheEntitysUsualSpread_RaisesNothing()
    {
        var stream = Stream();
        Routine(stream, 60);

        stream.Send(TestStreams.Event("USUAL").Amount(14_000m).At(Start.AddHours(60))).AssertNotRaised(RuleCodes.AmountAnomaly);
    }

    [Fact]
    public void HighFrequency_BurstAfterWarmHistory_RaisesOnceWithCountAndBaseline()
    {
        var stream = Stream();
        Routine(stream, 60);

        var alerts = Enumerable.Range(0, 20)
            .SelectMany(i => stream.Send(TestStreams.Event($"B{i}").Amount(9_000m).At(Start.AddHours(60).AddSeconds(30 * i))).Alerts)
            .Where(a => a.Rule == RuleCodes.HighFrequency).ToList();

        var alert = Assert.Single(alerts);   // then silent for the suppression period
        Assert.Equal(Severity.II, alert.Severity);
        Assert.True(alert.Metrics.Count >= 12, $"count {alert.Metrics.Count}");
        Assert.Equal(alert.Metrics.Count, (int)alert.Metrics.Observed!.Value);
        Assert.InRange(alert.Metrics.Baseline!.Value, 0.5m, 1.5m);   // about one payment an hour
        Assert.True(alert.Metrics.Score >= 6);
        Assert.Contains(alert.Metrics.TopFeatures!, f => f.StartsWith("count1h=", StringComparison.Ordinal));
    }

    [Fact]
    public void HighFrequency_SameBurstWithoutEnoughHistory_RaisesNothing()
    {
        var stream = Stream();
        Routine(stream, 20);

        var raised = Enumerable.Range(0, 20)
            .Any(i => stream.Send(TestStreams.Event($"B{i}").Amount(9_000m).At(Start.AddHours(20).AddSeconds(30 * i))).Raised(RuleCodes.HighFrequency));

        Assert.False(raised);
    }

    [Fact]
    public void StateCodec_EntityWithBaselines_RoundTripsThemExactly()
    {
        var stream = Stream();
        Routine(stream, 30);
        var entity = stream.Entity("E1");

        var decoded = StateCodec.DecodeEntity(StateCodec.Encode(entity), TimeSpan.FromHours(24));

        Assert.Equal(30, entity.Baseline.AmountSamples);
        Assert.Equal(entity.Baseline, decoded.Baseline);
    }

    [Fact]
    public void Baseline_HoursWithGaps_AverageTheCountsOfEveryHourIncludingEmptyOnes()
    {
        var baseline = Baseline.Empty;
        foreach (var hour in new long[] { 100, 100, 102, 102, 102, 102, 103 }) baseline.ObserveHour(hour, memory: 168);

        // Folded: hour 100 (2 events), hour 101 (none), hour 102 (4 events); hour 103 is still open.
        Assert.Equal(3, baseline.Hours);
        Assert.Equal(2.0, baseline.HourlyMean, 12);
        Assert.Equal((4.0 + 0 + 16) / 3, baseline.HourlySquareMean, 12);
    }

    [Fact]
    public void Baseline_LongSilenceAfterWarmUp_DecaysTheHourlyMeanGeometrically()
    {
        var baseline = Baseline.Empty;
        for (long hour = 0; hour < 10; hour++)
        {
            for (var i = 0; i < 3; i++) baseline.ObserveHour(hour, memory: 4);
        }
        var warm = baseline.HourlyMean;

        baseline.ObserveHour(20, memory: 4);   // hour 9 folded, then hours 10–19 empty

        Assert.Equal(warm * Math.Pow(0.75, 10), baseline.HourlyMean, 9);
    }

    [Fact]
    public void HighFrequency_OverAQuietBaseline_GivesTheMinimumCountAsItsThreshold()
    {
        var stream = Stream();
        for (var h = 0; h < 60; h++) stream.Send(TestStreams.Event($"R{h}").Amount(8_000m + h % 5 * 1_000m).At(Start.AddHours(h)));

        var alert = Enumerable.Range(0, 20)
            .SelectMany(i => stream.Send(TestStreams.Event($"B{i}").Amount(9_000m).At(Start.AddHours(60).AddSeconds(30 * i))).Alerts)
            .Single(a => a.Rule == RuleCodes.HighFrequency);

        // About one payment an hour: far above it would be 10, but nothing under HighFrequencyMinCount (12) fires.
        Assert.Equal(12m, alert.Metrics.Threshold);
        Assert.Equal(12, alert.Metrics.Count);
    }

    [Fact]
    public void HighFrequency_OverABusierBaseline_GivesTheWholeCountThatFiresAsItsThreshold()
    {
        var stream = Stream();
        for (var h = 0; h < 60; h++)
        {
            stream.Send(TestStreams.Event($"R{h}a").Amount(9_000m).At(Start.AddHours(h)));
            stream.Send(TestStreams.Event($"R{h}b").Amount(9_000m).At(Start.AddHours(h).AddMinutes(30)));
        }

        var alert = Enumerable.Range(0, 20)
            .SelectMany(i => stream.Send(TestStreams.Event($"B{i}").Amount(9_000m).At(Start.AddHours(60).AddMinutes(10).AddSeconds(30 * i))).Alerts)
            .Single(a => a.Rule == RuleCodes.HighFrequency);

        // Two payments an hour: 2 + 6 × √3 ≈ 12.39 lies far above it, so the first count that fires is 13, as the message says.
        Assert.Equal(13m, alert.Metrics.Threshold);
        Assert.Equal(13, alert.Metrics.Count);
        Assert.Contains("13 would already be unusual", alert.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AmountAnomaly_OverSmallUsualAmounts_GivesTheMinimumAmountAsItsThreshold()
    {
        var stream = Stream();
        for (var h = 0; h < 30; h++) stream.Send(TestStreams.Event($"R{h}").Amount(100m).At(Start.AddHours(h)));

        var alert = stream.Send(TestStreams.Event("BIG").Amount(20_000m).At(Start.AddHours(30))).Single(RuleCodes.AmountAnomaly);

        // Usual amounts of 100 CNY: far above them starts in the hundreds, but nothing under AmountAnomalyMinCny (10,000) fires.
        Assert.Equal(10_000m, alert.Metrics.Threshold);
    }
}
