using System.Globalization;
using FlowWatch.Core.Aggregates;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Engine;

namespace FlowWatch.Core.Tests.Rules;

/// <summary>
/// The same-name penetration quota of RULES.md §3: PENETRATION_CAP_WARN, PENETRATION_CAP_BREACH and
/// PENETRATION_NO_QUOTA. E1 has owner's equity 10,000,000, so with the default parameters both caps are 10,000,000.
/// </summary>
public sealed class PenetrationQuotaTests
{
    private const string Warn = "PENETRATION_CAP_WARN";
    private const string Breach = "PENETRATION_CAP_BREACH";
    private const string NoQuota = "PENETRATION_NO_QUOTA";

    private static ReferenceBuilder Reference() => TestStreams.Reference()
        .Entity("E1", equity: 10_000_000m)
        .Entity("E0")
        .Entity("Z", equity: 0m);

    private static TestStream Stream() => Reference().Stream();

    /// <summary>A same-name CNY transfer of EFE0001: OUT (zone → domestic) raises N, IN lowers it.</summary>
    private static EventBuilder Outward(decimal amount, string entity = "E1") =>
        TestStreams.Event().Entity(entity).Out().Amount(amount).Cp("DOMESTIC", entityId: entity);

    private static EventBuilder Inward(decimal amount, string entity = "E1") => Outward(amount, entity).In();

    private static void AssertNoQuotaAlert(StepResult result)
    {
        Assert.Equal(RecordOutcome.Accepted, result.Outcome);
        Assert.DoesNotContain(Warn, result.Rules);
        Assert.DoesNotContain(Breach, result.Rules);
        Assert.DoesNotContain(NoQuota, result.Rules);
    }

    // ---- WARN at 0.8 ----

    [Fact]
    public void Warn_UtilisationJustBelowPointEight_RaisesNothing()
    {
        AssertNoQuotaAlert(Stream().Send(Outward(7_999_999.99m)));
    }

    [Fact]
    public void Warn_OneTenThousandthBelowPointEight_RaisesNothing()
    {
        AssertNoQuotaAlert(Stream().Send(Outward(7_999_999.9999m)));
    }

    [Fact]
    public void Warn_SingleEventReachingExactlyPointEight_RaisesWarnWithMetrics()
    {
        var result = Stream().Send(Outward(8_000_000m));

        var alert = result.Single(Warn);
        Assert.Equal(Severity.I, alert.Severity);
        Assert.Equal(["Hengqin Art.18(2)"], alert.Refs);
        Assert.Equal(8_000_000m, alert.Metrics.Observed);
        Assert.Equal(10_000_000m, alert.Metrics.Cap);
        Assert.Equal(0.8m, alert.Metrics.Utilisation);
        Assert.Equal(8_000_000m, alert.Metrics.Threshold);
        Assert.Equal("INFLOW", alert.Metrics.Direction);
        Assert.Equal(2026, alert.Metrics.Year);
        Assert.DoesNotContain(Breach, result.Rules);
    }

    [Fact]
    public void Warn_Metrics_ObservedPositionAgainstThresholdInCny()
    {
        // Cap 5,000,000 (factor 0.5): the warning threshold is 0.8 × cap = 4,000,000 CNY, the position's own unit.
        var alert = Reference().Parameter("macroPrudentialFactor", 0.5m).Stream().Send(Outward(4_000_000.01m)).Single(Warn);

        Assert.Equal(4_000_000.01m, alert.Metrics.Observed);
        Assert.Equal(4_000_000m, alert.Metrics.Threshold);
        Assert.Equal(5_000_000m, alert.Metrics.Cap);
        Assert.Equal(0.8m, alert.Metrics.Utilisation);
    }

