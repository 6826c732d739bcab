using System.Globalization;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Engine;

namespace FlowWatch.Core.Tests.Rules;

/// <summary>LARGE_VALUE_REPORT (RULES.md §4): accumulators per (entity, Shanghai day, direction, category, currency class).</summary>
public sealed class LargeValueReportTests
{
    private const string Rule = "LARGE_VALUE_REPORT";

    private static TestStream Stream() => TestStreams.Reference()
        .Entity("C1").Entity("F1", type: "FI").Entity("P1", type: "INDIVIDUAL").Entity("P2", type: "INDIVIDUAL")
        .Stream();

    /// <summary>An event of the given category: cash on an NRA account, a corporate transfer, an individual's domestic or cross-border transfer.</summary>
    private static EventBuilder Of(string category) => category switch
    {
        "CASH" => TestStreams.Event().Account("NRA0001").Entity("C1").Cash().Cp("DOMESTIC", entityId: "X"),
        "NON_INDIVIDUAL_TRANSFER" => TestStreams.Event().Account("EFE0001").Entity("C1"),
        "INDIVIDUAL_DOMESTIC" => TestStreams.Event().Account("DOM0001", "DOMESTIC").Entity("P1").Cp("DOMESTIC", entityId: "P2"),
        "INDIVIDUAL_CROSS_BORDER" => TestStreams.Event().Account("DOM0001", "DOMESTIC").Entity("P1").Cp("OFFSHORE"),
        _ => throw new ArgumentOutOfRangeException(nameof(category), category, null),
    };

    private static decimal D(string text) => decimal.Parse(text, CultureInfo.InvariantCulture);

    [Theory]
    [InlineData("CASH", "CNY", "49999.99", false)]
    [InlineData("CASH", "CNY", "49999.9999", false)]   // amounts carry up to 4 decimals
    [InlineData("CASH", "CNY", "50000.0000", true)]
    [InlineData("CASH", "CNY", "50000", true)]
    [InlineData("CASH", "CNY", "50000.01", true)]
    [InlineData("CASH", "USD", "9999.99", false)]
    [InlineData("CASH", "USD", "9999.9999", false)]
    [InlineData("CASH", "USD", "10000", true)]
    [InlineData("CASH", "USD", "10000.01", true)]
    [InlineData("CASH", "HKD", "99999.99", false)]   // HKD 0.71 = 0.1 USD
    [InlineData("CASH", "HKD", "99999.9999", false)]   // 9,999.99999 USD
    [InlineData("CASH", "HKD", "100000", true)]
    [InlineData("NON_INDIVIDUAL_TRANSFER", "CNY", "1999999.99", false)]
    [InlineData("NON_INDIVIDUAL_TRANSFER", "CNY", "2000000", true)]
    [InlineData("NON_INDIVIDUAL_TRANSFER", "CNY", "2000000.01", true)]
    [InlineData("NON_INDIVIDUAL_TRANSFER", "USD", "199999.99", false)]
    [InlineData("NON_INDIVIDUAL_TRANSFER", "USD", "200000", true)]
    [InlineData("NON_INDIVIDUAL_TRANSFER", "USD", "200000.01", true)]
    [InlineData("NON_INDIVIDUAL_TRANSFER", "EUR", "181818.18", false)]   // EUR 7.81 = 1.1 USD
    [InlineData("NON_INDIVIDUAL_TRANSFER", "EUR", "181818.19", true)]
    [InlineData("INDIVIDUAL_DOMESTIC", "CNY", "499999.99", false)]
    [InlineData("INDIVIDUAL_DOMESTIC", "CNY", "500000", true)]
    [InlineData("INDIVIDUAL_DOMESTIC", "CNY", "500000.01", true)]
    [InlineData("INDIVIDUAL_DOMESTIC", "USD", "99999.99", false)]
    [InlineData("INDIVIDUAL_DOMESTIC", "USD", "100000", true)]
    [InlineData("INDIVIDUAL_DOMESTIC", "USD", "100000.01", true)]
    [InlineData("INDIVIDUAL_CROSS_BORDER", "CNY", "199999.99", false)]
    [InlineData("INDIVIDUAL_CROSS_BORDER", "CNY", "200000", true)]
    [InlineData("INDIVIDUAL_CROSS_BORDER", "CNY", "200000.01", true)]
    [InlineData("INDIVIDUAL_CROSS_BORDER", "USD", "9999.99", false)]
    [InlineData("INDIVIDUAL_CROSS_BORDER", "USD", "10000", true)]
    [InlineData("INDIVIDUAL_CROSS_BORDER", "USD", "10000.01", true)]
    [InlineData("INDIVIDUAL_CROSS_BORDER", "MYR", "49999.99", false)]   // MYR 1.42 = 0.2 USD
    [InlineData("INDIVIDUAL_CROSS_BORDER", "MYR", "50000", true)]
    public void LargeValueReport_SingleEventAroundThreshold_RaisesAtOrAbove(string category, string currency, string amount, bool expected)
    {
        foreach (var outward in new[] { false, true })
        {
            var e = Of(category).Amount(D(amount), currency);
            var result = Stream().Send(outward ? e.Out() : e.In());

            Assert.Equal(RecordOutcome.Accepted, result.Outcome);
            Assert.Equal(expected, result.Raised(Rule));
            if (expected)
            {
                var alert = result.Single(Rule);
                Assert.Equal(category, alert.Metrics.Category);
                Assert.Equal(currency == "CNY" ? "CNY" : "FX", alert.Metrics.CurrencyClass);
                Assert.Equal(outward ? "OUT" : "IN", alert.Metrics.Direction);
            }
        }
    }

