using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Reference;

namespace FlowWatch.Core.Tests.Reference;

/// <summary>Reference data (DESIGN.md §3.2): a valid file loads; every broken field fails with its path in the message.</summary>
public sealed class ReferenceDataLoaderTests
{
    private const string ValidJson = """
        {
          "parameters": { "macroPrudentialFactor": 0.8, "inflowLeverage": 1.5, "outflowLeverage": "2",
                          "whitelistRequired": false, "penetrationKinds": ["EFE", "FTE"] },
          "fxRates": { "USD": 7.10, "HKD": "0.91", "MOP": 0.88, "EUR": 7.70, "MYR": 1.55, "SGD": 5.30 },
          "highRiskCountries": { "KP": "CALL_FOR_ACTION", "IR": "CALL_FOR_ACTION", "VN": "INCREASED_MONITORING" },
          "sanctionsList": ["Acme Trading, Ltd.", "  north   star  "],
          "entities": [
            { "entityId": "E1", "name": "Hengqin Widgets", "type": "CORPORATE", "ownersEquityPrevYear": "50000000",
              "whitelisted": true, "sanctioned": false, "lastActivity": "2026-01-05T00:00:00+08:00" },
            { "entityId": "E2", "type": "INDIVIDUAL", "ownersEquityPrevYear": 1200000.5 },
            { "entityId": "E3", "type": "FI", "sanctioned": true }
          ],
          "accounts": [
            { "account": "EFE0001", "kind": "EFE", "entityId": "E1" },
            { "account": "X-77", "kind": "DOMESTIC", "entityId": "E2" }
          ]
        }
        """;

    private static ReferenceData Load(string json) => ReferenceDataLoader.Parse(Encoding.UTF8.GetBytes(json));

    [Fact]
    public void Parse_ValidFile_LoadsEverySection()
    {
        var reference = Load(ValidJson);

        Assert.Equal(0.8m, reference.Parameters.MacroPrudentialFactor);
        Assert.Equal(1.5m, reference.Parameters.InflowLeverage);
        Assert.Equal(2m, reference.Parameters.OutflowLeverage);
        Assert.False(reference.Parameters.WhitelistRequired);
        Assert.Equal(new HashSet<AccountKind> { AccountKind.EFE, AccountKind.FTE }, reference.Parameters.PenetrationKinds.ToHashSet());

        Assert.Equal(7.10m, reference.UsdRate);
        Assert.Equal(0.91m, reference.FxRates["HKD"]);
        Assert.Equal(6, reference.FxRates.Count);
        Assert.True(reference.TryGetRate("CNY", out var cny));
        Assert.Equal(1m, cny);
        Assert.False(reference.TryGetRate("JPY", out _));

        Assert.Equal(JurisdictionRisk.CallForAction, reference.HighRiskCountries["KP"]);
        Assert.Equal(JurisdictionRisk.IncreasedMonitoring, reference.HighRiskCountries["VN"]);
        Assert.Equal(new HashSet<string> { "ACME TRADING LTD", "NORTH STAR" }, reference.SanctionedNames.ToHashSet());

        var e1 = reference.Entities["E1"];
        Assert.Equal("Hengqin Widgets", e1.Name);
        Assert.Equal(CustomerType.Corporate, e1.Type);
        Assert.Equal(50_000_000m, e1.OwnersEquityPrevYear);
        Assert.True(e1.Whitelisted);
        Assert.False(e1.Sanctioned);
        Assert.Equal(new DateTimeOffset(2026, 1, 4, 16, 0, 0, TimeSpan.Zero).UtcTicks, e1.LastActivityTicks);
        Assert.Equal(CustomerType.Individual, reference.Entities["E2"].Type);
        Assert.Equal(1_200_000.5m, reference.Entities["E2"].OwnersEquityPrevYear);
        Assert.False(reference.Entities["E2"].Whitelisted);
        Assert.Null(reference.Entities["E2"].LastActivityTicks);
        Assert.Equal(CustomerType.FinancialInstitution, reference.Entities["E3"].Type);
        Assert.True(reference.Entities["E3"].Sanctioned);
        Assert.Null(reference.Entities["E3"].OwnersEquityPrevYear);

        Assert.Equal(new AccountInfo("EFE0001", AccountKind.EFE, "E1"), reference.Accounts["EFE0001"]);
        Assert.Equal(new AccountInfo("X-77", AccountKind.DOMESTIC, "E2"), reference.Accounts["X-77"]);
    }

