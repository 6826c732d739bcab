using FlowWatch.Core.Decoding;
using FlowWatch.Core.Engine;

namespace FlowWatch.Core.Tests.Engine;

/// <summary>
/// The engine keeps what it looked up per pooled account and name; these show that what it keeps never outlives what
/// it was looked up for: the entity an event names, the reference data in force, the state restored.
/// </summary>
public sealed class ReferenceMemoTests
{
    private static ReferenceBuilder Reference() => TestStreams.Reference()
        .Entity("E1").Entity("E2", sanctioned: true)
        .Account("EFE0001", "EFE", "E1");

    [Fact]
    public void OneAccount_EventsNamingDifferentEntities_EachGetsItsOwnHolderAndState()
    {
        var stream = Reference().Stream();
        var results = new List<StepResult>();
        for (var i = 0; i < 6; i++)
        {
            var entity = i % 3 == 2 ? "E2" : i % 3 == 1 ? null : "E1";   // E1 named, E1 from the account, E2 named
            results.Add(stream.Send(TestStreams.Event($"T{i}").Entity(entity).At(TestStreams.T0.AddMinutes(i))));
        }

        for (var i = 0; i < 6; i++)
        {
            if (i % 3 == 2) results[i].AssertRaised("SANCTIONED_PARTY");
            else results[i].AssertNotRaised("SANCTIONED_PARTY");
        }
        Assert.Equal(4, stream.Entity("E1").Events);
        Assert.Equal(2, stream.Entity("E2").Events);
    }

    [Fact]
    public void CounterpartyAccount_HolderSanctionedOnlyInNewReferenceData_RaisesAfterTheChange()
    {
        var stream = Reference().Account("DOM0009", "DOMESTIC", "E9").Entity("E9").Stream();
        var before = stream.Send(TestStreams.Event("T1").Cp("DOMESTIC", account: "DOM0009"));
        stream.Engine.UpdateReference(Reference().Account("DOM0009", "DOMESTIC", "E9").Entity("E9", sanctioned: true).Build());
        var after = stream.Send(TestStreams.Event("T2").Cp("DOMESTIC", account: "DOM0009"));

        before.AssertNotRaised("SANCTIONED_PARTY");
        after.AssertRaised("SANCTIONED_PARTY");
    }

    [Fact]
    public void SanctionedName_ListedOnlyInNewReferenceData_RaisesAfterTheChange()
    {
        var stream = Reference().Sanction("SOMEONE ELSE").Stream();
        var before = stream.Send(TestStreams.Event("T1").Cp("OFFSHORE", name: "Red Pine Ltd"));
        stream.Engine.UpdateReference(Reference().Sanction("RED PINE LTD").Build());
        var after = stream.Send(TestStreams.Event("T2").Cp("OFFSHORE", name: "Red Pine Ltd"));

        before.AssertNotRaised("SANCTIONED_PARTY");
        after.AssertRaised("SANCTIONED_PARTY");
    }

    [Fact]
    public void RestoredState_ReplacesTheStateKeptForItsAccount()
    {
        var stream = Reference().Stream();
        stream.Send(TestStreams.Event("T1").Entity(null));
        var restored = new EntityState("E1");
        stream.Engine.Restore(restored);
        stream.Send(TestStreams.Event("T2").Entity(null).At(TestStreams.T0.AddMinutes(1)));

        Assert.Same(restored, stream.Entity("E1"));
        Assert.Equal(1, restored.Events);
    }

    [Fact]
    public void ControlRecord_NewParametersOnTheSameReferenceData_LookupsStillHold()
    {
        var stream = Reference().Sanction("RED PINE LTD").Stream();
        var before = stream.Send(TestStreams.Event("T1").Entity(null).Cp("OFFSHORE", name: "Red Pine Ltd"));
        Assert.Equal(RecordOutcome.Control, stream.Parameters(TestStreams.T0, "\"whitelistRequired\":false").Outcome);
        var after = stream.Send(TestStreams.Event("T2").Entity(null).Cp("OFFSHORE", name: "Red Pine Ltd").At(TestStreams.T0.AddMinutes(1)));

        before.AssertRaised("SANCTIONED_PARTY");
        after.AssertRaised("SANCTIONED_PARTY");
        Assert.Equal(2, stream.Entity("E1").Events);
    }

    /// <summary>
    /// A string pool that fills starts afresh, and the engine forgets what it kept per symbol: every event then resolves
    /// as with a pool that never fills (a symbol given again names another string), and later accounts and names are
    /// pooled again rather than allocated on every event.
    /// </summary>
    [Fact]
    public void FullStringPool_StartsAfresh_EveryEventResolvesAsWithARoomyPool()
    {
        var reference = TestStreams.Reference().Sanction("RED PINE LTD");
        for (var i = 0; i < 8; i++)
        {
            reference = reference.Entity($"E{i}", sanctioned: i == 5).Account($"EFE{i:D4}", "EFE", $"E{i}").Account($"DOM{i:D4}", "DOMESTIC", $"E{i}");
        }
        var tightPool = new Utf8StringPool(capacity: 5);
        var roomy = reference.Stream();
        var tight = reference.Stream(strings: tightPool);
        string[] names = ["Red Pine Ltd", "Blue Oak Ltd", "Green Elm Ltd"];
        var random = new Random(17);
        for (var n = 0; n < 600; n++)
        {
            var account = random.Next(8);
            var entity = random.Next(3) == 0 ? null : $"E{account}";
            var cp = random.Next(8);
            var name = random.Next(2) == 0 ? names[random.Next(names.Length)] : null;
            EventBuilder Event() => TestStreams.Event($"T{n}").Account($"EFE{account:D4}").Entity(entity)
                .Cp("DOMESTIC", account: $"DOM{cp:D4}", name: name).At(TestStreams.T0.AddMinutes(n));
            var expected = roomy.Send(Event());
            var actual = tight.Send(Event());

            Assert.Equal(expected.Outcome, actual.Outcome);
            Assert.Equal(expected.Alerts.Select(a => a.Rule + " " + a.Message), actual.Alerts.Select(a => a.Rule + " " + a.Message));
        }
        Assert.True(tightPool.Generation > 10, $"the pool started afresh {tightPool.Generation} times");
        Assert.Contains(roomy.Engine.Shards[0].Entities, e => e.Events > 0);
        foreach (var entity in roomy.Engine.Shards[0].Entities) Assert.Equal(entity.Events, tight.Entity(entity.EntityId).Events);
    }
}