    [Theory]
    [InlineData("CASH", "CNY", 50_000)]
    [InlineData("CASH", "USD", 10_000)]
    [InlineData("NON_INDIVIDUAL_TRANSFER", "CNY", 2_000_000)]
    [InlineData("NON_INDIVIDUAL_TRANSFER", "USD", 200_000)]
    [InlineData("INDIVIDUAL_DOMESTIC", "CNY", 500_000)]
    [InlineData("INDIVIDUAL_DOMESTIC", "USD", 100_000)]
    [InlineData("INDIVIDUAL_CROSS_BORDER", "CNY", 200_000)]
    [InlineData("INDIVIDUAL_CROSS_BORDER", "USD", 10_000)]
    public void LargeValueReport_AtThreshold_CarriesSeverityRefsAndMetrics(string category, string currency, int threshold)
    {
        var result = Stream().Send(Of(category).Amount(threshold, currency));

        var alert = result.Single(Rule);
        Assert.Equal(Severity.I, alert.Severity);
        Assert.Equal(["PBOC Order [2016] No.3 Art.5"], alert.Refs);
        Assert.Equal((decimal)threshold, alert.Metrics.Observed);
        Assert.Equal((decimal)threshold, alert.Metrics.Threshold);
        Assert.Equal("2026-03-02", alert.Metrics.Day);
    }

    [Fact]
    public void LargeValueReport_AccumulationOverSeveralEvents_RaisesOnTheCrossingEventOnly()
    {
        var stream = Stream();

        var results = stream.SendAll([
            Of("NON_INDIVIDUAL_TRANSFER").Amount(700_000m),
            Of("NON_INDIVIDUAL_TRANSFER").Amount(700_000m),
            Of("NON_INDIVIDUAL_TRANSFER").Amount(599_999.99m),   // 1,999,999.99
            Of("NON_INDIVIDUAL_TRANSFER").Amount(0.01m),         // 2,000,000.00
            Of("NON_INDIVIDUAL_TRANSFER").Amount(5_000_000m),    // already reported today
            Of("NON_INDIVIDUAL_TRANSFER").Amount(1m),
        ]);

        Assert.Equal([false, false, false, true, false, false], results.Select(r => r.Raised(Rule)).ToArray());
        Assert.Equal(2_000_000m, results[3].Single(Rule).Metrics.Observed);
    }

