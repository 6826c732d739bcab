using FlowWatch.Core.Contracts;
using FlowWatch.Core.Decoding;
using FlowWatch.Core.Engine;

namespace FlowWatch.Core.Tests.Rules;

/// <summary>The channel table of RULES.md §1 and the resolution of kinds and entities (DESIGN.md §3.1, SEMANTICS.md).</summary>
public sealed class ChannelClassificationTests
{
    private static ReferenceBuilder Reference() => TestStreams.Reference()
        .Entity("E1").Entity("E2")
        .Account("DOMX01", "DOMESTIC", "E1")
        .Account("HELD01", "EFE", "E1")
        .Account("HELD02", "NRA", "E2");

    [Theory]
    [InlineData("EFE0001", null, "OFFSHORE", "E2", "FIRST_LINE")]
    [InlineData("FTE0001", null, "NRA", "E2", "FIRST_LINE")]
    [InlineData("FTN0001", null, "OSA", "E1", "FIRST_LINE")]
    [InlineData("EFN0001", null, "FTE", "E2", "FIRST_LINE")]
    [InlineData("FTU0001", null, "EFU", "E1", "FIRST_LINE")]
    [InlineData("EFE0001", null, "DOMESTIC", "E1", "SECOND_LINE_SAME_NAME")]
    [InlineData("FTI0001", null, "DOMESTIC", "E1", "SECOND_LINE_SAME_NAME")]
    [InlineData("EFE0001", null, "DOMESTIC", "E2", "SECOND_LINE")]
    [InlineData("EFE0001", null, "DOMESTIC", null, "SECOND_LINE")]
    [InlineData("NRA0001", null, "DOMESTIC", "E2", "CROSS_BORDER")]
    [InlineData("NRA0001", null, "DOMESTIC", "E1", "CROSS_BORDER")]
    [InlineData("NRA0001", null, "OFFSHORE", null, "CROSS_BORDER")]
    [InlineData("NRA0001", null, "EFE", "E2", "CROSS_BORDER")]
    [InlineData("OSA0001", null, "NRA", "E2", "CROSS_BORDER")]
    [InlineData("OSA0001", null, "DOMESTIC", "E1", "CROSS_BORDER")]
    [InlineData("DOM0001", "DOMESTIC", "OFFSHORE", null, "CROSS_BORDER")]
    [InlineData("DOM0001", "DOMESTIC", "FTE", "E2", "CROSS_BORDER")]
    [InlineData("DOM0001", "DOMESTIC", "NRA", "E2", "CROSS_BORDER")]
    [InlineData("DOM0001", "DOMESTIC", "OSA", "E1", "CROSS_BORDER")]
    [InlineData("DOM0001", "DOMESTIC", "DOMESTIC", "E2", "DOMESTIC")]
    [InlineData("DOM0001", "DOMESTIC", "DOMESTIC", "E1", "DOMESTIC")]
    public void Channel_AccountAndCounterpartyKinds_FollowTheTable(string account, string? kind, string cpKind, string? cpEntity, string expected)
    {
        // HIGH_RISK_JURISDICTION fires on every channel, so its metrics show the channel the engine chose.
        var result = Reference().Stream().Send(TestStreams.Event().Account(account, kind).Cp(cpKind, entityId: cpEntity, country: "KP"));

        Assert.Equal(expected, result.Single("HIGH_RISK_JURISDICTION").Metrics.Channel);
    }

