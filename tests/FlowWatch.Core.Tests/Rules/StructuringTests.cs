using System.Globalization;
using FlowWatch.Core.Contracts;

namespace FlowWatch.Core.Tests.Rules;

/// <summary>
/// STRUCTURING (RULES.md §5, SEMANTICS.md): per (entity, direction, category, currency class), events in trailing
/// 24h whose own amount lies in [0.9·T, T); fires on the in-band event that makes their count ≥ 3 with sum ≥ T,
/// then silent for that key for 24h. For a corporate CNY transfer T = 2,000,000, so the band is [1,800,000, 2,000,000).
/// </summary>
public sealed class StructuringTests
{
    private const string Rule = "STRUCTURING";

    private static TestStream Stream() => TestStreams.Reference()
        .Entity("C1").Entity("C2").Entity("P1", type: "INDIVIDUAL")
        .Stream();

    private static EventBuilder Transfer(decimal amount, TimeSpan at, string currency = "CNY") =>
        TestStreams.Event().Entity("C1").Amount(amount, currency).At(TestStreams.T0 + at);

    private static TimeSpan H(double hours) => TimeSpan.FromHours(hours);

    private static bool[] Fired(IEnumerable<StepResult> results) => results.Select(r => r.Raised(Rule)).ToArray();

    [Fact]
    public void Structuring_TwoInBandEvents_RaisesNothing()
    {
        var results = Stream().SendAll([Transfer(1_900_000m, H(0)), Transfer(1_900_000m, H(1))]);

        Assert.Equal([false, false], Fired(results));
    }