    [Fact]
    public void LargeValueReport_FxClassSumsUsdEquivalentsOfEveryForeignCurrency()
    {
        var stream = Stream();

        var results = stream.SendAll([
            Of("INDIVIDUAL_CROSS_BORDER").Amount(4_000m, "USD"),
            Of("INDIVIDUAL_CROSS_BORDER").Amount(50_000m, "HKD"),    // 5,000 USD
            Of("INDIVIDUAL_CROSS_BORDER").Amount(909.09m, "EUR"),    // 999.999 USD: 9,999.999
            Of("INDIVIDUAL_CROSS_BORDER").Amount(0.01m, "MYR"),      // 0.002 USD: 10,000.001
        ]);

        Assert.Equal([false, false, false, true], results.Select(r => r.Raised(Rule)).ToArray());
        var alert = results[3].Single(Rule);
        Assert.Equal(10_000.001m, alert.Metrics.Observed);
        Assert.Equal("FX", alert.Metrics.CurrencyClass);
    }

    [Fact]
    public void LargeValueReport_FxEventsWhoseExactSumIsTheThreshold_RaiseOnTheEventReachingIt()
    {
        // At USD 7.10 none of these has a finite USD-equivalent, and those rounded to 28 digits add up to
        // 199,999.99999999999999999999999; the exact sum is 1,420,000 CNY = 200,000 USD.
        var stream = TestStreams.Reference().Rate("HKD", 0.91m).Rate("EUR", 7.7m).Rate("MOP", 0.88m).Entity("C1").Stream();

        var results = stream.SendAll([
            Of("NON_INDIVIDUAL_TRANSFER").Amount(414_981.56m, "HKD"),
            Of("NON_INDIVIDUAL_TRANSFER").Amount(55_727.49m, "EUR"),
            Of("NON_INDIVIDUAL_TRANSFER").Amount(696_892.1675m, "MOP"),
            Of("NON_INDIVIDUAL_TRANSFER").Amount(0.0001m, "MOP"),
        ]);

        Assert.Equal([false, false, true, false], results.Select(r => r.Raised(Rule)).ToArray());
        Assert.Equal(200_000m, results[2].Single(Rule).Metrics.Observed);
    }

    [Fact]
    public void LargeValueReport_UsdRateChangedDuringTheDay_KeepsEachEventsUsdEquivalent()
    {
        var reference = TestStreams.Reference().Entity("C1");
        var stream = reference.Stream();

        var first = stream.Send(Of("NON_INDIVIDUAL_TRANSFER").Amount(1_000_000m, "HKD"));   // 710,000 CNY: 100,000 USD at 7.10
        stream.Engine.UpdateReference(reference.Rate("USD", 7.2m).Build());
        var results = stream.SendAll([
            Of("NON_INDIVIDUAL_TRANSFER").Amount(99_999.99m, "USD"),                       // 199,999.99
            Of("NON_INDIVIDUAL_TRANSFER").Amount(0.01m, "USD"),                            // 200,000
        ]);

        first.AssertNotRaised(Rule);
        Assert.Equal([false, true], results.Select(r => r.Raised(Rule)).ToArray());
        Assert.Equal(200_000m, results[1].Single(Rule).Metrics.Observed);
    }

    [Fact]
    public void LargeValueReport_DayOfTheLargestFxAmountsAtTheRateBounds_NeverOverflows()
    {
        // The reference bounds allow USD at 0.000001 CNY and a currency at 1,000,000 CNY: 10^15 units are 10^27 USD,
        // and eighty of them more than a decimal holds. A reported accumulator has nothing left to report that day.
        var reference = TestStreams.Reference().Rate("USD", 0.000001m).Rate("XXB", 1_000_000m).Entity("C1");
        var stream = reference.Stream();

        var results = stream.SendAll(Enumerable.Range(0, 80).Select(i =>
            Of("NON_INDIVIDUAL_TRANSFER").At(TestStreams.T0.AddMinutes(i)).Amount(1_000_000_000_000_000m, "XXB")));
        stream.Engine.UpdateReference(reference.Rate("USD", 0.000002m).Build());
        var after = stream.Send(Of("NON_INDIVIDUAL_TRANSFER").At(TestStreams.T0.AddMinutes(80)).Amount(1_000_000_000_000_000m, "XXB"));

        Assert.All(results.Append(after), r => Assert.Equal(RecordOutcome.Accepted, r.Outcome));
        Assert.Equal(0, stream.Engine.Counters.Failures);
        Assert.Equal([0], results.Select((r, i) => (r, i)).Where(x => x.r.Raised(Rule)).Select(x => x.i));
    }

