using FlowWatch.Core.Contracts;
using FlowWatch.Core.Engine;

namespace FlowWatch.Core.Tests.Rules;

/// <summary>
/// DORMANT_REACTIVATION (RULES.md §5): the entity's previous activity (its newest event at or before e by event time,
/// or reference lastActivity when it has none) is ≥ 180 days before e, and e's CNY-equivalent is ≥ 500,000.
/// </summary>
public sealed class DormantReactivationTests
{
    private const string Rule = "DORMANT_REACTIVATION";

    private static readonly DateTimeOffset LastActivity = new(2025, 9, 1, 9, 0, 0, TimeSpan.FromHours(8));

    private static TestStream Stream() => TestStreams.Reference()
        .Entity("D1", lastActivity: LastActivity)
        .Entity("N1")
        .Stream();

    private static EventBuilder Payment(decimal amount, DateTimeOffset at, string entity = "D1", string currency = "CNY") =>
        TestStreams.Event().Entity(entity).Amount(amount, currency).At(at);

    [Fact]
    public void DormantReactivation_OneSecondShortOf180DaysAfterReferenceActivity_RaisesNothing()
    {
        var result = Stream().Send(Payment(500_000m, LastActivity.AddDays(180).AddSeconds(-1)));

        result.AssertNotRaised(Rule);
    }

    [Fact]
    public void DormantReactivation_Exactly180DaysAfterReferenceActivity_RaisesSeverityIWithMetrics()
    {
        var result = Stream().Send(Payment(500_000m, LastActivity.AddDays(180)));

        var alert = result.Single(Rule);
        Assert.Equal(Severity.I, alert.Severity);
        Assert.NotEmpty(alert.Refs);
        Assert.Equal(180m, alert.Metrics.DaysSincePreviousActivity);
        Assert.Equal(180m, alert.Metrics.Observed);   // observed and threshold are the pair the rule compared: days
        Assert.Equal(180m, alert.Metrics.Threshold);
        Assert.Equal(500_000m, alert.Metrics.AmountCny);
    }

    [Theory]
    [InlineData("499999.99", "CNY", false)]
    [InlineData("499999.9999", "CNY", false)]
    [InlineData("500000", "CNY", true)]
    [InlineData("704225.35", "HKD", false)]   // 499,999.9985 CNY
    [InlineData("704225.36", "HKD", true)]    // 500,000.0056 CNY
    public void DormantReactivation_AmountAroundThreshold_RaisesAtOrAbove(string amount, string currency, bool expected)
    {
        var value = decimal.Parse(amount, System.Globalization.CultureInfo.InvariantCulture);

        var result = Stream().Send(Payment(value, LastActivity.AddDays(365), currency: currency));

        Assert.Equal(RecordOutcome.Accepted, result.Outcome);
        Assert.Equal(expected, result.Raised(Rule));
    }

    [Fact]
    public void DormantReactivation_OutwardPayment_RaisesToo()
    {
        Stream().Send(Payment(600_000m, LastActivity.AddDays(200)).Out()).AssertRaised(Rule);
    }

    [Fact]
    public void DormantReactivation_ReferenceActivityAfterTheEntitysFirstEvent_IsNotUsedAgain()
    {
        var stream = Stream();

        var small = stream.Send(Payment(100m, LastActivity.AddDays(200)));                 // dormant, but small
        var large = stream.Send(Payment(1_000_000m, LastActivity.AddDays(200).AddHours(1)));   // previous activity: 1h ago

        small.AssertNotRaised(Rule);
        large.AssertNotRaised(Rule);
    }

    [Fact]
    public void DormantReactivation_OwnPreviousEvent180DaysEarlier_Raises()
    {
        var stream = Stream();
        var first = TestStreams.T0;

        var results = stream.SendAll([
            Payment(100m, first, "N1"),
            Payment(500_000m, first.AddDays(180).AddSeconds(-1), "N1"),
        ]);
        var again = Stream();
        var exact = again.SendAll([Payment(100m, first, "N1"), Payment(500_000m, first.AddDays(180), "N1")]);

        Assert.All(results, r => r.AssertNotRaised(Rule));
        exact[1].AssertRaised(Rule);
    }

    [Fact]
    public void DormantReactivation_DormancyOfMoreDaysThanTicksCanCount_RaisesNothingAfterAMinute()
    {
        // 100,000,000 days are about 8.6 × 10^19 ticks, beyond a long: the longer the dormancy, the rarer the alert.
        var stream = TestStreams.Reference().Entity("N1").Stream(new RuleSettings { DormantDays = 100_000_000 });

        var results = stream.SendAll([Payment(500_000m, TestStreams.T0, "N1"), Payment(500_000m, TestStreams.T0.AddMinutes(1), "N1")]);

        Assert.All(results, r => r.AssertNotRaised(Rule));
    }

