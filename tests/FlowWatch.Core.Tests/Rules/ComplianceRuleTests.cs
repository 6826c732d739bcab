using FlowWatch.Core.Contracts;
using FlowWatch.Core.Engine;

namespace FlowWatch.Core.Tests.Rules;

/// <summary>The exact compliance rules of RULES.md §2 that look at one event only.</summary>
public sealed class ComplianceRuleTests
{
    private static TestStream Stream() => TestStreams.Reference()
        .Entity("E1").Entity("E2").Entity("P1", type: "INDIVIDUAL")
        .Stream();

    // ---- CASH_ON_ZONE_ACCOUNT: A is ZONE and method = CASH (severity II) ----

    [Theory]
    [InlineData("FTE")]
    [InlineData("FTN")]
    [InlineData("FTU")]
    [InlineData("FTI")]
    [InlineData("FTF")]
    [InlineData("EFE")]
    [InlineData("EFN")]
    [InlineData("EFF")]
    [InlineData("EFU")]
    public void CashOnZoneAccount_CashOnEveryZoneKind_RaisesSeverityII(string kind)
    {
        var result = Stream().Send(TestStreams.Event().Account(kind + "0001").Cash());

        var alert = result.Single("CASH_ON_ZONE_ACCOUNT");
        Assert.Equal(Severity.II, alert.Severity);
        Assert.Equal(["Hengqin Art.13", "Tianjin Art.8"], alert.Refs);
        Assert.Equal(100m, alert.Metrics.Amount);
        Assert.Equal("E1", alert.EntityId);
        Assert.Equal(kind + "0001", alert.Account);
    }

    [Theory]
    [InlineData("NRA")]
    [InlineData("OSA")]
    [InlineData("DOMESTIC")]
    public void CashOnZoneAccount_CashOnNonZoneAccount_RaisesNothing(string kind)
    {
        var result = Stream().Send(TestStreams.Event().Account("ACC0001", kind).Cash());

        result.AssertNotRaised("CASH_ON_ZONE_ACCOUNT");
    }

    [Fact]
    public void CashOnZoneAccount_TransferOnZoneAccount_RaisesNothing()
    {
        var result = Stream().Send(TestStreams.Event().Account("FTE0001").WithRaw("method", "\"TRANSFER\""));

        result.AssertNotRaised("CASH_ON_ZONE_ACCOUNT");
    }

    [Fact]
    public void CashOnZoneAccount_OutwardCash_RaisesToo()
    {
        var result = Stream().Send(TestStreams.Event().Out().Cash());

        result.AssertRaised("CASH_ON_ZONE_ACCOUNT");
    }

    // ---- SECOND_LINE_NON_CNY: channel SECOND_LINE(_SAME_NAME) and currency ≠ CNY (II) ----

    [Theory]
    [InlineData("E2", "USD")]
    [InlineData("E1", "USD")]
    [InlineData("E2", "HKD")]
    [InlineData("E1", "EUR")]
    public void SecondLineNonCny_SecondLineInForeignCurrency_RaisesSeverityII(string cpEntity, string currency)
    {
        var result = Stream().Send(TestStreams.Event().Amount(1000m, currency).Cp("DOMESTIC", entityId: cpEntity));

        var alert = result.Single("SECOND_LINE_NON_CNY");
        Assert.Equal(Severity.II, alert.Severity);
        Assert.Equal(["Hengqin Art.15", "Hengqin Art.18"], alert.Refs);
        Assert.Equal(currency, alert.Metrics.Currency);
    }

    [Theory]
    [InlineData("E2")]
    [InlineData("E1")]
    public void SecondLineNonCny_SecondLineInCny_RaisesNothing(string cpEntity)
    {
        var result = Stream().Send(TestStreams.Event().Amount(1000m).Cp("DOMESTIC", entityId: cpEntity));

        result.AssertNotRaised("SECOND_LINE_NON_CNY");
    }