    [Fact]
    public void LargeValueReport_CnyAndFxClasses_AccumulateSeparately()
    {
        var stream = Stream();

        var results = stream.SendAll([
            Of("NON_INDIVIDUAL_TRANSFER").Amount(1_999_999.99m),
            Of("NON_INDIVIDUAL_TRANSFER").Amount(199_999.99m, "USD"),   // FX class, far above 2,000,000 CNY-equivalent
            Of("NON_INDIVIDUAL_TRANSFER").Amount(0.01m),
            Of("NON_INDIVIDUAL_TRANSFER").Amount(0.01m, "USD"),
        ]);

        Assert.Equal([false, false, true, true], results.Select(r => r.Raised(Rule)).ToArray());
        Assert.Equal("CNY", results[2].Single(Rule).Metrics.CurrencyClass);
        Assert.Equal(2_000_000m, results[2].Single(Rule).Metrics.Observed);
        Assert.Equal("FX", results[3].Single(Rule).Metrics.CurrencyClass);
        Assert.Equal(200_000m, results[3].Single(Rule).Metrics.Observed);
    }

    [Fact]
    public void LargeValueReport_DirectionsAccumulateSeparately()
    {
        var stream = Stream();

        var results = stream.SendAll([
            Of("NON_INDIVIDUAL_TRANSFER").In().Amount(1_999_999.99m),
            Of("NON_INDIVIDUAL_TRANSFER").Out().Amount(1_999_999.99m),
            Of("NON_INDIVIDUAL_TRANSFER").Out().Amount(0.01m),
        ]);

        Assert.Equal([false, false, true], results.Select(r => r.Raised(Rule)).ToArray());
        Assert.Equal("OUT", results[2].Single(Rule).Metrics.Direction);
    }

    [Fact]
    public void LargeValueReport_CategoriesAccumulateSeparately()
    {
        var stream = Stream();

        var cash = stream.Send(Of("CASH").Amount(49_999.99m));
        var transfer = stream.Send(TestStreams.Event().Account("NRA0001").Entity("C1").Cp("DOMESTIC", entityId: "X").Amount(0.01m));

        Assert.False(cash.Raised(Rule));
        Assert.False(transfer.Raised(Rule));
    }

    [Fact]
    public void LargeValueReport_EntitiesAccumulateSeparately()
    {
        var stream = Stream();

        var first = stream.Send(Of("NON_INDIVIDUAL_TRANSFER").Amount(1_500_000m));
        var second = stream.Send(Of("NON_INDIVIDUAL_TRANSFER").Entity("F1").Amount(1_500_000m));

        Assert.False(first.Raised(Rule));
        Assert.False(second.Raised(Rule));
    }

    [Fact]
    public void LargeValueReport_SameAccumulatorNextDay_RaisesAgain()
    {
        var stream = Stream();

        var today = stream.Send(Of("CASH").Amount(50_000m));
        var later = stream.Send(Of("CASH").Amount(50_000m).At(TestStreams.T0.AddHours(13)));   // 23:00 the same day
        var tomorrow = stream.Send(Of("CASH").Amount(50_000m).At(TestStreams.T0.AddHours(14)));

        Assert.Equal("2026-03-02", today.Single(Rule).Metrics.Day);
        Assert.False(later.Raised(Rule));
        Assert.Equal("2026-03-03", tomorrow.Single(Rule).Metrics.Day);
    }

    [Fact]
    public void LargeValueReport_LastSecondAndFirstSecondOfShanghaiDays_AreDifferentDays()
    {
        var stream = Stream();

        var evening = stream.Send(Of("NON_INDIVIDUAL_TRANSFER").Amount(1_500_000m).At("2026-03-02T23:59:59+08:00"));
        var midnight = stream.Send(Of("NON_INDIVIDUAL_TRANSFER").Amount(1_500_000m).At("2026-03-03T00:00:00+08:00"));

        Assert.False(evening.Raised(Rule));
        Assert.False(midnight.Raised(Rule));
    }