    [Theory]
    [InlineData(AccountClass.Zone, AccountClass.Offshore, false, Channel.FirstLine)]
    [InlineData(AccountClass.Zone, AccountClass.NonResident, true, Channel.FirstLine)]
    [InlineData(AccountClass.Zone, AccountClass.Zone, true, Channel.FirstLine)]
    [InlineData(AccountClass.Zone, AccountClass.Domestic, true, Channel.SecondLineSameName)]
    [InlineData(AccountClass.Zone, AccountClass.Domestic, false, Channel.SecondLine)]
    [InlineData(AccountClass.NonResident, AccountClass.Domestic, true, Channel.CrossBorder)]
    [InlineData(AccountClass.NonResident, AccountClass.Offshore, false, Channel.CrossBorder)]
    [InlineData(AccountClass.NonResident, AccountClass.Zone, false, Channel.CrossBorder)]
    [InlineData(AccountClass.NonResident, AccountClass.NonResident, false, Channel.CrossBorder)]
    [InlineData(AccountClass.Domestic, AccountClass.Offshore, false, Channel.CrossBorder)]
    [InlineData(AccountClass.Domestic, AccountClass.Zone, true, Channel.CrossBorder)]
    [InlineData(AccountClass.Domestic, AccountClass.NonResident, false, Channel.CrossBorder)]
    [InlineData(AccountClass.Domestic, AccountClass.Domestic, false, Channel.Domestic)]
    [InlineData(AccountClass.Domestic, AccountClass.Domestic, true, Channel.Domestic)]
    public void ChannelOf_EveryClassPair_FollowsTheTable(AccountClass account, AccountClass counterparty, bool sameEntity, Channel expected)
    {
        Assert.Equal(expected, EventResolver.ChannelOf(account, counterparty, sameEntity));
    }

    [Theory]
    [InlineData("FTE", AccountClass.Zone)]
    [InlineData("FTN", AccountClass.Zone)]
    [InlineData("FTU", AccountClass.Zone)]
    [InlineData("FTI", AccountClass.Zone)]
    [InlineData("FTF", AccountClass.Zone)]
    [InlineData("EFE", AccountClass.Zone)]
    [InlineData("EFN", AccountClass.Zone)]
    [InlineData("EFF", AccountClass.Zone)]
    [InlineData("EFU", AccountClass.Zone)]
    [InlineData("NRA", AccountClass.NonResident)]
    [InlineData("OSA", AccountClass.NonResident)]
    [InlineData("OFFSHORE", AccountClass.Offshore)]
    [InlineData("DOMESTIC", AccountClass.Domestic)]
    public void ClassOf_EveryKind_MatchesTheVocabulary(string kind, AccountClass expected)
    {
        Assert.True(AccountKinds.TryParse(kind, out var parsed));
        Assert.Equal(expected, AccountKinds.ClassOf(parsed));
    }

    [Fact]
    public void Channel_CounterpartyEntityFromReferenceAccounts_MakesSameName()
    {
        var result = Reference().Stream().Send(TestStreams.Event().Cp("DOMESTIC", account: "DOMX01", country: "KP"));

        Assert.Equal("SECOND_LINE_SAME_NAME", result.Single("HIGH_RISK_JURISDICTION").Metrics.Channel);
    }

    [Fact]
    public void Channel_ExplicitCpEntityId_WinsOverReferenceAccounts()
    {
        var result = Reference().Stream().Send(TestStreams.Event().Cp("DOMESTIC", entityId: "E2", account: "DOMX01", country: "KP"));

        Assert.Equal("SECOND_LINE", result.Single("HIGH_RISK_JURISDICTION").Metrics.Channel);
    }

    [Fact]
    public void Resolution_AccountKindField_WinsOverThePrefix()
    {
        // EFE0001 written as an NRA account: NRA → DOMESTIC is cross-border, not second line.
        var result = Reference().Stream().Send(TestStreams.Event().Account("EFE0001", "NRA").Cp("DOMESTIC", entityId: "E1", country: "KP"));

        Assert.Equal("CROSS_BORDER", result.Single("HIGH_RISK_JURISDICTION").Metrics.Channel);
    }

    [Fact]
    public void Resolution_KindAndEntityFromReferenceAccounts_AreUsedWhenAbsent()
    {
        var result = Reference().Stream().Send(TestStreams.Event().Account("HELD01").Entity(null).Cp("DOMESTIC", entityId: "E1", country: "KP"));

        var alert = result.Single("HIGH_RISK_JURISDICTION");
        Assert.Equal("SECOND_LINE_SAME_NAME", alert.Metrics.Channel);
        Assert.Equal("E1", alert.EntityId);
    }

    [Fact]
    public void Resolution_ReferenceKindWinsOverThePrefix()
    {
        var stream = TestStreams.Reference().Account("EFE0009", "NRA", "E1").Stream();

        var result = stream.Send(TestStreams.Event().Account("EFE0009").Cp("DOMESTIC", entityId: "E1", country: "KP"));

        Assert.Equal("CROSS_BORDER", result.Single("HIGH_RISK_JURISDICTION").Metrics.Channel);
    }