    /// <summary>
    /// A monitored account whose holder has no record is judged as an unknown entity's: allowed, and found, so that a
    /// misspelt holder id can be said; a counterparty's account (domestic, offshore) may name any holder.
    /// </summary>
    [Fact]
    public void MonitoredAccountsWithoutHolderRecord_NamesTheZoneAndNonResidentAccountsOnly()
    {
        var reference = Load("""
            { "fxRates": { "USD": 7.1 }, "entities": [ { "entityId": "E1" } ],
              "accounts": [ { "account": "OSA6001", "kind": "OSA", "entityId": "E-1" }, { "account": "EFE0001", "kind": "EFE", "entityId": "E1" },
                            { "account": "FTN0002", "kind": "FTN", "entityId": "E9" }, { "account": "DOM-1", "kind": "DOMESTIC", "entityId": "E7" },
                            { "account": "HK-1", "kind": "OFFSHORE", "entityId": "E8" }, { "account": "NRA0003", "kind": "NRA", "entityId": "E1" } ] }
            """);

        Assert.Equal([new AccountInfo("FTN0002", AccountKind.FTN, "E9"), new AccountInfo("OSA6001", AccountKind.OSA, "E-1")],
            reference.MonitoredAccountsWithoutHolderRecord());
        Assert.Empty(Load(ValidJson).MonitoredAccountsWithoutHolderRecord());
    }

    [Fact]
    public void Parse_OnlyFxRates_LoadsWithDefaults()
    {
        var reference = Load("""{ "fxRates": { "USD": 7.1 } }""");

        Assert.Equal(1m, reference.Parameters.MacroPrudentialFactor);
        Assert.Equal(1m, reference.Parameters.InflowLeverage);
        Assert.Equal(1m, reference.Parameters.OutflowLeverage);
        Assert.True(reference.Parameters.WhitelistRequired);
        Assert.Equal([AccountKind.EFE], reference.Parameters.PenetrationKinds);
        Assert.Empty(reference.Entities);
        Assert.Empty(reference.Accounts);
        Assert.Empty(reference.HighRiskCountries);
        Assert.Empty(reference.SanctionedNames);
    }

    [Fact]
    public void Parse_NullOptionalFields_AreTheSameAsAbsent()
    {
        var reference = Load("""
            { "fxRates": { "USD": 7.1 },
              "entities": [ { "entityId": "E1", "name": null, "type": null, "ownersEquityPrevYear": null, "whitelisted": null,
                              "sanctioned": null, "lastActivity": null } ] }
            """);

        var e1 = reference.Entities["E1"];
        Assert.Null(e1.Name);
        Assert.Null(e1.Type);
        Assert.Null(e1.OwnersEquityPrevYear);
        Assert.False(e1.Whitelisted);
        Assert.False(e1.Sanctioned);
        Assert.Null(e1.LastActivityTicks);
    }

    /// <summary>Sets (raw JSON) or removes (null) the value at a path like <c>entities[1].ownersEquityPrevYear</c> or <c>fxRates.USD</c>.</summary>
    private static string Mutate(string path, string? raw)
    {
        var root = JsonNode.Parse(ValidJson)!;
        var segments = path.Split('.');
        JsonNode parent = root;
        for (var i = 0; i < segments.Length - 1; i++) parent = Step(parent, segments[i]);
        var last = segments[^1];
        var bracket = last.IndexOf('[', StringComparison.Ordinal);
        if (bracket >= 0)
        {
            parent = parent[last[..bracket]]!;
            var index = int.Parse(last[(bracket + 1)..^1], System.Globalization.CultureInfo.InvariantCulture);
            if (raw is null) parent.AsArray().RemoveAt(index);
            else parent[index] = JsonNode.Parse(raw);
        }
        else if (raw is null)
        {
            parent.AsObject().Remove(last);
        }
        else
        {
            parent[last] = JsonNode.Parse(raw);
        }
        return root.ToJsonString();
    }

