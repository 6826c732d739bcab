using System.Globalization;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Engine;

namespace FlowWatch.Core.Tests.Rules;

/// <summary>
/// FAN_IN / FAN_OUT (RULES.md §5, SEMANTICS.md): the distinct cpAccount values of the entity's IN (OUT) events in
/// trailing 24h reach 20 on e; then silent for that entity and direction for 24h.
/// </summary>
public sealed class FanInFanOutTests
{
    private static TestStream Stream() => TestStreams.Reference().Entity("C1").Entity("C2").Stream();

    private static string Cp(int i) => "CP" + i.ToString("00", CultureInfo.InvariantCulture);

    private static EventBuilder From(int counterparty, TimeSpan at, bool outward = false, string entity = "C1")
    {
        var e = TestStreams.Event().Entity(entity).Amount(100m).CpAccount(Cp(counterparty)).At(TestStreams.T0 + at);
        return outward ? e.Out() : e;
    }

    private static TimeSpan M(int minutes) => TimeSpan.FromMinutes(minutes);

    /// <summary>Counterparties first..last, one a minute from <paramref name="start"/>.</summary>
    private static IEnumerable<EventBuilder> Distinct(int first, int last, TimeSpan start, bool outward = false) =>
        Enumerable.Range(first, last - first + 1).Select(i => From(i, start + M(i - first), outward));

    [Fact]
    public void FanIn_NineteenDistinctCounterparties_RaisesNothing()
    {
        var results = Stream().SendAll(Distinct(1, 19, M(0)));

        Assert.All(results, r => Assert.Empty(r.Alerts));
    }

    [Fact]
    public void FanIn_TwentiethDistinctCounterparty_RaisesSeverityIWithMetrics()
    {
        var results = Stream().SendAll(Distinct(1, 20, M(0)));

        Assert.All(results.Take(19), r => Assert.DoesNotContain("FAN_IN", r.Rules));
        var alert = results[19].Single("FAN_IN");
        Assert.Equal(Severity.I, alert.Severity);
        Assert.Equal(20, alert.Metrics.Count);
        Assert.Equal(20m, alert.Metrics.Observed);   // the count compared with the threshold
        Assert.Equal(20m, alert.Metrics.Threshold);
        Assert.Equal("IN", alert.Metrics.Direction);
        Assert.NotEmpty(alert.Refs);
        Assert.DoesNotContain("FAN_OUT", results[19].Rules);
    }

    [Fact]
    public void FanOut_TwentiethDistinctCounterparty_RaisesFanOut()
    {
        var results = Stream().SendAll(Distinct(1, 20, M(0), outward: true));

        Assert.All(results.Take(19), r => Assert.DoesNotContain("FAN_OUT", r.Rules));
        var alert = results[19].Single("FAN_OUT");
        Assert.Equal(Severity.I, alert.Severity);
        Assert.Equal(20, alert.Metrics.Count);
        Assert.Equal(20m, alert.Metrics.Observed);
        Assert.Equal(20m, alert.Metrics.Threshold);
        Assert.Equal("OUT", alert.Metrics.Direction);
        Assert.DoesNotContain("FAN_IN", results[19].Rules);
    }

    [Fact]
    public void FanIn_RepeatedCounterparties_CountOnce()
    {
        var stream = Stream();

        var first = stream.SendAll(Distinct(1, 19, M(0)));
        var repeats = stream.SendAll([From(1, M(30)), From(5, M(31)), From(19, M(32)), From(19, M(33))]);
        var twentieth = stream.Send(From(20, M(40)));

        Assert.All(first.Concat(repeats), r => Assert.DoesNotContain("FAN_IN", r.Rules));
        Assert.Equal(20, twentieth.Single("FAN_IN").Metrics.Count);
    }

    [Fact]
    public void FanIn_EventWithoutCounterpartyAccount_AddsNoCounterparty()
    {
        var stream = Stream();

        stream.SendAll(Distinct(1, 19, M(0)));
        var anonymous = stream.Send(TestStreams.Event().Entity("C1").At(TestStreams.T0 + M(30)));
        var twentieth = stream.Send(From(20, M(31)));

        Assert.DoesNotContain("FAN_IN", anonymous.Rules);
        Assert.Equal(20, twentieth.Single("FAN_IN").Metrics.Count);
    }

    [Fact]
    public void FanInAndFanOut_CountTheirDirectionsSeparately()
    {
        var stream = Stream();

        var results = stream.SendAll(Distinct(1, 10, M(0)).Concat(Distinct(11, 20, M(20), outward: true)));

        Assert.All(results, r => Assert.Empty(r.Alerts));
    }

