namespace FlowWatch.Core.Tests.Rules;

/// <summary>
/// An event may name its own entity and kind (DESIGN.md §3.1); one that contradicts reference data is judged as it says,
/// and counted (SEMANTICS.md, Resolution), so that a supervisor sees a bank's events disagree with its reference data.
/// </summary>
public sealed class ReferenceConflictTests
{
    private static TestStream Stream() => TestStreams.Reference()
        .Entity("E1").Entity("E2")
        .Account("EFE0001", "EFE", "E1")
        .Account("DOM-E1", "DOMESTIC", "E1")
        .Stream();

    [Theory]
    [InlineData(null, null, null, null, 0)]               // everything from reference data
    [InlineData("E1", "EFE", "E1", "DOM-E1", 0)]          // named as reference data gives them
    [InlineData("E2", null, null, null, 1)]               // another entity for the account
    [InlineData(null, "FTE", null, null, 1)]              // another kind
    [InlineData(null, null, "E2", "DOM-E1", 1)]           // another entity for the counterparty account
    [InlineData(null, null, "E2", "DOM-OTHER", 0)]        // a counterparty account reference data does not hold
    public void Event_NamingOtherThanReferenceData_IsAcceptedAndCounted(string? entityId, string? kind, string? cpEntityId, string? cpAccount, long conflicts)
    {
        var stream = Stream();
        var e = TestStreams.Event().Account("EFE0001", kind).Entity(entityId).Cp("DOMESTIC", entityId: cpEntityId, account: cpAccount);

        var result = stream.Send(e);

        Assert.Equal(Core.Engine.RecordOutcome.Accepted, result.Outcome);
        Assert.Equal(conflicts, stream.Engine.Counters.ReferenceConflicts);
    }

    [Fact]
    public void Summary_OfEventsContradictingReferenceData_SaysHowMany()
    {
        var stream = Stream();
        stream.Send(TestStreams.Event().Account("EFE0001").Entity("E2"));
        stream.Send(TestStreams.Event().Account("EFE0001").Entity("E1"));
        var output = new StringWriter();

        FlowWatch.Worker.Cli.Summary.Print(output, "replay", stream.Engine.Counters, elapsed: null);

        Assert.Contains("    naming another entity or kind for an account than reference data       1", output.ToString().Split(Environment.NewLine));
    }
}
