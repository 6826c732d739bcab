using System.Globalization;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Engine;

namespace FlowWatch.Core.Tests.Rules;

/// <summary>
/// RAPID_PASS_THROUGH (RULES.md §5): on an OUT event, IN24 ≥ 500,000 CNY-eq. and OUT24 ≥ 0.9 × IN24 over the
/// trailing 24h (the event included); then silent for the entity for 24h.
/// </summary>
public sealed class RapidPassThroughTests
{
    private const string Rule = "RAPID_PASS_THROUGH";

    private static TestStream Stream() => TestStreams.Reference().Entity("C1").Entity("C2").Stream();

    private static EventBuilder In(decimal amount, TimeSpan at, string currency = "CNY", string entity = "C1") =>
        TestStreams.Event().Entity(entity).In().Amount(amount, currency).At(TestStreams.T0 + at);

    private static EventBuilder Out(decimal amount, TimeSpan at, string currency = "CNY", string entity = "C1") =>
        In(amount, at, currency, entity).Out();

    private static TimeSpan H(double hours) => TimeSpan.FromHours(hours);

    private static bool[] Fired(IEnumerable<StepResult> results) => results.Select(r => r.Raised(Rule)).ToArray();

    [Theory]
    [InlineData("499999.99", "499999.99", false)]   // IN24 below 500,000
    [InlineData("500000", "449999.99", false)]      // OUT24 below 0.9 × IN24
    [InlineData("499999.9999", "499999.9999", false)]
    [InlineData("500000", "449999.9999", false)]
    [InlineData("500000", "450000", true)]          // both exactly at their boundary
    [InlineData("500000.01", "450000.009", true)]
    [InlineData("500000.01", "450000.008", false)]
    [InlineData("1000000", "1000000", true)]
    [InlineData("1000000", "5000000", true)]
    public void RapidPassThrough_InThenOut_RaisesAtTheBoundaries(string inflow, string outflow, bool expected)
    {
        var results = Stream().SendAll([
            In(decimal.Parse(inflow, CultureInfo.InvariantCulture), H(0)),
            Out(decimal.Parse(outflow, CultureInfo.InvariantCulture), H(1)),
        ]);

        Assert.Equal([false, expected], Fired(results));
    }

    [Fact]
    public void RapidPassThrough_Fires_CarriesSeverityAndMetrics()
    {
        var results = Stream().SendAll([In(500_000m, H(0)), Out(450_000m, H(1))]);

        var alert = results[1].Single(Rule);
        Assert.Equal(Severity.II, alert.Severity);
        Assert.Equal(500_000m, alert.Metrics.InflowCny);
        Assert.Equal(450_000m, alert.Metrics.OutflowCny);
        Assert.Equal(450_000m, alert.Metrics.Threshold);
        Assert.NotEmpty(alert.Refs);
        Assert.Contains(alert.Refs, r => r.Contains("§21", StringComparison.Ordinal));
    }

    [Fact]
    public void RapidPassThrough_InEventCompletingThePattern_DoesNotFire()
    {
        var results = Stream().SendAll([
            Out(450_000m, H(0)),
            In(500_000m, H(1)),     // IN event: never fires
            Out(0.01m, H(2)),       // the next OUT event does
        ]);

        Assert.Equal([false, false, true], Fired(results));
        Assert.Equal(450_000.01m, results[2].Single(Rule).Metrics.OutflowCny);
    }

    [Fact]
    public void RapidPassThrough_SeveralOutEvents_AreSummed()
    {
        var results = Stream().SendAll([In(1_000_000m, H(0)), Out(500_000m, H(1)), Out(399_999.99m, H(2)), Out(0.01m, H(3))]);

        Assert.Equal([false, false, false, true], Fired(results));
        Assert.Equal(900_000m, results[3].Single(Rule).Metrics.OutflowCny);
    }

    [Fact]
    public void RapidPassThrough_SeveralInEvents_AreSummed()
    {
        var results = Stream().SendAll([In(250_000m, H(0)), In(249_999.99m, H(1)), Out(1_000_000m, H(2)), In(0.01m, H(3)), Out(1m, H(4))]);

        Assert.Equal([false, false, false, false, true], Fired(results));
        Assert.Equal(500_000m, results[4].Single(Rule).Metrics.InflowCny);
    }