    [Theory]
    [InlineData("EFE0001", null, "OFFSHORE")]   // first line
    [InlineData("EFE0001", null, "NRA")]        // first line
    [InlineData("NRA0001", null, "DOMESTIC")]   // cross-border
    [InlineData("ACC0001", "DOMESTIC", "DOMESTIC")]   // domestic
    public void SecondLineNonCny_OtherChannelInForeignCurrency_RaisesNothing(string account, string? kind, string cpKind)
    {
        var result = Stream().Send(TestStreams.Event().Account(account, kind).Amount(1000m, "USD").Cp(cpKind, entityId: "E2"));

        result.AssertNotRaised("SECOND_LINE_NON_CNY");
    }

    // ---- NON_SAME_NAME_NOT_GOODS: A is EFE, SECOND_LINE, not (GOODS_TRADE and customsSpecial) (II) ----

    [Fact]
    public void NonSameNameNotGoods_GoodsTradeUnderCustomsSpecialSupervision_RaisesNothing()
    {
        var result = Stream().Send(TestStreams.Event().Cp("DOMESTIC", entityId: "E2").Purpose("GOODS_TRADE").CustomsSpecial());

        result.AssertNotRaised("NON_SAME_NAME_NOT_GOODS");
    }

    [Fact]
    public void NonSameNameNotGoods_GoodsTradeWithoutCustomsSpecial_RaisesSeverityII()
    {
        var result = Stream().Send(TestStreams.Event().Cp("DOMESTIC", entityId: "E2").Purpose("GOODS_TRADE"));

        var alert = result.Single("NON_SAME_NAME_NOT_GOODS");
        Assert.Equal(Severity.II, alert.Severity);
        Assert.Equal(["Hengqin Art.17"], alert.Refs);
        Assert.Equal("SECOND_LINE", alert.Metrics.Channel);
    }

    [Fact]
    public void NonSameNameNotGoods_GoodsTradeWithCustomsSpecialFalse_RaisesSeverityII()
    {
        var result = Stream().Send(TestStreams.Event().Out().Cp("DOMESTIC", entityId: "E2").Purpose("GOODS_TRADE").CustomsSpecial(false));

        result.AssertRaised("NON_SAME_NAME_NOT_GOODS");
    }

    [Theory]
    [InlineData("SERVICE_TRADE")]
    [InlineData("SALARY")]
    [InlineData("OTHER")]
    public void NonSameNameNotGoods_OtherPurposeEvenUnderCustomsSpecial_Raises(string purpose)
    {
        var result = Stream().Send(TestStreams.Event().Cp("DOMESTIC", entityId: "E2").Purpose(purpose).CustomsSpecial());

        result.AssertRaised("NON_SAME_NAME_NOT_GOODS");
    }

    [Fact]
    public void NonSameNameNotGoods_NoPurposeAndNoCounterpartyEntity_Raises()
    {
        // No cpEntityId: the domestic counterparty is not the same entity, so the channel is SECOND_LINE.
        var result = Stream().Send(TestStreams.Event().Cp("DOMESTIC"));

        result.AssertRaised("NON_SAME_NAME_NOT_GOODS");
    }

    [Theory]
    [InlineData("FTE0001", "DOMESTIC", "E2")]   // not EFE
    [InlineData("EFN0001", "DOMESTIC", "E2")]   // not EFE
    [InlineData("EFE0001", "DOMESTIC", "E1")]   // same name
    [InlineData("EFE0001", "OFFSHORE", "E2")]   // first line
    public void NonSameNameNotGoods_NotEfeOrNotSecondLine_RaisesNothing(string account, string cpKind, string cpEntity)
    {
        var result = Stream().Send(TestStreams.Event().Account(account).Cp(cpKind, entityId: cpEntity));

        result.AssertNotRaised("NON_SAME_NAME_NOT_GOODS");
    }

    // ---- PENETRATION_NEGATIVE_LIST: SECOND_LINE_SAME_NAME and a negative-list purpose (II) ----

    [Theory]
    [InlineData("SECURITIES_INVESTMENT")]
    [InlineData("LOAN_NON_AFFILIATE")]
    [InlineData("REAL_ESTATE_NON_SELF_USE")]
    [InlineData("OUT_OF_SCOPE")]
    public void PenetrationNegativeList_SameNameWithForbiddenPurpose_RaisesSeverityII(string purpose)
    {
        var result = Stream().Send(TestStreams.Event().Out().Cp("DOMESTIC", entityId: "E1").Purpose(purpose));

        var alert = result.Single("PENETRATION_NEGATIVE_LIST");
        Assert.Equal(Severity.II, alert.Severity);
        Assert.Equal(["Hengqin Art.18(1)"], alert.Refs);
        Assert.Equal(purpose, alert.Metrics.Purpose);
    }