    [Fact]
    public void Structuring_ThirdInBandEvent_RaisesSeverityIIWithMetrics()
    {
        var results = Stream().SendAll([Transfer(1_800_000m, H(0)), Transfer(1_900_000m, H(1)), Transfer(1_999_999.99m, H(2))]);

        Assert.Equal([false, false, true], Fired(results));
        var alert = results[2].Single(Rule);
        Assert.Equal(Severity.II, alert.Severity);
        Assert.Equal(3, alert.Metrics.Count);
        Assert.Equal(5_699_999.99m, alert.Metrics.Observed);
        Assert.Equal(2_000_000m, alert.Metrics.Threshold);
        Assert.Equal("NON_INDIVIDUAL_TRANSFER", alert.Metrics.Category);
        Assert.Equal("CNY", alert.Metrics.CurrencyClass);
        Assert.Equal("IN", alert.Metrics.Direction);
        Assert.Contains(alert.Refs, r => r.Contains("PBOC", StringComparison.Ordinal));
        Assert.Contains(alert.Refs, r => r.Contains("Hengqin Art.18", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("1800000", true)]       // 0.9·T: in the band
    [InlineData("1799999.99", false)]   // just below 0.9·T
    [InlineData("1799999.9999", false)]   // amounts carry up to 4 decimals
    [InlineData("1999999.9999", true)]
    [InlineData("1999999.99", true)]    // just below T
    [InlineData("2000000", false)]      // T itself is not "just below" it
    [InlineData("2000000.01", false)]
    public void Structuring_ThreeEventsOfOneAmount_RaisesOnlyInsideTheHalfOpenBand(string amount, bool expected)
    {
        var value = decimal.Parse(amount, CultureInfo.InvariantCulture);

        var results = Stream().SendAll([Transfer(value, H(0)), Transfer(value, H(1)), Transfer(value, H(2))]);

        Assert.Equal([false, false, expected], Fired(results));
    }

    [Fact]
    public void Structuring_OutOfBandEventBetweenInBandOnes_IsNotCounted()
    {
        var results = Stream().SendAll([
            Transfer(1_800_000m, H(0)),
            Transfer(1_800_000m, H(1)),
            Transfer(1_799_999.99m, H(2)),   // not in band: nothing, and not counted
            Transfer(2_000_000m, H(3)),      // not in band
            Transfer(1_800_000m, H(4)),      // the third in-band event
        ]);

        Assert.Equal([false, false, false, false, true], Fired(results));
        Assert.Equal(3, results[4].Single(Rule).Metrics.Count);
    }

    [Fact]
    public void Structuring_FirstEventExactly24HoursBefore_IsOutsideTheWindow()
    {
        var results = Stream().SendAll([Transfer(1_800_000m, H(0)), Transfer(1_800_000m, H(1)), Transfer(1_800_000m, H(24))]);

        Assert.Equal([false, false, false], Fired(results));
    }

    [Fact]
    public void Structuring_FirstEventOneSecondLessThan24HoursBefore_IsInsideTheWindow()
    {
        var results = Stream().SendAll([
            Transfer(1_800_000m, H(0)), Transfer(1_800_000m, H(1)), Transfer(1_800_000m, H(24) - TimeSpan.FromSeconds(1)),
        ]);

        Assert.Equal([false, false, true], Fired(results));
    }

    [Fact]
    public void Structuring_WindowSlides_OlderEventsDropOutAndNewerOnesCount()
    {
        var results = Stream().SendAll([
            Transfer(1_800_000m, H(0)),
            Transfer(1_800_000m, H(1)),
            Transfer(1_800_000m, H(24)),                              // (0h, 24h]: two
            Transfer(1_800_000m, H(24) + TimeSpan.FromSeconds(1)),    // (0h+1s, 24h+1s]: three
        ]);

        Assert.Equal([false, false, false, true], Fired(results));
        Assert.Equal(3, results[3].Single(Rule).Metrics.Count);
    }

    [Fact]
    public void Structuring_AfterFiring_IsSilentFor24HoursThenFiresAgain()
    {
        var results = Stream().SendAll([
            Transfer(1_800_000m, H(0)),
            Transfer(1_800_000m, H(1)),
            Transfer(1_800_000m, H(2)),                               // fires at t = 2h
            Transfer(1_800_000m, H(3)),                               // silent
            Transfer(1_800_000m, H(26) - TimeSpan.FromSeconds(1)),    // silent: t + 24h − 1s
            Transfer(1_800_000m, H(26)),                              // t + 24h: fires again
        ]);

        Assert.Equal([false, false, true, false, false, true], Fired(results));
        Assert.Equal(3, results[5].Single(Rule).Metrics.Count);   // (2h, 26h]: 3h, 26h − 1s, 26h
    }

    [Fact]
    public void Structuring_DirectionsAreSeparateKeys()
    {
        var results = Stream().SendAll([Transfer(1_800_000m, H(0)), Transfer(1_800_000m, H(1)).Out(), Transfer(1_800_000m, H(2))]);

        Assert.Equal([false, false, false], Fired(results));
    }

    [Fact]
    public void Structuring_CurrencyClassesAreSeparateKeys()
    {
        // 180,000 USD is in the FX band [180,000, 200,000) but is another key than the CNY events.
        var results = Stream().SendAll([Transfer(1_800_000m, H(0)), Transfer(180_000m, H(1), "USD"), Transfer(1_800_000m, H(2))]);

        Assert.Equal([false, false, false], Fired(results));
    }

    [Fact]
    public void Structuring_SuppressionIsPerKey_OtherDirectionStillFires()
    {
        var results = Stream().SendAll([
            Transfer(1_800_000m, H(0)), Transfer(1_800_000m, H(1)), Transfer(1_800_000m, H(2)),
            Transfer(1_800_000m, H(3)).Out(), Transfer(1_800_000m, H(4)).Out(), Transfer(1_800_000m, H(5)).Out(),
        ]);

        Assert.Equal([false, false, true, false, false, true], Fired(results));
        Assert.Equal("OUT", results[5].Single(Rule).Metrics.Direction);
    }

    [Fact]
    public void Structuring_EntitiesAreSeparate()
    {
        var results = Stream().SendAll([Transfer(1_800_000m, H(0)), Transfer(1_800_000m, H(1)).Entity("C2"), Transfer(1_800_000m, H(2))]);

        Assert.Equal([false, false, false], Fired(results));
    }

    [Theory]
    [InlineData("USD", "180000")]      // T = 200,000 USD
    [InlineData("HKD", "1800000")]     // 180,000 USD
    [InlineData("EUR", "163636.37")]   // 180,000.007 USD
    public void Structuring_FxTransfers_UseTheUsdEquivalentBand(string currency, string amount)
    {
        var value = decimal.Parse(amount, CultureInfo.InvariantCulture);

        var results = Stream().SendAll([Transfer(value, H(0), currency), Transfer(value, H(1), currency), Transfer(value, H(2), currency)]);

        Assert.Equal([false, false, true], Fired(results));
        var alert = results[2].Single(Rule);
        Assert.Equal("FX", alert.Metrics.CurrencyClass);
        Assert.Equal(200_000m, alert.Metrics.Threshold);
    }

    [Fact]
    public void Structuring_FxJustBelowTheBand_RaisesNothing()
    {
        var results = Stream().SendAll([Transfer(163_636.36m, H(0), "EUR"), Transfer(163_636.36m, H(1), "EUR"), Transfer(163_636.36m, H(2), "EUR")]);

        Assert.Equal([false, false, false], Fired(results));   // 179,999.996 USD each
    }

    [Fact]
    public void Structuring_CashBelowTheCashThreshold_UsesTheCashBand()
    {
        EventBuilder Cash(decimal amount, double hours) =>
            TestStreams.Event().Account("NRA0001").Entity("C1").Cash().Amount(amount).At(TestStreams.T0 + H(hours));

        var results = Stream().SendAll([Cash(45_000m, 0), Cash(49_999.99m, 1), Cash(45_000m, 2)]);

        Assert.Equal([false, false, true], Fired(results));
        Assert.Equal("CASH", results[2].Single(Rule).Metrics.Category);
        Assert.Equal(50_000m, results[2].Single(Rule).Metrics.Threshold);
        Assert.Equal("Entity C1 made 3 inward cash payments within 24 hours, each just below the 50,000 CNY report threshold, totalling 139,999.99 CNY.",
            results[2].Single(Rule).Message);
    }

    [Fact]
    public void Structuring_IndividualCrossBorder_UsesItsOwnBand()
    {
        EventBuilder Individual(decimal amount, double hours) =>
            TestStreams.Event().Entity("P1").Amount(amount).At(TestStreams.T0 + H(hours));

        var results = Stream().SendAll([Individual(180_000m, 0), Individual(199_999.99m, 1), Individual(180_000m, 2)]);

        Assert.Equal([false, false, true], Fired(results));
        Assert.Equal("INDIVIDUAL_CROSS_BORDER", results[2].Single(Rule).Metrics.Category);
    }
}