    [Fact]
    public void RapidPassThrough_InflowExactly24HoursEarlier_IsOutsideTheWindow()
    {
        var results = Stream().SendAll([In(500_000m, H(0)), Out(450_000m, H(24))]);

        Assert.Equal([false, false], Fired(results));
    }

    [Fact]
    public void RapidPassThrough_InflowOneSecondLessThan24HoursEarlier_IsInsideTheWindow()
    {
        var results = Stream().SendAll([In(500_000m, H(0)), Out(450_000m, H(24) - TimeSpan.FromSeconds(1))]);

        Assert.Equal([false, true], Fired(results));
    }

    [Fact]
    public void RapidPassThrough_AfterFiring_IsSilentFor24HoursThenFiresAgain()
    {
        var results = Stream().SendAll([
            In(500_000m, H(0)),
            Out(450_000m, H(1)),                               // fires at t = 1h
            In(500_000m, H(2)),
            Out(900_000m, H(3)),                               // silent
            Out(1m, H(25) - TimeSpan.FromSeconds(1)),          // silent
            Out(1m, H(25)),                                    // (1h, 25h]: IN 500,000, OUT 900,002: fires
        ]);

        Assert.Equal([false, true, false, false, false, true], Fired(results));
        var again = results[5].Single(Rule);
        Assert.Equal(500_000m, again.Metrics.InflowCny);
        Assert.Equal(900_002m, again.Metrics.OutflowCny);
    }

    [Fact]
    public void RapidPassThrough_SuppressionLongerThanTicksCanAddUp_StaysSilent()
    {
        // 10,000,000 days are 8.64 × 10^18 ticks: added to an event time they would pass long's range.
        var stream = TestStreams.Reference().Entity("C1").Stream(new RuleSettings { Suppression = TimeSpan.FromDays(10_000_000) });

        var results = stream.SendAll([In(500_000m, H(0)), Out(450_000m, H(1)), In(500_000m, H(2)), Out(900_000m, H(3))]);

        Assert.Equal([false, true, false, false], Fired(results));
    }

    [Theory]
    [InlineData("638999.99", false)]
    [InlineData("639000", true)]   // 0.9 × 710,000
    public void RapidPassThrough_ForeignCurrencyInflow_ComparesCnyEquivalents(string outflow, bool expected)
    {
        var results = Stream().SendAll([In(100_000m, H(0), "USD"), Out(decimal.Parse(outflow, CultureInfo.InvariantCulture), H(1))]);

        Assert.Equal([false, expected], Fired(results));
        if (expected) Assert.Equal(710_000m, results[1].Single(Rule).Metrics.InflowCny);
    }

    [Fact]
    public void RapidPassThrough_AfterAnInflowBeyond10To18HasLeftTheWindow_SumsTheRemainingInflowsExactly()
    {
        // XAU at the largest rate: 10^15 units are 10^21 CNY, beyond the 28 digits that keep a sum's 10 decimals. While
        // it is in the window the sum rounds; once it has left, IN24 is again the exact 499,999.99999995 of the rest.
        var stream = TestStreams.Reference().Entity("C1").Rate("XAU", 1_000_000m).Rate("ZZZ", 0.9995m).Stream();

        var results = stream.SendAll([
            In(1_000_000_000_000_000m, H(0), "XAU"),
            In(499_999.9999m, H(1)),
            In(0.0001m, H(1) + TimeSpan.FromSeconds(1), "ZZZ"),   // 0.00009995 CNY
            Out(450_000m, H(24) + TimeSpan.FromSeconds(1)),       // the XAU inflow has left: IN24 < 500,000
            In(0.0001m, H(24) + TimeSpan.FromSeconds(2)),         // IN24 = 500,000.00009995
            Out(0.0001m, H(24) + TimeSpan.FromSeconds(3)),
        ]);

        Assert.Equal([false, false, false, false, false, true], Fired(results));
        Assert.Equal(500_000.00009995m, results[5].Single(Rule).Metrics.InflowCny);
    }

    [Fact]
    public void RapidPassThrough_OtherEntitiesFlows_DoNotCombine()
    {
        var results = Stream().SendAll([In(500_000m, H(0), entity: "C2"), Out(450_000m, H(1))]);

        Assert.Equal([false, false], Fired(results));
    }
}