    private static JsonNode Step(JsonNode node, string segment)
    {
        var bracket = segment.IndexOf('[', StringComparison.Ordinal);
        if (bracket < 0) return node[segment]!;
        var index = int.Parse(segment[(bracket + 1)..^1], System.Globalization.CultureInfo.InvariantCulture);
        return node[segment[..bracket]]![index]!;
    }

    [Theory]
    // entities
    [InlineData("entities[1].ownersEquityPrevYear", "-5", "entities[1].ownersEquityPrevYear")]
    [InlineData("entities[1].ownersEquityPrevYear", "\"-5\"", "entities[1].ownersEquityPrevYear")]
    [InlineData("entities[1].ownersEquityPrevYear", "\"fifty million\"", "entities[1].ownersEquityPrevYear")]
    [InlineData("entities[1].ownersEquityPrevYear", "true", "entities[1].ownersEquityPrevYear")]
    [InlineData("entities[1].ownersEquityPrevYear", "{}", "entities[1].ownersEquityPrevYear")]
    [InlineData("entities[1].ownersEquityPrevYear", "1e400", "entities[1].ownersEquityPrevYear")]
    [InlineData("entities[1].ownersEquityPrevYear", "\"1000000000000000000.01\"", "entities[1].ownersEquityPrevYear")]   // over 10^18
    [InlineData("entities[1].ownersEquityPrevYear", "\"1200000.505\"", "entities[1].ownersEquityPrevYear")]             // below the fen
    [InlineData("entities[1].ownersEquityPrevYear", "\"1200000.000000000000000000000001\"", "entities[1].ownersEquityPrevYear")]
    [InlineData("entities[1].ownersEquityPrevYear", "1e-9223372036854775808", "entities[1].ownersEquityPrevYear")]
    [InlineData("entities[0].entityId", null, "entities[0].entityId")]
    [InlineData("entities[0].entityId", "\"\"", "entities[0].entityId")]
    [InlineData("entities[0].entityId", "5", "entities[0].entityId")]
    [InlineData("entities[2].entityId", "\"E1\"", "entities[2].entityId")]   // duplicate
    [InlineData("entities[0].type", "\"PERSON\"", "entities[0].type")]
    [InlineData("entities[0].type", "1", "entities[0].type")]
    [InlineData("entities[0].name", "5", "entities[0].name")]
    [InlineData("entities[0].whitelisted", "\"yes\"", "entities[0].whitelisted")]
    [InlineData("entities[0].sanctioned", "1", "entities[0].sanctioned")]
    [InlineData("entities[0].lastActivity", "\"2026-01-05\"", "entities[0].lastActivity")]
    [InlineData("entities[0].lastActivity", "\"2026-01-05T00:00:00\"", "entities[0].lastActivity")]
    [InlineData("entities[0].lastActivity", "\"2026-02-30T00:00:00+08:00\"", "entities[0].lastActivity")]
    [InlineData("entities[0].lastActivity", "20260105", "entities[0].lastActivity")]
    [InlineData("entities[1]", "\"E2\"", "entities[1]")]
    [InlineData("entities", "{}", "entities")]
    // fxRates
    [InlineData("fxRates.USD", null, "fxRates.USD")]
    [InlineData("fxRates.USD", "0", "fxRates.USD")]
    [InlineData("fxRates.USD", "-7.1", "fxRates.USD")]
    [InlineData("fxRates.USD", "\"seven\"", "fxRates.USD")]
    [InlineData("fxRates.USD", "null", "fxRates.USD")]
    [InlineData("fxRates.USD", "[7.1]", "fxRates.USD")]
    [InlineData("fxRates.HKD", "\"0.91.1\"", "fxRates.HKD")]
    [InlineData("fxRates.HKD", "\"0.00000099\"", "fxRates.HKD")]        // under 10^-6
    [InlineData("fxRates.HKD", "1000000.000001", "fxRates.HKD")]          // over 10^6
    [InlineData("fxRates.HKD", "\"0.9100001\"", "fxRates.HKD")]          // 7 decimals
    [InlineData("fxRates.HKD", "\"0.91000000000000000000000000001\"", "fxRates.HKD")]   // 29 decimals, more than decimal holds
    [InlineData("fxRates.HKD", "0.91000000000000000000000000001", "fxRates.HKD")]
    [InlineData("fxRates.HKD", "9.1000000000000000000000000001e-1", "fxRates.HKD")]
    [InlineData("fxRates.usd", "7.1", "fxRates.usd")]
    [InlineData("fxRates.US", "7.1", "fxRates.US")]
    [InlineData("fxRates.CNY", "2", "fxRates.CNY")]
    [InlineData("fxRates", "[]", "fxRates")]
    [InlineData("fxRates", null, "fxRates")]
    // accounts
    [InlineData("accounts[0].kind", "\"XYZ\"", "accounts[0].kind")]
    [InlineData("accounts[0].kind", "\"efe\"", "accounts[0].kind")]
    [InlineData("accounts[0].kind", null, "accounts[0].kind")]
    [InlineData("accounts[0].kind", "3", "accounts[0].kind")]
    [InlineData("accounts[0].account", null, "accounts[0].account")]
    [InlineData("accounts[0].account", "\"\"", "accounts[0].account")]
    [InlineData("accounts[1].account", "\"EFE0001\"", "accounts[1].account")]   // duplicate
    [InlineData("accounts[1].entityId", null, "accounts[1].entityId")]
    [InlineData("accounts[1].entityId", "\"\"", "accounts[1].entityId")]
    [InlineData("accounts[1]", "[]", "accounts[1]")]
    [InlineData("accounts", "\"EFE0001\"", "accounts")]
    // highRiskCountries and sanctionsList
    [InlineData("highRiskCountries.KP", "\"HIGH\"", "highRiskCountries.KP")]
    [InlineData("highRiskCountries.KP", "1", "highRiskCountries.KP")]
    [InlineData("highRiskCountries.VN", "\"call_for_action\"", "highRiskCountries.VN")]
    [InlineData("highRiskCountries", "[\"KP\"]", "highRiskCountries")]
    [InlineData("highRiskCountries.kp", "\"CALL_FOR_ACTION\"", "highRiskCountries.kp")]
    [InlineData("highRiskCountries.PRK", "\"CALL_FOR_ACTION\"", "highRiskCountries.PRK")]
    [InlineData("sanctionsList[1]", "5", "sanctionsList[1]")]
    [InlineData("sanctionsList[1]", "\"\"", "sanctionsList[1]")]
    [InlineData("sanctionsList[1]", "\" \\t \"", "sanctionsList[1]")]
    [InlineData("sanctionsList[0]", "\"--- ,.\"", "sanctionsList[0]")]
    [InlineData("sanctionsList", "\"ACME\"", "sanctionsList")]
    // parameters
    [InlineData("parameters.macroPrudentialFactor", "-1", "parameters.macroPrudentialFactor")]
    [InlineData("parameters.macroPrudentialFactor", "\"x\"", "parameters.macroPrudentialFactor")]
    [InlineData("parameters.macroPrudentialFactor", "true", "parameters.macroPrudentialFactor")]
    [InlineData("parameters.inflowLeverage", "[]", "parameters.inflowLeverage")]
    [InlineData("parameters.outflowLeverage", "\"-2\"", "parameters.outflowLeverage")]
    [InlineData("parameters.whitelistRequired", "\"true\"", "parameters.whitelistRequired")]
    [InlineData("parameters.macroPrudentialFactor", "1000.0001", "parameters.macroPrudentialFactor")]
    [InlineData("parameters.inflowLeverage", "\"1.00001\"", "parameters.inflowLeverage")]
    [InlineData("parameters.inflowLeverage", "1.000000000000000000000000000001", "parameters.inflowLeverage")]
    [InlineData("parameters.penetrationKinds", "\"EFE\"", "parameters.penetrationKinds")]
    [InlineData("parameters.penetrationKinds[1]", "\"NRA\"", "parameters.penetrationKinds[1]")]
    [InlineData("parameters.penetrationKinds[0]", "\"XYZ\"", "parameters.penetrationKinds[0]")]
    [InlineData("parameters.penetrationKinds[1]", "\"FTN\"", "parameters.penetrationKinds[1]")]   // a zone kind, but not one of §3's
    [InlineData("parameters.penetrationKinds", "[\"FTE\"]", "parameters.penetrationKinds")]       // EFE always counts
    [InlineData("parameters.penetrationKinds", "[]", "parameters.penetrationKinds")]
    [InlineData("parameters", "5", "parameters")]
    [InlineData("parameters.macroPrudentalFactor", "0.5", "parameters.macroPrudentalFactor")]   // misspelt: not silently the default
    [InlineData("entities[1].santioned", "true", "entities[1].santioned")]   // misspelt: not silently unscreened
    [InlineData("accounts[0].entityID", "\"E1\"", "accounts[0].entityID")]
    [InlineData("entites", "[]", "entites")]                                // misspelt: not silently no entities
    public void Parse_BrokenField_ThrowsNamingTheFieldPath(string path, string? raw, string expectedField)
    {
        var json = Mutate(path, raw);

        var ex = Assert.Throws<ReferenceDataException>(() => Load(json));

        Assert.Equal(expectedField, ex.Field);
        Assert.Contains(expectedField + ":", ex.Message, StringComparison.Ordinal);
        Assert.False(string.IsNullOrWhiteSpace(ex.Problem));
    }