    [Fact]
    public void DormantReactivation_NoReferenceActivityAndNoEvents_RaisesNothing()
    {
        var results = Stream().SendAll([Payment(5_000_000m, TestStreams.T0, "N1"), Payment(5_000_000m, TestStreams.T0, "UNKNOWN")]);

        Assert.All(results, r => r.AssertNotRaised(Rule));
    }

    [Fact]
    public void DormantReactivation_AfterReactivation_NextEventIsNotDormant()
    {
        var stream = Stream();

        var first = stream.Send(Payment(500_000m, LastActivity.AddDays(400)));
        var second = stream.Send(Payment(500_000m, LastActivity.AddDays(400).AddMinutes(1)));

        first.AssertRaised(Rule);
        second.AssertNotRaised(Rule);
    }

    /// <summary>
    /// By event time (DESIGN.md §4): a reactivation that arrives three minutes after a small payment dated after it is
    /// still a reactivation, from exactly 180 days after the reference's activity; a second short of them it is not.
    /// </summary>
    [Theory]
    [InlineData(200, true)]
    [InlineData(180, true)]
    [InlineData(179.999988, false)]   // a second short
    public void DormantReactivation_ArrivingAfterASmallerPaymentDatedAfterIt_IsJudgedByEventTime(double days, bool expected)
    {
        var stream = Stream();
        var reactivation = LastActivity.AddSeconds(Math.Round(days * 86_400));

        var small = stream.Send(Payment(100m, reactivation.AddMinutes(3)));
        var large = stream.Send(Payment(1_000_000m, reactivation));

        small.AssertNotRaised(Rule);
        Assert.Equal(expected, large.Raised(Rule));
    }

    [Fact]
    public void DormantReactivation_OutOfOrder_TakesTheNewestEventAtOrBeforeIt()
    {
        var stream = Stream();
        var at = LastActivity.AddDays(300);

        stream.Send(Payment(100m, at.AddMinutes(-2)));                       // in order: dormant, but small
        stream.Send(Payment(100m, at.AddMinutes(4)));
        var large = stream.Send(Payment(1_000_000m, at));                     // out of order: 2 minutes after the first

        large.AssertNotRaised(Rule);
    }

    /// <summary>
    /// The window keeps a day and the lateness bound: an event older than that has left it, and a late one never
    /// joined it. Either is still the previous activity of an out-of-order event after it.
    /// </summary>
    [Fact]
    public void DormantReactivation_OutOfOrder_SeesEventsTheWindowDroppedOrNeverHeld()
    {
        var n1 = TestStreams.T0;
        var dropped = Stream();
        dropped.SendAll([Payment(100m, n1, "N1"), Payment(100m, n1.AddDays(181).AddMinutes(3), "N1")]);   // the first leaves the window
        var afterDropped = dropped.Send(Payment(1_000_000m, n1.AddDays(181), "N1"));

        // D1's reference activity is 300 days before: only the late payment, a day before, says it is not dormant.
        var late = Stream();
        var at = LastActivity.AddDays(300);
        late.SendAll([
            Payment(100m, at),
            Payment(100m, at.AddDays(-1)),                                       // late: beyond the 5-minute bound
            Payment(100m, at.AddMinutes(4)),
        ]);
        var afterLate = late.Send(Payment(1_000_000m, at.AddMinutes(-1)));     // before every event the window holds

        afterDropped.AssertRaised(Rule);
        Assert.Equal(181m, afterDropped.Single(Rule).Metrics.DaysSincePreviousActivity);
        afterLate.AssertNotRaised(Rule);
        Assert.Equal(1, late.Entity("D1").LateEvents);
    }

    [Fact]
    public void DormantReactivation_LateEvent_IsJudgedAgainstTheNewestEventAndNeverFires()
    {
        var stream = Stream();

        stream.Send(Payment(100m, LastActivity.AddDays(300)));
        var late = stream.Send(Payment(1_000_000m, LastActivity.AddDays(300).AddMinutes(-6)));

        Assert.Equal(1, stream.Entity("D1").LateEvents);
        late.AssertNotRaised(Rule);
    }

    [Fact]
    public void DormantReactivation_DaysSincePreviousActivity_IsReportedInDaysAsObservedAgainstTheDormantDays()
    {
        var result = Stream().Send(Payment(750_000m, LastActivity.AddDays(200).AddHours(12)));

        var metrics = result.Single(Rule).Metrics;
        Assert.Equal((200.5m, 200.5m, 180m), (metrics.DaysSincePreviousActivity, metrics.Observed, metrics.Threshold));
        Assert.Equal((750_000m, 750_000m), (metrics.Amount, metrics.AmountCny));
    }
}