    [Fact]
    public void LargeValueReport_TwoEventsBeforeShanghaiMidnight_AreTheSameDay()
    {
        var stream = Stream();

        stream.Send(Of("NON_INDIVIDUAL_TRANSFER").Amount(1_500_000m).At("2026-03-02T23:59:58+08:00"));
        var alert = stream.Send(Of("NON_INDIVIDUAL_TRANSFER").Amount(500_000m).At("2026-03-02T23:59:59+08:00")).Single(Rule);

        Assert.Equal("2026-03-02", alert.Metrics.Day);
    }

    [Fact]
    public void LargeValueReport_UtcEventAfterSixteenHundred_BelongsToTheNextShanghaiDay()
    {
        var stream = Stream();

        stream.Send(Of("NON_INDIVIDUAL_TRANSFER").Amount(1_500_000m).At("2026-03-02T20:00:00+08:00"));
        var result = stream.Send(Of("NON_INDIVIDUAL_TRANSFER").Amount(1_500_000m).At("2026-03-02T16:00:00Z"));

        Assert.False(result.Raised(Rule));
        Assert.Equal(RecordOutcome.Accepted, result.Outcome);
    }

    [Fact]
    public void LargeValueReport_UtcEventBeforeSixteenHundred_BelongsToTheSameShanghaiDay()
    {
        var stream = Stream();

        stream.Send(Of("NON_INDIVIDUAL_TRANSFER").Amount(1_500_000m).At("2026-03-02T20:00:00+08:00"));
        var alert = stream.Send(Of("NON_INDIVIDUAL_TRANSFER").Amount(500_000m).At("2026-03-02T15:59:59Z")).Single(Rule);

        Assert.Equal("2026-03-02", alert.Metrics.Day);
        Assert.Equal(new DateTimeOffset(2026, 3, 2, 15, 59, 59, TimeSpan.Zero), alert.Ts);
        Assert.Equal(TimeSpan.Zero, alert.Ts.Offset);   // the alert echoes the time as written
    }

    [Fact]
    public void LargeValueReport_UtcEventOnTheNextShanghaiDay_StartsItsOwnAccumulator()
    {
        var stream = Stream();

        stream.Send(Of("NON_INDIVIDUAL_TRANSFER").Amount(1_500_000m).At("2026-03-02T20:00:00+08:00"));
        stream.Send(Of("NON_INDIVIDUAL_TRANSFER").Amount(1_500_000m).At("2026-03-02T16:00:00Z"));
        var alert = stream.Send(Of("NON_INDIVIDUAL_TRANSFER").Amount(500_000m).At("2026-03-03T08:00:00+08:00")).Single(Rule);

        Assert.Equal("2026-03-03", alert.Metrics.Day);
        Assert.Equal(2_000_000m, alert.Metrics.Observed);
    }

    [Theory]
    [InlineData("2026-03-02T15:59:59.9999999Z", "2026-03-02")]     // the last tick of 2 March in Shanghai
    [InlineData("2026-03-02T15:59:59.999999999Z", "2026-03-02")]   // digits past the tick are dropped, not rounded up
    [InlineData("2026-03-02T16:00:00Z", "2026-03-03")]
    [InlineData("2026-03-02T10:59:59.9999999-05:00", "2026-03-02")]
    [InlineData("2026-03-02T11:00:00-05:00", "2026-03-03")]
    [InlineData("2026-03-03T05:29:59.9999999+13:30", "2026-03-02")]
    [InlineData("2026-03-03T05:30:00+13:30", "2026-03-03")]
    public void LargeValueReport_AroundShanghaiMidnightWrittenInOtherOffsets_CountsOnItsShanghaiDay(string ts, string day)
    {
        var stream = Stream();
        stream.Send(Of("NON_INDIVIDUAL_TRANSFER").Amount(1_000_000m).At("2026-03-02T12:00:00+08:00"));
        stream.Send(Of("NON_INDIVIDUAL_TRANSFER").Amount(1_000_000m).At("2026-03-03T12:00:00+08:00"));

        var alert = stream.Send(Of("NON_INDIVIDUAL_TRANSFER").Amount(1_000_000m).At(ts)).Single(Rule);

        Assert.Equal(day, alert.Metrics.Day);
    }