    /// <summary>
    /// Ids are held to what events' ids are: one with an invisible or control character, written as itself or escaped,
    /// names an entity or account no event can reach (SEMANTICS.md, Ids).
    /// </summary>
    [Theory]
    [InlineData("entities[0].entityId", "\"E1\\u200b\"", "U+200B")]    // a zero-width space after E1
    [InlineData("accounts[0].account", "\"EFE0001\\u202e\"", "U+202E")]
    [InlineData("accounts[0].account", "\"EFE\\u00000001\"", "U+0000")]
    [InlineData("accounts[1].entityId", "\"\\ufeffE1\"", "U+FEFF")]
    [InlineData("accounts[1].entityId", "\"E1\\u2028\"", "U+2028")]
    public void Parse_IdWithAnInvisibleOrControlCharacter_ThrowsNamingTheFieldAndTheCharacter(string path, string raw, string character)
    {
        var ex = Assert.Throws<ReferenceDataException>(() => Load(Mutate(path, raw)));

        Assert.Equal($"reference data: {path}: holds an invisible or control character ({character})", ex.Message);
    }

    [Theory]
    [InlineData("entities[0].entityId", "\"E1\\u00a0\"", "holds a blank character other than the space (U+00A0)")]
    [InlineData("accounts[0].account", "\"EFE0001 \"", "begins or ends with a space")]
    [InlineData("accounts[1].entityId", "\"E\\u034f1\"", "holds an invisible or control character (U+034F)")]
    public void Parse_IdThatShowsAsAnother_ThrowsNamingTheFieldAndWhy(string path, string raw, string problem)
    {
        var ex = Assert.Throws<ReferenceDataException>(() => Load(Mutate(path, raw)));

        Assert.Equal($"reference data: {path}: {problem}", ex.Message);
    }

