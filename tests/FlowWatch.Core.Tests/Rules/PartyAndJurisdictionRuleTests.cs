using FlowWatch.Core.Contracts;
using FlowWatch.Core.Reference;

namespace FlowWatch.Core.Tests.Rules;

/// <summary>SANCTIONED_PARTY and HIGH_RISK_JURISDICTION (RULES.md §2).</summary>
public sealed class PartyAndJurisdictionRuleTests
{
    private static TestStream Stream() => TestStreams.Reference()
        .Entity("E1").Entity("BAD", sanctioned: true).Entity("OK")
        .Account("DOMBAD01", "DOMESTIC", "BAD")
        .Account("EFEBAD01", "EFE", "BAD")
        .Account("EFEOK01", "EFE", "OK")
        .Sanction("ACME TRADING LTD")
        .Sanction("  Golden-Lotus (HK) Co., Ltd. ")
        .Sanction("Ｎｏｒｔｈ Ｓｔａｒ Ｓｈｉｐｐｉｎｇ")
        .Stream();

    // ---- SANCTIONED_PARTY (III) ----

    [Fact]
    public void SanctionedParty_EntitySanctioned_RaisesSeverityIII()
    {
        var result = Stream().Send(TestStreams.Event().Entity("BAD"));

        var alert = result.Single("SANCTIONED_PARTY");
        Assert.Equal(Severity.III, alert.Severity);
        Assert.Equal(["Hengqin Art.8", "Hengqin Art.22"], alert.Refs);
        Assert.Equal("BAD", alert.EntityId);
    }

    [Fact]
    public void SanctionedParty_EntitySanctioned_MessageNamesTheEntityNotTheCounterparty()
    {
        var alert = Stream().Send(TestStreams.Event().Entity("BAD").Cp("OFFSHORE", name: "Harmless Ltd")).Single("SANCTIONED_PARTY");

        Assert.Equal("Payment of 100 CNY involves a sanctioned party: entity BAD is sanctioned.", alert.Message);
    }

    [Fact]
    public void SanctionedParty_CounterpartySanctionedByEntityOrName_MessageNamesWhichParty()
    {
        var stream = Stream();

        var byEntity = stream.Send(TestStreams.Event("T1").Cp("OFFSHORE", entityId: "BAD")).Single("SANCTIONED_PARTY");
        var byName = stream.Send(TestStreams.Event("T2").Cp("OFFSHORE", name: "Acme Trading Ltd")).Single("SANCTIONED_PARTY");

        Assert.Equal("Payment of 100 CNY involves a sanctioned party: counterparty entity BAD is sanctioned.", byEntity.Message);
        Assert.Equal("Payment of 100 CNY involves a sanctioned party: counterparty Acme Trading Ltd is on the sanctions list.", byName.Message);
    }

    /// <summary>
    /// A name still matches with a direction override, a line break or a zero-width space in it, but the sentence shows
    /// each as its code: the override would otherwise turn the rest of the sentence around on a supervisor's screen, and
    /// the break would start a new line on a console. The metrics keep the name as sent.
    /// </summary>
    [Fact]
    public void SanctionedParty_NameWithUnseenCharacters_MatchesAndTheMessageShowsTheirCodes()
    {
        var name = "Acme \u2066\u202ETrading\r\nLtd\u200B";

        var alert = Stream().Send(TestStreams.Event().Cp("OFFSHORE", name: name)).Single("SANCTIONED_PARTY");

        Assert.Equal(@"Payment of 100 CNY involves a sanctioned party: counterparty Acme \u2066\u202ETrading\u000D\u000ALtd\u200B is on the sanctions list.",
            alert.Message);
        Assert.Equal(name, alert.Metrics.Counterparty);
    }

    [Fact]
    public void SanctionedParty_CounterpartyEntitySanctioned_Raises()
    {
        var result = Stream().Send(TestStreams.Event().Cp("OFFSHORE", entityId: "BAD"));

        result.AssertRaised("SANCTIONED_PARTY");
    }

    [Fact]
    public void SanctionedParty_CounterpartyAccountHeldBySanctionedEntity_Raises()
    {
        // cpEntityId is absent: the holder of cpAccount comes from reference accounts (SEMANTICS.md, resolution).
        var result = Stream().Send(TestStreams.Event().Cp("DOMESTIC", account: "DOMBAD01"));

        result.AssertRaised("SANCTIONED_PARTY");
    }