    [Theory]
    [InlineData("FTE0001", "CNY")]
    [InlineData("EFE0001", "USD")]
    public void PenetrationNegativeList_SameNameOfAnyZoneKindOrCurrency_Raises(string account, string currency)
    {
        var result = Stream().Send(TestStreams.Event().Account(account).Amount(10m, currency).Cp("DOMESTIC", entityId: "E1").Purpose("SECURITIES_INVESTMENT"));

        result.AssertRaised("PENETRATION_NEGATIVE_LIST");
    }

    [Theory]
    [InlineData("LOAN")]
    [InlineData("REAL_ESTATE_SELF_USE")]
    [InlineData("GOODS_TRADE")]
    [InlineData("DIRECT_INVESTMENT")]
    public void PenetrationNegativeList_SameNameWithAllowedPurpose_RaisesNothing(string purpose)
    {
        var result = Stream().Send(TestStreams.Event().Out().Cp("DOMESTIC", entityId: "E1").Purpose(purpose));

        result.AssertNotRaised("PENETRATION_NEGATIVE_LIST");
    }

    [Theory]
    [InlineData("DOMESTIC", "E2")]   // second line, other entity
    [InlineData("OFFSHORE", "E1")]   // first line
    public void PenetrationNegativeList_NotSameNameChannel_RaisesNothing(string cpKind, string cpEntity)
    {
        var result = Stream().Send(TestStreams.Event().Out().Cp(cpKind, entityId: cpEntity).Purpose("SECURITIES_INVESTMENT"));

        result.AssertNotRaised("PENETRATION_NEGATIVE_LIST");
    }

    // ---- EFF_PURPOSE: A is EFF and (purpose ∉ {SALARY, MEDICAL, TRAVEL, LIVING} or currency ≠ CNY) (II) ----

    [Theory]
    [InlineData("SALARY")]
    [InlineData("MEDICAL")]
    [InlineData("TRAVEL")]
    [InlineData("LIVING")]
    public void EffPurpose_AllowedPurposeInCny_RaisesNothing(string purpose)
    {
        var result = Stream().Send(TestStreams.Event().Account("EFF0001").Entity("P1").Purpose(purpose));

        result.AssertNotRaised("EFF_PURPOSE");
    }

    [Theory]
    [InlineData("SALARY", "HKD")]
    [InlineData("LIVING", "USD")]
    [InlineData("GOODS_TRADE", "CNY")]
    [InlineData("SECURITIES_INVESTMENT", "CNY")]
    [InlineData("OTHER", "CNY")]
    public void EffPurpose_OtherPurposeOrForeignCurrency_RaisesSeverityII(string purpose, string currency)
    {
        var result = Stream().Send(TestStreams.Event().Account("EFF0001").Entity("P1").Purpose(purpose).Amount(100m, currency));

        var alert = result.Single("EFF_PURPOSE");
        Assert.Equal(Severity.II, alert.Severity);
        Assert.Equal(["Hengqin Art.19"], alert.Refs);
    }

    [Fact]
    public void EffPurpose_NoPurposeGiven_CountsAsOtherAndRaises()
    {
        var result = Stream().Send(TestStreams.Event().Account("EFF0001").Entity("P1"));

        Assert.Equal("OTHER", result.Single("EFF_PURPOSE").Metrics.Purpose);
    }

    [Theory]
    [InlineData("EFE0001")]
    [InlineData("EFN0001")]
    [InlineData("FTF0001")]
    public void EffPurpose_OtherAccountKind_RaisesNothing(string account)
    {
        var result = Stream().Send(TestStreams.Event().Account(account).Entity("P1").Purpose("GOODS_TRADE").Amount(100m, "USD"));

        result.AssertNotRaised("EFF_PURPOSE");
    }

    // ---- WHITELIST_REQUIRED: ZONE or NRA, investment/financing purpose, CNY, whitelistRequired, not whitelisted (II) ----