    [Fact]
    public void FanIn_OtherEntitiesCounterparties_DoNotCount()
    {
        var stream = Stream();

        stream.SendAll(Distinct(1, 19, M(0)));
        var other = stream.Send(From(20, M(30), entity: "C2"));

        Assert.Empty(other.Alerts);
    }

    [Fact]
    public void FanIn_CounterpartyExactly24HoursOld_IsOutsideTheWindow()
    {
        var stream = Stream();

        var start = stream.Send(From(1, M(0)));
        stream.SendAll(Distinct(2, 19, M(60)));
        var atEdge = stream.Send(From(20, TimeSpan.FromHours(24)));            // (0, 24h]: CP02..CP20 = 19
        var back = stream.Send(From(1, TimeSpan.FromHours(24) + M(1)));       // CP01 again: 20

        Assert.Empty(start.Alerts);
        Assert.DoesNotContain("FAN_IN", atEdge.Rules);
        Assert.Equal(20, back.Single("FAN_IN").Metrics.Count);
    }

    [Fact]
    public void FanIn_CounterpartyOneSecondLessThan24HoursOld_IsInsideTheWindow()
    {
        var stream = Stream();

        stream.Send(From(1, M(0)));
        stream.SendAll(Distinct(2, 19, M(60)));
        var result = stream.Send(From(20, TimeSpan.FromHours(24) - TimeSpan.FromSeconds(1)));

        Assert.Equal(20, result.Single("FAN_IN").Metrics.Count);
    }

    [Fact]
    public void FanIn_AfterFiring_IsSilentFor24HoursThenFiresAgain()
    {
        var stream = Stream();
        var fired = M(19);   // CP20, the twentieth, arrives at T0 + 19 min

        var first = stream.SendAll(Distinct(1, 20, M(0)));
        var silent = stream.SendAll(Distinct(21, 40, fired + TimeSpan.FromHours(12)));
        var edge = stream.Send(From(41, fired + TimeSpan.FromHours(24) - TimeSpan.FromSeconds(1)));
        var again = stream.Send(From(42, fired + TimeSpan.FromHours(24)));

        Assert.True(first[19].Raised("FAN_IN"));
        Assert.All(silent, r => Assert.DoesNotContain("FAN_IN", r.Rules));
        Assert.DoesNotContain("FAN_IN", edge.Rules);
        Assert.Equal(22, again.Single("FAN_IN").Metrics.Count);   // (fired, fired + 24h]: CP21..CP42
    }

    [Fact]
    public void FanOut_SilenceAfterFanIn_DoesNotSilenceFanOut()
    {
        var stream = Stream();

        var inbound = stream.SendAll(Distinct(1, 20, M(0)));
        var outbound = stream.SendAll(Distinct(21, 40, M(30), outward: true));

        Assert.True(inbound[19].Raised("FAN_IN"));
        Assert.True(outbound[19].Raised("FAN_OUT"));
    }

    /// <summary>
    /// Counterparties are counted by number (CounterpartyIds); a number is given back once the last window entry that
    /// names it is dropped, so a week of ever new counterparties leaves only those of the last day or so numbered.
    /// </summary>
    [Fact]
    public void NewCounterpartiesEveryTenMinutes_ForAWeek_LeaveOnlyTheWindowsNumbered()
    {
        var stream = Stream();
        var events = Enumerable.Range(0, 7 * 24 * 6).Select(i =>
            TestStreams.Event().Entity("C1").Amount(100m).CpAccount("CP-" + i.ToString(CultureInfo.InvariantCulture)).At(TestStreams.T0 + M(10 * i)));
        stream.SendAll(events);

        var shard = stream.Engine.Shards.Single();
        Assert.InRange(shard.CounterpartiesHeld, 144, stream.Entity("C1").Window.Count);
        Assert.True(stream.Entity("C1").Window.Count < 2 * 144, "entries beyond the window and the lateness bound are dropped");
    }

    /// <summary>
    /// A state restored from its snapshot into a fresh engine numbers its counterparties in that engine's table and
    /// counts them as before: the fan rule fires on the same twentieth counterparty.
    /// </summary>
    [Fact]
    public void RestoredState_CountsItsCounterpartiesAsBefore()
    {
        var stream = Stream();
        stream.SendAll(Distinct(1, 19, M(0)));
        var restored = Stream();
        restored.Engine.Restore(StateCodec.DecodeEntity(StateCodec.Encode(stream.Entity("C1")), restored.Engine.Settings.TrailingWindow));

        Assert.Equal(19, restored.Engine.Shards.Single().CounterpartiesHeld);
        Assert.DoesNotContain("FAN_IN", restored.Send(From(5, M(30))).Rules);
        Assert.Contains("FAN_IN", restored.Send(From(20, M(31))).Rules);
    }
}