    /// <summary>
    /// An event may name an entity of its own, but money through an account that reference data gives to a sanctioned
    /// entity involves that entity: naming another must not hide it.
    /// </summary>
    [Fact]
    public void SanctionedParty_AccountOfASanctionedEntityNamingAnother_RaisesNamingTheAccountsOwner()
    {
        var result = Stream().Send(TestStreams.Event().Account("EFEBAD01").Entity("OK"));

        Assert.Equal("Payment of 100 CNY involves a sanctioned party: account EFEBAD01 belongs to entity BAD in reference data, which is sanctioned.",
            result.Single("SANCTIONED_PARTY").Message);
        Assert.Equal("OK", result.Single("SANCTIONED_PARTY").EntityId);
    }

    [Fact]
    public void SanctionedParty_CounterpartyAccountOfASanctionedEntityNamingAnother_RaisesNamingTheAccountsOwner()
    {
        var result = Stream().Send(TestStreams.Event().Cp("DOMESTIC", entityId: "OK", account: "DOMBAD01"));

        Assert.Equal("Payment of 100 CNY involves a sanctioned party: account DOMBAD01 belongs to entity BAD in reference data, which is sanctioned.",
            result.Single("SANCTIONED_PARTY").Message);
    }

    [Fact]
    public void SanctionedParty_AccountOfAnUnsanctionedEntityNamingAnother_RaisesNothing()
    {
        var result = Stream().Send(TestStreams.Event().Account("EFEOK01").Entity("E1"));

        result.AssertNotRaised("SANCTIONED_PARTY");
    }

    [Fact]
    public void SanctionedParty_UnsanctionedPartiesAndNoName_RaisesNothing()
    {
        var result = Stream().Send(TestStreams.Event().Cp("OFFSHORE", entityId: "OK"));

        result.AssertNotRaised("SANCTIONED_PARTY");
    }

    [Theory]
    [InlineData("ACME TRADING LTD")]
    [InlineData("acme  trading, ltd.")]
    [InlineData("Acme Trading Ltd")]
    [InlineData("  ACME\tTRADING\u00A0LTD!  ")]
    [InlineData("ＡＣＭＥ ＴＲＡＤＩＮＧ ＬＴＤ")]   // full-width letters fold under NFKC
    [InlineData("\"Acme\" Trading; Ltd")]
    [InlineData("GOLDENLOTUS HK CO LTD")]   // "Golden-Lotus": the dash is stripped
    [InlineData("goldenlotus (hk) co. ltd")]
    [InlineData("north star shipping")]
    [InlineData("AC\u200BME TRADING LTD")]   // a zero-width space inside a word
    [InlineData("\u200EACME TRA\u00ADDING\u2060 LTD")]   // a direction mark, a soft hyphen, a word joiner
    [InlineData("ACME TRA\U000E0044DING LTD")]   // an invisible tag character, outside the 16-bit range
    [InlineData("ACME TRADING\U00010100 LTD")]   // punctuation outside the 16-bit range (Aegean word separator)
    [InlineData("AC\uFE0FME TRADING LTD")]   // a variation selector
    [InlineData("ACME TRA\u034FDING LTD")]   // a combining grapheme joiner
    [InlineData("ACME \u3164TRADING LTD")]   // a Hangul filler (NFKC makes it U+1160)
    [InlineData("ACME TRAD\u180BING\uFFA0 LTD")]   // a Mongolian variation selector, a half-width Hangul filler
    [InlineData("ACME TRADING L\U000E0100TD")]   // a variation selector outside the 16-bit range
    public void SanctionedParty_CpNameEqualAfterNormalisation_RaisesSeverityIII(string cpName)
    {
        var result = Stream().Send(TestStreams.Event().Cp("OFFSHORE", name: cpName));

        var alert = result.Single("SANCTIONED_PARTY");
        Assert.Equal(Severity.III, alert.Severity);
        Assert.Equal(cpName, alert.Metrics.Counterparty);
    }