    /// <summary>An entity's last activity lies in the span events' times take, its ends included.</summary>
    [Theory]
    [InlineData("\"1970-01-01T00:00:00Z\"", true)]
    [InlineData("\"1970-01-01T07:59:59.9999999+08:00\"", false)]
    [InlineData("\"2105-12-31T23:59:59.9999999+08:00\"", true)]
    [InlineData("\"2106-01-01T00:00:00+08:00\"", false)]
    [InlineData("\"0001-01-01T00:00:00Z\"", false)]
    [InlineData("\"9999-12-31T23:59:59Z\"", false)]
    public void Parse_LastActivityAtTheCalendarsEnds_IsTakenOrRefused(string raw, bool taken)
    {
        var json = Mutate("entities[0].lastActivity", raw);

        if (taken)
        {
            Assert.NotNull(Load(json).Entities["E1"].LastActivityTicks);
            return;
        }
        var ex = Assert.Throws<ReferenceDataException>(() => Load(json));
        Assert.Equal("entities[0].lastActivity", ex.Field);
        Assert.Contains("outside 1970-01-01T00:00:00Z to 2105-12-31T23:59:59.9999999+08:00", ex.Problem, StringComparison.Ordinal);
    }

    /// <summary>A number too large for decimal says so, written as a number or as a string.</summary>
    [Theory]
    [InlineData("79228162514264337593543950336", "number out of decimal range")]
    [InlineData("\"79228162514264337593543950336\"", "number out of decimal range")]
    [InlineData("\"-79228162514264337593543950336.5\"", "number out of decimal range")]
    [InlineData("\"79228162514264337593543950335\"", "must not exceed 1,000,000,000,000,000,000")]   // decimal's largest
    [InlineData("\"7.9.2\"", "'7.9.2' is not a decimal number")]
    [InlineData("\"1e7\"", "'1e7' is not a decimal number")]
    public void Parse_NumberTooLargeForDecimal_SaysSo(string raw, string problem)
    {
        var ex = Assert.Throws<ReferenceDataException>(() => Load(Mutate("entities[1].ownersEquityPrevYear", raw)));

        Assert.Equal(problem, ex.Problem);
    }