    [Fact]
    public void Resolution_NoKindAnywhere_IsRejectedNamingAccountKind()
    {
        var result = Reference().Stream().Send(TestStreams.Event().Account("XYZ0001"));

        Assert.Equal(RecordOutcome.Rejected, result.Outcome);
        Assert.StartsWith("accountKind", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolution_NoEntityAnywhere_IsRejectedNamingEntityId()
    {
        var result = Reference().Stream().Send(TestStreams.Event().Entity(null));

        Assert.Equal(RecordOutcome.Rejected, result.Outcome);
        Assert.StartsWith("entityId", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolution_CurrencyWithoutRate_IsRejectedNamingCurrency()
    {
        var result = Reference().Stream().Send(TestStreams.Event().Amount(100m, "JPY"));

        Assert.Equal(RecordOutcome.Rejected, result.Outcome);
        Assert.StartsWith("currency", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolution_OffshoreMonitoredAccount_IsRejectedNamingAccountKind()
    {
        var result = Reference().Stream().Send(TestStreams.Event().Account("HK0001", "OFFSHORE"));

        Assert.Equal(RecordOutcome.Rejected, result.Outcome);
        Assert.StartsWith("accountKind", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolution_DecodedEvent_CarriesChannelCategoryClassAndEquivalents()
    {
        var reference = Reference().Build();
        var e = default(PaymentEvent);
        var line = TestStreams.Event("R1").Account("FTI0001").Entity("P9").Amount(1_000m, "HKD").Cp("DOMESTIC", entityId: "P9").ToJson();

        Assert.Equal(RecordType.Payment, new EventDecoder().Decode(System.Text.Encoding.UTF8.GetBytes(line), ref e, out _));
        Assert.True(EventResolver.TryResolve(ref e, reference, out var reason), reason);

        Assert.Equal(Channel.SecondLineSameName, e.Channel);
        Assert.Equal(CustomerType.Individual, e.CustomerType);
        Assert.Equal(LargeValueCategory.IndividualCrossBorder, e.Category);
        Assert.Equal(CurrencyClass.Fx, e.CurrencyClass);
        Assert.Equal(710m, e.AmountCny);
        Assert.Equal(100m, e.AmountUsd);
    }

    // ---- Events that contradict reference data: judged as they say, and counted (SEMANTICS.md, Resolution) ----

    [Theory]
    [InlineData(null, null, null, null, 0)]               // everything from reference data
    [InlineData("E1", "EFE", "E1", "DOMX01", 0)]          // named as reference data gives them
    [InlineData("E2", null, null, null, 1)]               // another entity for the account
    [InlineData(null, "FTE", null, null, 1)]              // another kind
    [InlineData(null, null, "E2", "DOMX01", 1)]           // another entity for the counterparty account
    [InlineData(null, null, "E2", "DOM-OTHER", 0)]        // a counterparty account reference data does not hold
    public void Event_NamingOtherThanReferenceData_IsAcceptedAndCounted(string? entityId, string? kind, string? cpEntityId, string? cpAccount, long conflicts)
    {
        var stream = Reference().Stream();
        var e = TestStreams.Event().Account("HELD01", kind).Entity(entityId).Cp("DOMESTIC", entityId: cpEntityId, account: cpAccount);

        var result = stream.Send(e);

        Assert.Equal(RecordOutcome.Accepted, result.Outcome);
        Assert.Equal(conflicts, stream.Engine.Counters.ReferenceConflicts);
    }

    [Fact]
    public void Summary_OfEventsContradictingReferenceData_SaysHowMany()
    {
        var stream = Reference().Stream();
        stream.Send(TestStreams.Event().Account("HELD01").Entity("E2"));
        stream.Send(TestStreams.Event().Account("HELD01").Entity("E1"));
        var output = new StringWriter();

        FlowWatch.Worker.Cli.Summary.Print(output, "replay", stream.Engine.Counters, elapsed: null);

        Assert.Contains("    naming another entity or kind for an account than reference data       1", output.ToString().Split(Environment.NewLine));
    }
}