    [Theory]
    [InlineData("ACME TRADING LIMITED")]
    [InlineData("ACMETRADING LTD")]
    [InlineData("ACME TRADING LTD 2")]
    [InlineData("ACME TRADING")]
    [InlineData("GOLDEN LOTUS")]
    [InlineData("ACME+TRADING LTD")]   // a visible symbol is part of the name
    public void SanctionedParty_CpNameDifferentAfterNormalisation_RaisesNothing(string cpName)
    {
        var result = Stream().Send(TestStreams.Event().Cp("OFFSHORE", name: cpName));

        result.AssertNotRaised("SANCTIONED_PARTY");
    }

    [Fact]
    public void SanctionedParty_SameNameAfterReferenceDataChange_FollowsTheNewList()
    {
        var stream = Stream();
        var first = stream.Send(TestStreams.Event().Cp("OFFSHORE", name: "acme trading ltd"));
        stream.Engine.UpdateReference(TestStreams.Reference().Sanction("SOMEONE ELSE").Build());
        var second = stream.Send(TestStreams.Event().Cp("OFFSHORE", name: "acme trading ltd"));

        first.AssertRaised("SANCTIONED_PARTY");
        second.AssertNotRaised("SANCTIONED_PARTY");
    }

    [Theory]
    [InlineData("acme  trading, ltd.", "ACME TRADING LTD")]
    [InlineData("  Golden-Lotus (HK) Co., Ltd. ", "GOLDENLOTUS HK CO LTD")]
    [InlineData("Ｎｏｒｔｈ\u3000Ｓｔａｒ", "NORTH STAR")]
    [InlineData("a \t\n b", "A B")]
    [InlineData("...", "")]
    [InlineData("N\u200Borth\u200D \uFEFFStar", "NORTH STAR")]
    [InlineData("A+B $1", "A+B $1")]
    [InlineData("N\U000E0020orth\U0001BCA0 Star\U0001E95E", "NORTH STAR")]   // format characters and punctuation beyond U+FFFF
    [InlineData("N\u034Forth\uFE00 \u115FSt\u17B4ar\U000E01EF", "NORTH STAR")]   // default-ignorable code points that are not format characters
    [InlineData("Blue\u2800Lotus\u3164Trading\uFFA0Co\u2028Ltd", "BLUE LOTUS TRADING CO LTD")]   // characters drawn as a blank or a break
    [InlineData("Straße GmbH", "STRASSE GMBH")]              // the sharp s's upper case is SS
    [InlineData("STRAẞE GMBH", "STRASSE GMBH")]               // as is the capital sharp s's
    [InlineData("Ｓｔｒａ\uFB06ｅ", "STRASTE")]                 // a ligature, split by NFKC
    public void Normalise_MessyName_FoldsCaseWidthWhitespaceAndPunctuation(string name, string expected)
    {
        Assert.Equal(expected, PartyNames.Normalise(name));
    }

    // ---- HIGH_RISK_JURISDICTION: II for CALL_FOR_ACTION, I for INCREASED_MONITORING ----

    [Theory]
    [InlineData("KP")]
    [InlineData("IR")]
    [InlineData("MM")]
    public void HighRiskJurisdiction_CallForAction_RaisesSeverityII(string country)
    {
        var result = Stream().Send(TestStreams.Event().CpCountry(country));

        var alert = result.Single("HIGH_RISK_JURISDICTION");
        Assert.Equal(Severity.II, alert.Severity);
        Assert.Equal(country, alert.Metrics.Country);
        Assert.Equal(["Hengqin Art.7", "Hengqin Art.8"], alert.Refs);
    }

    [Fact]
    public void HighRiskJurisdiction_IncreasedMonitoring_RaisesSeverityI()
    {
        var result = Stream().Send(TestStreams.Event().Out().CpCountry("VN"));

        var alert = result.Single("HIGH_RISK_JURISDICTION");
        Assert.Equal(Severity.I, alert.Severity);
        Assert.Equal("VN", alert.Metrics.Country);
    }

    [Theory]
    [InlineData("US")]
    [InlineData("HK")]
    public void HighRiskJurisdiction_CountryNotListed_RaisesNothing(string country)
    {
        var result = Stream().Send(TestStreams.Event().CpCountry(country));

        result.AssertNotRaised("HIGH_RISK_JURISDICTION");
    }

    [Fact]
    public void HighRiskJurisdiction_NoCounterpartyCountry_RaisesNothing()
    {
        var result = Stream().Send(TestStreams.Event());

        Assert.Empty(result.Alerts);
    }
}
