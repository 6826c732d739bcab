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
}