    [Theory]
    [InlineData("9999999.5", "99.99%")]     // 0.99999995 of the cap: below it, never read as 100%
    [InlineData("10000000", "100%")]
    [InlineData("8000000", "80%")]
    [InlineData("8123456.78", "81.23%")]
    public void Warn_Description_GivesThePercentageRoundedDown(string position, string percent)
    {
        var alert = Stream().Send(Outward(decimal.Parse(position, CultureInfo.InvariantCulture))).Single(Warn);

        Assert.Contains($" is at {percent} of its 2026 cap", alert.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Warn_SecondEventCrossingPointEight_RaisesOnTheCrossingEventOnly()
    {
        var stream = Stream();

        var first = stream.Send(Outward(7_999_999.99m));
        var second = stream.Send(Outward(0.01m));

        AssertNoQuotaAlert(first);
        var alert = second.Single(Warn);
        Assert.Equal(8_000_000m, alert.Metrics.Observed);
        Assert.Equal(0.8m, alert.Metrics.Utilisation);
    }

    [Fact]
    public void Warn_AlreadyAbovePointEight_DoesNotRepeat()
    {
        var stream = Stream();

        stream.Send(Outward(8_000_000m)).AssertRaised(Warn);
        AssertNoQuotaAlert(stream.Send(Outward(1m)));
        AssertNoQuotaAlert(stream.Send(Outward(1_000_000m)));
    }

    [Fact]
    public void Warn_AfterFallingBelowPointEight_RearmsAndRaisesAgain()
    {
        var stream = Stream();

        stream.Send(Outward(8_000_000m)).AssertRaised(Warn);
        AssertNoQuotaAlert(stream.Send(Inward(0.01m)));          // N = 7,999,999.99: utilisation below 0.8
        var again = stream.Send(Outward(0.01m));                  // back to exactly 0.8

        Assert.Equal(8_000_000m, again.Single(Warn).Metrics.Observed);
    }

    [Fact]
    public void Warn_FallingFurtherAndRisingAgain_RaisesOncePerCrossing()
    {
        var stream = Stream();

        var results = stream.SendAll([
            Outward(8_500_000m),   // WARN
            Outward(100m),         // still above
            Inward(600_001m),      // 7,900,099: below
            Outward(50_000m),      // 7,950,099: still below
            Outward(49_901m),      // 8,000,000: WARN
            Outward(1m),           // above: nothing
        ]);

        Assert.Equal([true, false, false, false, true, false], results.Select(r => r.Raised(Warn)).ToArray());
        Assert.All(results, r => Assert.DoesNotContain(Breach, r.Rules));
    }

    [Fact]
    public void Warn_OutflowDirection_RaisesOnInEvents()
    {
        var stream = Stream();

        AssertNoQuotaAlert(stream.Send(Inward(7_999_999.99m)));
        var alert = stream.Send(Inward(0.01m)).Single(Warn);

        Assert.Equal("OUTFLOW", alert.Metrics.Direction);
        Assert.Equal(8_000_000m, alert.Metrics.Observed);
        Assert.Equal(0.8m, alert.Metrics.Utilisation);
    }

    // ---- BREACH at cap vs cap + 0.01 ----

    [Fact]
    public void Breach_InflowExactlyAtCap_IsNotABreach()
    {
        var result = Stream().Send(Outward(10_000_000m));

        Assert.DoesNotContain(Breach, result.Rules);
        Assert.Equal(1m, result.Single(Warn).Metrics.Utilisation);
    }

    [Fact]
    public void Breach_InflowOneTenThousandthOverCap_Breaches()
    {
        var alert = Stream().Send(Outward(10_000_000.0001m)).Single(Breach);

        Assert.Equal(10_000_000.0001m, alert.Metrics.Observed);
        Assert.Equal(1.000001m, alert.Metrics.Utilisation);
    }

    [Fact]
    public void Breach_InflowOneCentOverCap_RaisesSeverityIIIWithMetrics()
    {
        var stream = Stream();

        stream.Send(Outward(10_000_000m));
        var result = stream.Send(Outward(0.01m));

        var alert = result.Single(Breach);
        Assert.Equal(Severity.III, alert.Severity);
        Assert.Equal(["Hengqin Art.18(2)"], alert.Refs);
        Assert.Equal(10_000_000.01m, alert.Metrics.Observed);
        Assert.Equal(10_000_000m, alert.Metrics.Cap);
        Assert.Equal(10_000_000m, alert.Metrics.Threshold);
        Assert.Equal(1.000001m, alert.Metrics.Utilisation);   // 1.000000001, rounded up beyond the cap
        Assert.Equal("INFLOW", alert.Metrics.Direction);
        Assert.DoesNotContain(Warn, result.Rules);
    }

    [Theory]
    [InlineData("9999999.99", "0.999999")]     // 0.999999999 is below the cap: rounded down, never shown as 1
    [InlineData("10000000", "1")]
    [InlineData("7999999.99", "0.799999")]     // below the warning level, shown below it
    [InlineData("8000000", "0.8")]
    public void Utilisation_BelowOrAtTheCap_IsRoundedDown(string position, string shown)
    {
        Assert.Equal(decimal.Parse(shown, CultureInfo.InvariantCulture),
            PenetrationQuota.Utilisation(decimal.Parse(position, CultureInfo.InvariantCulture), 10_000_000m));
    }

    [Fact]
    public void Utilisation_AgainstACapTooLargeForTheQuotientToShowTheDifference_StaysOnItsSide()
    {
        const decimal Cap = 1_000_000_000_000_000_000_000_000m;   // 10^24: (cap ± 0.0001) / cap is exactly 1 in 28 digits

        Assert.Equal(1.000001m, PenetrationQuota.Utilisation(Cap + 0.0001m, Cap));
        Assert.Equal(0.999999m, PenetrationQuota.Utilisation(Cap - 0.0001m, Cap));
        Assert.Equal(1m, PenetrationQuota.Utilisation(Cap, Cap));
    }

    [Fact]
    public void Utilisation_OfANegativePosition_IsRoundedDownToo()
    {
        Assert.Equal(-0.000001m, PenetrationQuota.Utilisation(-0.01m, 10_000_000m));
    }

    [Fact]
    public void Breach_SingleEventFromZeroOverCap_RaisesBreachNotWarn()
    {
        var result = Stream().Send(Outward(12_500_000m));

        var alert = result.Single(Breach);
        Assert.Equal(1.25m, alert.Metrics.Utilisation);
        Assert.DoesNotContain(Warn, result.Rules);
    }

    [Fact]
    public void Breach_EveryEventThatIncreasesAnOverCapPosition_Breaches()
    {
        var stream = Stream();

        var results = stream.SendAll([
            Outward(10_000_000.01m),   // breach
            Outward(1m),               // breach
            Outward(1m),               // breach
            Inward(0.5m),              // lowers N to 10,000,001.51: no alert
            Outward(0.01m),            // N still over cap and increased: breach
        ]);

        Assert.Equal([true, true, true, false, true], results.Select(r => r.Raised(Breach)).ToArray());
        Assert.Equal([10_000_000.01m, 10_000_001.01m, 10_000_002.01m], results.Take(3).Select(r => r.Single(Breach).Metrics.Observed!.Value).ToArray());
        Assert.Equal(10_000_001.52m, results[4].Single(Breach).Metrics.Observed);
        AssertNoQuotaAlert(results[3]);
    }

    [Fact]
    public void Breach_OutflowExactlyAtCap_IsNotABreach()
    {
        var stream = Stream();

        stream.Send(Inward(7_000_000m));
        var result = stream.Send(Inward(3_000_000m));

        Assert.DoesNotContain(Breach, result.Rules);
    }

    [Fact]
    public void Breach_OutflowOneCentOverCap_RaisesOutflowBreachOnInEvent()
    {
        var stream = Stream();

        stream.Send(Inward(10_000_000m));
        var alert = stream.Send(Inward(0.01m)).Single(Breach);

        Assert.Equal("OUTFLOW", alert.Metrics.Direction);
        Assert.Equal(10_000_000.01m, alert.Metrics.Observed);   // −N
        Assert.Equal(10_000_000m, alert.Metrics.Cap);
    }

    [Fact]
    public void Breach_EveryOutflowBreachingEvent_BreachesAndOutEventsDoNot()
    {
        var stream = Stream();

        var results = stream.SendAll([Inward(10_000_001m), Inward(1m), Outward(1m), Inward(1m)]);

        Assert.Equal([true, true, false, true], results.Select(r => r.Raised(Breach)).ToArray());
        Assert.All(results.Where(r => r.Raised(Breach)), r => Assert.Equal("OUTFLOW", r.Single(Breach).Metrics.Direction));
    }

    [Fact]
    public void Breach_OutflowLeverageFromReferenceParameters_ChangesOnlyTheOutflowCap()
    {
        var stream = Reference().Parameter("outflowLeverage", 0.5m).Stream();

        var outflow = stream.Send(Inward(5_000_000.01m));
        var inflow = Reference().Parameter("outflowLeverage", 0.5m).Stream().Send(Outward(10_000_000m));

        Assert.Equal(5_000_000m, outflow.Single(Breach).Metrics.Cap);
        Assert.DoesNotContain(Breach, inflow.Rules);
        Assert.Equal(10_000_000m, inflow.Single(Warn).Metrics.Cap);
    }

    [Fact]
    public void Breach_CapIsEquityTimesFactorTimesLeverage()
    {
        var stream = Reference().Parameter("macroPrudentialFactor", 0.5m).Parameter("inflowLeverage", 3m).Stream();

        var atCap = stream.Send(Outward(15_000_000m));
        var over = stream.Send(Outward(0.01m));

        Assert.Equal(15_000_000m, atCap.Single(Warn).Metrics.Cap);
        Assert.Equal(15_000_000m, over.Single(Breach).Metrics.Cap);
    }

    [Fact]
    public void Breach_ZeroEquity_AnyIncreaseBreaches()
    {
        var stream = Stream();

        var results = stream.SendAll([Outward(0.01m, "Z"), Inward(0.01m, "Z"), Inward(0.01m, "Z")]);

        Assert.True(results[0].Raised(Breach));
        AssertNoQuotaAlert(results[1]);                // back to N = 0
        Assert.Equal("OUTFLOW", results[2].Single(Breach).Metrics.Direction);
        Assert.All(results, r => Assert.DoesNotContain(Warn, r.Rules));
    }

    [Fact]
    public void Breach_PositionBeyondDecimalRangeTimesTheSmallestCap_BreachesWithoutUtilisation()
    {
        // The smallest cap the reference bounds allow, 0.01 × 0.0001 × 0.0001 = 10^-10: from a position of 10^18 on, the
        // utilisation is 10^28 or more, and from 7,923 × 10^15 on it has no decimal value at all.
        var stream = TestStreams.Reference().Entity("T", equity: 0.01m)
            .Parameter("macroPrudentialFactor", 0.0001m).Parameter("inflowLeverage", 0.0001m).Stream();
        stream.Engine.Aggregator = new FlowAggregator();

        var results = Enumerable.Range(0, 7_923)
            .Select(i => stream.Send(Outward(1_000_000_000_000_000m, "T").At(TestStreams.T0 + TimeSpan.FromSeconds(i))))
            .ToList();

        Assert.Equal(0, stream.Engine.Counters.Failures);
        var last = results[^1].Single(Breach);
        Assert.Equal(7_923_000_000_000_000_000m, last.Metrics.Observed);
        Assert.Equal(0.0000000001m, last.Metrics.Cap);
        Assert.Null(last.Metrics.Utilisation);
        Assert.Equal(9_990_000_000_000_000_000_000_000_000m, results[998].Single(Breach).Metrics.Utilisation);
        Assert.Null(results[999].Single(Breach).Metrics.Utilisation);   // 10^28 times the cap
        var position = Assert.Single(stream.Engine.Aggregator.Take("b").Positions);
        Assert.Null(position.InflowUtilisation);
        Assert.Null(EntityView.Of(stream.Entity("T"), stream.Engine.Reference, stream.Engine.Settings).Penetration.InflowUtilisation);
    }

    // ---- Calendar year (Asia/Shanghai) ----

    [Fact]
    public void Year_NewShanghaiYear_StartsFromZero()
    {
        var stream = Stream();

        var december = stream.Send(Outward(9_000_000m).At("2026-12-31T23:59:59+08:00"));
        var january = stream.Send(Outward(9_000_000m).At("2027-01-01T00:00:00+08:00"));

        Assert.Equal(2026, december.Single(Warn).Metrics.Year);
        var alert = january.Single(Warn);
        Assert.Equal(2027, alert.Metrics.Year);
        Assert.Equal(9_000_000m, alert.Metrics.Observed);
        Assert.DoesNotContain(Breach, january.Rules);
        Assert.Equal(9_000_000m, stream.Entity("E1").PenetrationNetInflow(2026));
        Assert.Equal(9_000_000m, stream.Entity("E1").PenetrationNetInflow(2027));
    }

    [Theory]
    [InlineData("2026-12-31T15:59:59Z", 2026, true)]    // 23:59:59 in Shanghai: same year, 18,000,000 breaches
    [InlineData("2026-12-31T15:59:59.9999999Z", 2026, true)]   // the year's last tick in Shanghai
    [InlineData("2026-12-31T16:00:00Z", 2027, false)]   // 00:00:00 on 1 January in Shanghai
    [InlineData("2026-12-31T12:00:00-05:00", 2027, false)]   // 01:00 on 1 January in Shanghai
    public void Year_EventWrittenInOtherOffset_CountsInItsShanghaiYear(string ts, int year, bool breach)
    {
        var stream = Stream();

        stream.Send(Outward(9_000_000m).At("2026-12-31T20:00:00+08:00"));
        var result = stream.Send(Outward(9_000_000m).At(ts));

        Assert.Equal(breach, result.Raised(Breach));
        Assert.Equal(year, (result.Raised(Breach) ? result.Single(Breach) : result.Single(Warn)).Metrics.Year);
    }

    [Fact]
    public void Year_LateEventOfThePreviousYear_UpdatesThePreviousYear()
    {
        var stream = Stream();

        stream.Send(Outward(1_000m).At("2027-01-01T01:00:00+08:00"));
        var late = stream.Send(Outward(8_000_000m).At("2026-12-31T23:00:00+08:00"));   // two hours late

        Assert.Equal(1, stream.Engine.Counters.Late);
        Assert.Equal(2026, late.Single(Warn).Metrics.Year);
        Assert.Equal(8_000_000m, stream.Entity("E1").PenetrationNetInflow(2026));
        Assert.Equal(1_000m, stream.Entity("E1").PenetrationNetInflow(2027));
    }

    [Fact]
    public void Breach_SwingFromNetInflowToNetOutflowOverCap_BreachesOutflow()
    {
        var stream = Stream();

        stream.Send(Outward(9_000_000m)).AssertRaised(Warn);
        var swing = stream.Send(Inward(19_000_000.01m));   // N = −10,000,000.01

        var alert = swing.Single(Breach);
        Assert.Equal("OUTFLOW", alert.Metrics.Direction);
        Assert.Equal(10_000_000.01m, alert.Metrics.Observed);
    }

    [Fact]
    public void Warn_SwingFromNetInflowToNetOutflowAtPointEight_WarnsOutflow()
    {
        var stream = Stream();

        stream.Send(Outward(9_000_000m));
        var alert = stream.Send(Inward(17_000_000m)).Single(Warn);   // N = −8,000,000

        Assert.Equal("OUTFLOW", alert.Metrics.Direction);
        Assert.Equal(0.8m, alert.Metrics.Utilisation);
    }

    // ---- PARAMETERS control records ----

    [Fact]
    public void Parameters_ControlRecordLoweringTheCap_RaisesNothingByItself()
    {
        var stream = Stream();

        AssertNoQuotaAlert(stream.Send(Outward(6_000_000m)));
        var control = stream.Parameters(TestStreams.T0.AddHours(12), "\"macroPrudentialFactor\":0.5");

        Assert.Equal(RecordOutcome.Control, control.Outcome);
        Assert.Empty(control.Alerts);
        Assert.Equal(0.5m, stream.Engine.Reference.Parameters.MacroPrudentialFactor);
    }

    [Fact]
    public void Parameters_ControlRecordLoweringTheCap_AppliesToTheNextEvent()
    {
        var stream = Stream();

        stream.Send(Outward(6_000_000m));
        stream.Parameters(TestStreams.T0.AddHours(12), "\"macroPrudentialFactor\":0.5");
        var next = stream.Send(Outward(1m));

        var alert = next.Single(Breach);
        Assert.Equal(5_000_000m, alert.Metrics.Cap);
        Assert.Equal(6_000_001m, alert.Metrics.Observed);
        Assert.Equal(1.200001m, alert.Metrics.Utilisation);   // 1.2000002, rounded up beyond the cap
    }

    [Fact]
    public void Parameters_CapLoweredUnderPointEight_NextEventDoesNotWarnBecauseItWasAlreadyAbove()
    {
        var stream = Stream();

        AssertNoQuotaAlert(stream.Send(Outward(5_000_000m)));              // 0.5 of 10,000,000
        stream.Parameters(TestStreams.T0.AddHours(12), "\"macroPrudentialFactor\":0.6");   // now 0.833 of 6,000,000
        var next = stream.Send(Outward(1m));

        AssertNoQuotaAlert(next);
    }

    [Fact]
    public void Parameters_CapRaised_LaterEventsAreJudgedWithTheNewCap()
    {
        var stream = Stream();

        stream.Send(Outward(10_000_000.01m)).AssertRaised(Breach);
        var control = stream.Parameters(TestStreams.T0.AddHours(12), "\"inflowLeverage\":2");
        var next = stream.Send(Outward(1m));

        Assert.Empty(control.Alerts);
        AssertNoQuotaAlert(next);   // 10,000,001.01 of 20,000,000
    }

    [Fact]
    public void Parameters_PenetrationKindsIncludeFte_FteTransfersCountAgainstTheQuota()
    {
        var stream = Stream();

        var before = stream.Send(Outward(8_000_000m).Account("FTE0001"));
        stream.Parameters(TestStreams.T0.AddHours(12), "\"penetrationKinds\":[\"EFE\",\"FTE\"]");
        var after = stream.Send(Outward(8_000_000m).Account("FTE0001"));

        AssertNoQuotaAlert(before);
        Assert.Equal(8_000_000m, after.Single(Warn).Metrics.Observed);   // the earlier FTE transfer never counted
    }

    // ---- NO_QUOTA ----

    [Fact]
    public void NoQuota_EntityWithoutOwnersEquity_RaisesNoQuotaInsteadOfWarnOrBreach()
    {
        var stream = Stream();

        var results = stream.SendAll([Outward(100m, "E0"), Outward(20_000_000m, "E0"), Inward(50_000_000m, "E0")]);

        Assert.All(results, r =>
        {
            var alert = r.Single(NoQuota);
            Assert.Equal(Severity.II, alert.Severity);
            Assert.Equal(["Hengqin Art.18(2)"], alert.Refs);
            Assert.DoesNotContain(Warn, r.Rules);
            Assert.DoesNotContain(Breach, r.Rules);
        });
    }

    [Fact]
    public void NoQuota_EntityUnknownToReferenceData_RaisesNoQuota()
    {
        Stream().Send(Outward(100m, "NEW")).AssertRaised(NoQuota);
    }

    [Fact]
    public void NoQuota_EntityWithOwnersEquity_RaisesNothing()
    {
        AssertNoQuotaAlert(Stream().Send(Outward(100m)));
    }

    [Fact]
    public void NoQuota_NonCnySameNameTransfer_RaisesNothing()
    {
        AssertNoQuotaAlert(Stream().Send(Outward(100m, "E0").Amount(100m, "USD")));
    }

    [Fact]
    public void NoQuota_KindNotInPenetrationKinds_RaisesNothing()
    {
        AssertNoQuotaAlert(Stream().Send(Outward(100m, "E0").Account("FTE0001")));
    }

    [Fact]
    public void NoQuota_KindAddedToPenetrationKindsInReferenceData_Raises()
    {
        var stream = Reference().Parameter("penetrationKinds", new System.Text.Json.Nodes.JsonArray("EFE", "FTE")).Stream();

        stream.Send(Outward(100m, "E0").Account("FTE0001")).AssertRaised(NoQuota);
    }

    [Theory]
    [InlineData("DOMESTIC", "E2")]   // SECOND_LINE
    [InlineData("OFFSHORE", "E0")]   // FIRST_LINE
    public void NoQuota_NotASameNameTransfer_RaisesNothing(string cpKind, string cpEntity)
    {
        AssertNoQuotaAlert(Stream().Send(Outward(100m, "E0").Cp(cpKind, entityId: cpEntity)));
    }

    // ---- What counts towards N ----

    [Fact]
    public void Position_OnlySameNameCnyTransfersOfPenetrationKindsCount()
    {
        var stream = Stream();

        stream.SendAll([
            Outward(1_000m),                                   // counts: +1,000
            Inward(300m),                                      // counts: −300
            Outward(5_000m).Amount(5_000m, "USD"),             // not CNY
            Outward(7_000m).Account("FTE0001"),                // not a penetration kind
            Outward(9_000m).Cp("DOMESTIC", entityId: "E2"),    // not same name
            Outward(11_000m).Cp("OFFSHORE", entityId: "E1"),   // first line
        ]);

        Assert.Equal(700m, stream.Entity("E1").PenetrationNetInflow(2026));
    }
}