    private static TestStream WhitelistStream(bool? whitelistRequired = null)
    {
        var reference = TestStreams.Reference().Entity("E1").Entity("W1", whitelisted: true);
        if (whitelistRequired is { } required) reference.Parameter("whitelistRequired", required);
        return reference.Stream();
    }

    [Theory]
    [InlineData("EFE0001", "DIRECT_INVESTMENT")]
    [InlineData("FTE0001", "CROSS_BORDER_FINANCING")]
    [InlineData("FTN0001", "OTHER_INVESTMENT")]
    [InlineData("NRA0001", "DIRECT_INVESTMENT")]
    [InlineData("EFE0001", "direct_investment")]   // the code in lower case is still the code
    public void WhitelistRequired_NotWhitelistedInvestmentInCny_RaisesSeverityII(string account, string purpose)
    {
        var result = WhitelistStream().Send(TestStreams.Event().Account(account).Purpose(purpose).Amount(1_000_000m));

        var alert = result.Single("WHITELIST_REQUIRED");
        Assert.Equal(Severity.II, alert.Severity);
        Assert.Equal(["Qinzhou tasks 3 and 5"], alert.Refs);
    }

    [Fact]
    public void WhitelistRequired_EntityUnknownToReferenceData_Raises()
    {
        var result = WhitelistStream().Send(TestStreams.Event().Entity("NEW").Purpose("DIRECT_INVESTMENT"));

        result.AssertRaised("WHITELIST_REQUIRED");
    }

    [Fact]
    public void WhitelistRequired_WhitelistedEntity_RaisesNothing()
    {
        var result = WhitelistStream().Send(TestStreams.Event().Entity("W1").Purpose("DIRECT_INVESTMENT"));

        result.AssertNotRaised("WHITELIST_REQUIRED");
    }

    [Theory]
    [InlineData("OSA0001", null, "DIRECT_INVESTMENT", "CNY")]   // OSA is non-resident but not NRA
    [InlineData("ACC0001", "DOMESTIC", "DIRECT_INVESTMENT", "CNY")]
    [InlineData("EFE0001", null, "DIRECT_INVESTMENT", "USD")]   // not CNY
    [InlineData("EFE0001", null, "LOAN", "CNY")]
    [InlineData("EFE0001", null, "SECURITIES_INVESTMENT", "CNY")]
    [InlineData("EFE0001", null, "GOODS_TRADE", "CNY")]
    public void WhitelistRequired_OutsideItsScope_RaisesNothing(string account, string? kind, string purpose, string currency)
    {
        var result = WhitelistStream().Send(TestStreams.Event().Account(account, kind).Purpose(purpose).Amount(1000m, currency));

        result.AssertNotRaised("WHITELIST_REQUIRED");
    }

    [Fact]
    public void WhitelistRequired_ParameterFalseInReferenceData_RaisesNothing()
    {
        var result = WhitelistStream(whitelistRequired: false).Send(TestStreams.Event().Purpose("DIRECT_INVESTMENT"));

        result.AssertNotRaised("WHITELIST_REQUIRED");
    }

    [Fact]
    public void WhitelistRequired_ParameterTrueInReferenceData_Raises()
    {
        var result = WhitelistStream(whitelistRequired: true).Send(TestStreams.Event().Purpose("DIRECT_INVESTMENT"));

        result.AssertRaised("WHITELIST_REQUIRED");
    }

    [Fact]
    public void WhitelistRequired_ControlRecordTurnsItOff_OnlyEarlierEventsRaise()
    {
        var stream = WhitelistStream();

        var before = stream.Send(TestStreams.Event().Purpose("DIRECT_INVESTMENT"));
        var control = stream.Parameters(TestStreams.T0.AddMinutes(1), "\"whitelistRequired\":false");
        var after = stream.Send(TestStreams.Event().Purpose("DIRECT_INVESTMENT").At(TestStreams.T0.AddMinutes(2)));

        before.AssertRaised("WHITELIST_REQUIRED");
        Assert.Equal(RecordOutcome.Control, control.Outcome);
        Assert.Empty(control.Alerts);
        after.AssertNotRaised("WHITELIST_REQUIRED");
    }
}