    [Fact]
    public void LargeValueReport_LeapDay_IsADayOfItsOwn()
    {
        var stream = Stream();

        var february28 = stream.Send(Of("NON_INDIVIDUAL_TRANSFER").Amount(1_500_000m).At("2028-02-28T23:59:59.9999999+08:00"));
        var leapDay = stream.Send(Of("NON_INDIVIDUAL_TRANSFER").Amount(1_999_999.9999m).At("2028-02-28T16:00:00Z"));
        var reaching = stream.Send(Of("NON_INDIVIDUAL_TRANSFER").Amount(0.0001m).At("2028-02-29T23:59:59.9999999+08:00"));
        var march1 = stream.Send(Of("NON_INDIVIDUAL_TRANSFER").Amount(2_000_000m).At("2028-02-29T16:00:00Z"));

        february28.AssertNotRaised(Rule);
        leapDay.AssertNotRaised(Rule);
        Assert.Equal("2028-02-29", reaching.Single(Rule).Metrics.Day);
        Assert.Equal(2_000_000m, reaching.Single(Rule).Metrics.Observed);
        Assert.Equal("2028-03-01", march1.Single(Rule).Metrics.Day);
    }

    [Theory]
    [InlineData("FTI0001", "INDIVIDUAL_CROSS_BORDER", 200_000)]   // unknown entity: individual by kind
    [InlineData("FTF0001", "INDIVIDUAL_CROSS_BORDER", 200_000)]
    [InlineData("EFF0001", "INDIVIDUAL_CROSS_BORDER", 200_000)]
    [InlineData("FTU0001", "NON_INDIVIDUAL_TRANSFER", 2_000_000)]   // interbank: FI
    [InlineData("EFU0001", "NON_INDIVIDUAL_TRANSFER", 2_000_000)]
    [InlineData("FTE0001", "NON_INDIVIDUAL_TRANSFER", 2_000_000)]   // corporate
    public void LargeValueReport_EntityUnknown_CustomerTypeComesFromTheAccountKind(string account, string category, int threshold)
    {
        var stream = Stream();

        var below = stream.Send(TestStreams.Event().Account(account).Entity("U1").Amount(threshold - 0.01m));
        var at = stream.Send(TestStreams.Event().Account(account).Entity("U1").Amount(0.01m));

        Assert.False(below.Raised(Rule));
        Assert.Equal(category, at.Single(Rule).Metrics.Category);
    }

    [Fact]
    public void LargeValueReport_ReferenceTypeIndividualOnEfeAccount_UsesTheReferenceType()
    {
        var result = Stream().Send(TestStreams.Event().Account("EFE0001").Entity("P1").Amount(200_000m));

        Assert.Equal("INDIVIDUAL_CROSS_BORDER", result.Single(Rule).Metrics.Category);
    }

    [Fact]
    public void LargeValueReport_LateEventOfTheSameDay_StillAccumulatesAndRaises()
    {
        var stream = Stream();

        stream.Send(Of("NON_INDIVIDUAL_TRANSFER").Amount(1_500_000m).At(TestStreams.T0.AddHours(2)));
        var late = stream.Send(Of("NON_INDIVIDUAL_TRANSFER").Amount(500_000m).At(TestStreams.T0));   // 2 hours late

        Assert.Equal(1, stream.Engine.Counters.Late);
        Assert.Equal(2_000_000m, late.Single(Rule).Metrics.Observed);
    }

    [Fact]
    public void LargeValueReport_EventSevenDaysBehindNewest_StillAccumulates()
    {
        var stream = Stream();

        stream.Send(Of("CASH").Amount(1m).At(TestStreams.T0.AddDays(7)));
        var result = stream.Send(Of("CASH").Amount(50_000m).At(TestStreams.T0));

        Assert.Equal("2026-03-02", result.Single(Rule).Metrics.Day);
    }

    [Fact]
    public void LargeValueReport_EventOlderThanRetention_IsNotAccumulated()
    {
        var stream = Stream();

        stream.Send(Of("CASH").Amount(1m).At(TestStreams.T0.AddDays(8)));
        var result = stream.Send(Of("CASH").Amount(50_000m).At(TestStreams.T0));

        result.AssertNotRaised(Rule);
    }
}