    /// <summary>A negative value says so, written as a number or as a string (README's example message).</summary>
    [Theory]
    [InlineData("entities[1].ownersEquityPrevYear", "-5")]
    [InlineData("entities[1].ownersEquityPrevYear", "\"-5\"")]
    [InlineData("entities[1].ownersEquityPrevYear", "\"-1200000.50\"")]
    [InlineData("fxRates.HKD", "\"-0.91\"")]
    [InlineData("parameters.outflowLeverage", "\"-2\"")]
    public void Parse_NegativeValue_ThrowsSayingItMustNotBeNegative(string path, string raw)
    {
        var ex = Assert.Throws<ReferenceDataException>(() => Load(Mutate(path, raw)));

        Assert.Equal($"reference data: {path}: must not be negative", ex.Message);
    }

    /// <summary>A name given twice in one object: whichever value a reader kept, the other would be dropped unseen.</summary>
    [Theory]
    [InlineData("\"HKD\": \"0.91\",", "\"HKD\": \"0.91\", \"USD\": 71,", "fxRates.USD")]
    [InlineData("\"whitelisted\": true,", "\"whitelisted\": true, \"whitelisted\": false,", "entities[0].whitelisted")]
    [InlineData("\"sanctioned\": true }", "\"sanctioned\": true, \"sanctioned\": false }", "entities[2].sanctioned")]
    [InlineData("\"kind\": \"DOMESTIC\",", "\"kind\": \"DOMESTIC\", \"kind\": \"EFE\",", "accounts[1].kind")]
    [InlineData("\"VN\": \"INCREASED_MONITORING\"", "\"VN\": \"INCREASED_MONITORING\", \"V\\u004e\": \"CALL_FOR_ACTION\"", "highRiskCountries.VN")]
    [InlineData("\"inflowLeverage\": 1.5,", "\"inflowLeverage\": 1.5, \"inflowLeverage\": 15,", "parameters.inflowLeverage")]
    [InlineData("\"sanctionsList\":", "\"accounts\": [], \"sanctionsList\":", "accounts")]
    public void Parse_NameGivenTwice_ThrowsNamingIt(string original, string replacement, string expectedField)
    {
        var json = ValidJson.Replace(original, replacement, StringComparison.Ordinal);
        Assert.NotEqual(ValidJson, json);

        var ex = Assert.Throws<ReferenceDataException>(() => Load(json));

        Assert.Equal(expectedField, ex.Field);
        Assert.Contains("given twice", ex.Problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"Hengqin Widgets\"", "\"\\ud800\"", "entities[0].name")]          // a lone surrogate escape
    [InlineData("\"Acme Trading, Ltd.\"", "\"Acme\\udc00\"", "sanctionsList[0]")]
    [InlineData("\"VN\": \"INCREASED_MONITORING\"", "\"VN\": \"\\ud83d\"", "highRiskCountries.VN")]
    public void Parse_StringThatIsNotValidUnicode_ThrowsReferenceDataExceptionNamingTheField(string original, string replacement, string expectedField)
    {
        var json = ValidJson.Replace(original, replacement, StringComparison.Ordinal);
        Assert.NotEqual(ValidJson, json);

        var ex = Assert.Throws<ReferenceDataException>(() => Load(json));

        Assert.Equal(expectedField, ex.Field);
    }

    /// <summary>
    /// A name with an escape of half a surrogate pair cannot be read as text: the document is refused naming the object
    /// that holds it, as any other broken field, where reading the name used to throw past every check.
    /// </summary>
    [Theory]
    [InlineData("\"HKD\":", "\"\\ud800\":", "fxRates")]
    [InlineData("\"fxRates\":", "\"\\udc00x\": 1, \"fxRates\":", "(document)")]
    [InlineData("\"whitelisted\": true,", "\"whitelisted\": true, \"\\ud83d\": 1,", "entities[0]")]
    [InlineData("\"macroPrudentialFactor\":", "\"macro\\ud800Factor\":", "parameters")]
    public void Parse_NameThatIsNotValidUnicode_ThrowsNamingItsObject(string original, string replacement, string expectedField)
    {
        var json = ValidJson.Replace(original, replacement, StringComparison.Ordinal);
        Assert.NotEqual(ValidJson, json);

        var ex = Assert.Throws<ReferenceDataException>(() => Load(json));

        Assert.Equal(expectedField, ex.Field);
        Assert.Contains("not valid Unicode", ex.Problem, StringComparison.Ordinal);
    }

    /// <summary>Zeros after the last significant digit count as no decimals wherever they stand, before the point too.</summary>
    [Theory]
    [InlineData("7100000000e-9", "7.1")]
    [InlineData("71.00000000e-1", "7.1")]
    [InlineData("0.00000071e7", "7.1")]
    [InlineData("7100000E-6", "7.1")]
    [InlineData("7.100000000000000000", "7.1")]
    [InlineData("1234567e-6", "1.234567")]
    public void Parse_RateWithZerosBeyondItsDecimals_Loads(string written, string expected)
    {
        var reference = Load(ValidJson.Replace("\"USD\": 7.10,", $"\"USD\": {written},", StringComparison.Ordinal));

        Assert.Equal(decimal.Parse(expected, CultureInfo.InvariantCulture), reference.UsdRate);
    }

    [Theory]
    [InlineData("12345671e-7")]     // 1.2345671: 7 decimals
    [InlineData("1234567.1e-6")]
    public void Parse_RateWithSevenSignificantDecimals_ThrowsNamingIt(string written)
    {
        var ex = Assert.Throws<ReferenceDataException>(() => Load(ValidJson.Replace("\"USD\": 7.10,", $"\"USD\": {written},", StringComparison.Ordinal)));

        Assert.Equal("fxRates.USD", ex.Field);
    }

    [Fact]
    public void Parse_ValuesAtTheirBounds_Load()
    {
        var json = Mutate("entities[1].ownersEquityPrevYear", "\"1000000000000000000.00\"");
        json = json.Replace("\"HKD\":\"0.91\"", "\"HKD\":0.000001", StringComparison.Ordinal)
            .Replace("\"EUR\":7.70", "\"EUR\":999999.999999", StringComparison.Ordinal)
            .Replace("\"macroPrudentialFactor\":0.8", "\"macroPrudentialFactor\":1000", StringComparison.Ordinal)
            .Replace("\"inflowLeverage\":1.5", "\"inflowLeverage\":0.0001", StringComparison.Ordinal);

        var reference = Load(json);

        Assert.Equal(1_000_000_000_000_000_000m, reference.Entities["E2"].OwnersEquityPrevYear);
        Assert.Equal(0.000001m, reference.FxRates["HKD"]);
        Assert.Equal(999_999.999999m, reference.FxRates["EUR"]);
        Assert.Equal(1_000m, reference.Parameters.MacroPrudentialFactor);
        Assert.Equal(0.0001m, reference.Parameters.InflowLeverage);
    }

    [Theory]
    [InlineData("{\"fxRates\":{\"USD\":7.1}} garbage")]
    [InlineData("{\"fxRates\":{\"USD\":7.1}}{\"fxRates\":{\"USD\":7.2}}")]   // two documents
    public void Parse_DataAfterTheDocument_ThrowsNamingTheDocument(string json)
    {
        var ex = Assert.Throws<ReferenceDataException>(() => Load(json));

        Assert.Equal("(document)", ex.Field);
    }

    [Fact]
    public void Parse_CommentsAndWhitespaceAfterTheDocument_Load()
    {
        Assert.Equal(7.1m, Load("{\"fxRates\":{\"USD\":7.1}}\n // end\n  ").UsdRate);
    }

    [Theory]
    [InlineData("\"HKD\"")]                 // a property name
    [InlineData("\"Hengqin Widgets\"")]     // a string value
    public void Parse_TextThatIsNotUtf8_ThrowsNamingTheDocumentAndTheByte(string quoted)
    {
        var bytes = Encoding.UTF8.GetBytes(ValidJson);
        var at = ValidJson.IndexOf(quoted, StringComparison.Ordinal) + 2;
        bytes[at] = 0xFF;

        var ex = Assert.Throws<ReferenceDataException>(() => ReferenceDataLoader.Parse(bytes));

        Assert.Equal("(document)", ex.Field);
        Assert.Contains($"byte {at + 1}", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("42")]
    public void Parse_NotAJsonObject_ThrowsNamingTheDocument(string json)
    {
        var ex = Assert.Throws<ReferenceDataException>(() => Load(json));

        Assert.Equal("(document)", ex.Field);
    }

    [Fact]
    public void LoadFile_MissingFile_ThrowsNamingTheFile()
    {
        var path = Path.Combine(Path.GetTempPath(), "flowwatch-no-such-reference-" + Guid.NewGuid().ToString("N") + ".json");

        var ex = Assert.Throws<ReferenceDataException>(() => ReferenceDataLoader.LoadFile(path));

        Assert.Equal("(file)", ex.Field);
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadFile_ValidFile_Loads()
    {
        var path = Path.Combine(Path.GetTempPath(), "flowwatch-reference-" + Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(path, ValidJson);
        try
        {
            Assert.Equal(3, ReferenceDataLoader.LoadFile(path).Entities.Count);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Parse_TheTestStreamsBuilder_ProducesLoadableReferenceData()
    {
        var reference = TestStreams.Reference().Entity("E1", equity: 1m, lastActivity: TestStreams.T0).Account("A1", "EFE", "E1")
            .Sanction("X").Parameter("whitelistRequired", false).Build();

        Assert.Equal(TestStreams.T0.UtcTicks, reference.Entities["E1"].LastActivityTicks);
        Assert.False(reference.Parameters.WhitelistRequired);
        Assert.Equal(0.71m, reference.FxRates["HKD"]);
    }
}
