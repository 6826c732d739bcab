using System.Text;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Decoding;
using FlowWatch.Core.Engine;
using FlowWatch.Core.Reference;

namespace FlowWatch.Core.Tests.Decoding;

/// <summary>PARAMETERS control records (DESIGN.md §3.4): the fields present override the parameters in force.</summary>
public sealed class ControlRecordParserTests
{
    private static readonly Parameters Current = new()
    {
        MacroPrudentialFactor = 1m, InflowLeverage = 1m, OutflowLeverage = 1m, WhitelistRequired = true,
    };

    private static (bool Ok, Parameters Updated, string? Reason) Parse(string json)
    {
        var ok = ControlRecordParser.TryParse(Encoding.UTF8.GetBytes(json), Current, out var control, out var reason);
        return (ok, control.Parameters, reason);
    }

    [Fact]
    public void TryParse_OneField_OverridesOnlyThatField()
    {
        var (ok, updated, reason) = Parse("""{"type":"PARAMETERS","ts":"2026-03-01T09:30:00+08:00","macroPrudentialFactor":0.5}""");

        Assert.True(ok, reason);
        Assert.Equal(0.5m, updated.MacroPrudentialFactor);
        Assert.Equal(1m, updated.InflowLeverage);
        Assert.Equal(1m, updated.OutflowLeverage);
        Assert.True(updated.WhitelistRequired);
        Assert.Equal([AccountKind.EFE], updated.PenetrationKinds);
    }

    [Fact]
    public void TryParse_EveryField_OverridesEveryParameter()
    {
        var (ok, updated, reason) = Parse("""
            {"type":"PARAMETERS","ts":"2026-03-01T01:30:00Z","macroPrudentialFactor":"0.25","inflowLeverage":2,
             "outflowLeverage":"3.5","whitelistRequired":false,"penetrationKinds":["EFE","FTE"]}
            """);

        Assert.True(ok, reason);
        Assert.Equal(0.25m, updated.MacroPrudentialFactor);
        Assert.Equal(2m, updated.InflowLeverage);
        Assert.Equal(3.5m, updated.OutflowLeverage);
        Assert.False(updated.WhitelistRequired);
        Assert.Equal(new HashSet<AccountKind> { AccountKind.EFE, AccountKind.FTE }, updated.PenetrationKinds.ToHashSet());
    }

    [Fact]
    public void TryParse_Ts_IsTheTimeTheParametersWereSet()
    {
        Assert.True(ControlRecordParser.TryParse(
            """{"type":"PARAMETERS","ts":"2026-03-01T09:30:00.25+08:00","macroPrudentialFactor":0.5}"""u8, Current, out var control, out var reason), reason);

        Assert.Equal(new DateTimeOffset(2026, 3, 1, 9, 30, 0, 250, TimeSpan.FromHours(8)), control.Ts);
        Assert.Equal(TimeSpan.FromHours(8), control.Ts.Offset);
        Assert.Equal("2026-03-01T09:30:00.25+08:00", control.Dated);
        Assert.Equal("macroPrudentialFactor 0.5, inflowLeverage 1, outflowLeverage 1, whitelistRequired true, penetrationKinds [EFE]",
            control.Parameters.ToString());
    }

    /// <summary>A change of caps is dated, as a payment is, and changes something: a record without either changes nothing.</summary>
    [Theory]
    [InlineData("""{"type":"PARAMETERS","macroPrudentialFactor":0.5}""", "ts: missing (when the parameters were set)")]
    [InlineData("""{"type":"PARAMETERS"}""", "ts: missing (when the parameters were set)")]
    [InlineData("""{"type":"PARAMETERS","ts":"2026-03-01T09:30:00+08:00"}""", "names no parameter to change")]
    public void TryParse_NoTsOrNoParameter_FailsSayingWhichAndKeepsTheCurrentParameters(string json, string expected)
    {
        var (ok, updated, reason) = Parse(json);

        Assert.False(ok);
        Assert.Equal(expected, reason);
        Assert.Equal(Current, updated);
    }

    [Theory]
    [InlineData("\"macroPrudentalFactor\":0.5", "macroPrudentalFactor")]                              // misspelt
    [InlineData("\"inflowLeverage\":2,\"outflowLeverge\":2", "outflowLeverge")]                   // one of two misspelt
    [InlineData("\"parameters\":{\"macroPrudentialFactor\":0.5}", "parameters")]                 // nested as in a reference file
    [InlineData("\"MacroPrudentialFactor\":0.5", "MacroPrudentialFactor")]                            // names are case-sensitive
    [InlineData("\"inflowLeverage\":2,\"comment\":\"notice 12\"", "comment")]                          // nothing but parameters
    public void TryParse_FieldThatIsNoParameter_FailsWholeNamingIt(string fields, string name)
    {
        var (ok, updated, reason) = Parse("{\"type\":\"PARAMETERS\",\"ts\":\"2026-03-01T09:30:00+08:00\"," + fields + "}");

        Assert.False(ok);
        Assert.StartsWith(name + ": not a parameter", reason, StringComparison.Ordinal);
        Assert.Equal(Current, updated);
    }

    [Theory]
    [InlineData("\"macroPrudentialFactor\":0.5,\"macroPrudentialFactor\":5", "macroPrudentialFactor")]
    [InlineData("\"whitelistRequired\":false,\"inflowLeverage\":2,\"whitelistRequired\":true", "whitelistRequired")]
    [InlineData("\"inflowLeverage\":2,\"ts\":\"2026-03-01T10:30:00+08:00\"", "ts")]
    public void TryParse_NameGivenTwice_FailsWholeNamingIt(string fields, string name)
    {
        var (ok, updated, reason) = Parse("{\"type\":\"PARAMETERS\",\"ts\":\"2026-03-01T09:30:00+08:00\"," + fields + "}");

        Assert.False(ok);
        Assert.StartsWith(name + ": given twice", reason, StringComparison.Ordinal);
        Assert.Equal(Current, updated);
    }

    [Theory]
    [InlineData("\"macroPrudentialFactor\":-0.5", "macroPrudentialFactor")]
    [InlineData("\"macroPrudentialFactor\":\"half\"", "macroPrudentialFactor")]
    [InlineData("\"macroPrudentialFactor\":true", "macroPrudentialFactor")]
    [InlineData("\"macroPrudentialFactor\":1e400", "macroPrudentialFactor")]
    [InlineData("\"macroPrudentialFactor\":10000000000000000000000", "macroPrudentialFactor")]   // a cap beyond decimal's range
    [InlineData("\"outflowLeverage\":\"1000.5\"", "outflowLeverage")]
    [InlineData("\"inflowLeverage\":[]", "inflowLeverage")]
    [InlineData("\"outflowLeverage\":{}", "outflowLeverage")]
    [InlineData("\"whitelistRequired\":\"no\"", "whitelistRequired")]
    [InlineData("\"whitelistRequired\":0", "whitelistRequired")]
    [InlineData("\"penetrationKinds\":\"EFE\"", "penetrationKinds")]
    [InlineData("\"penetrationKinds\":[\"EFE\",\"NRA\"]", "penetrationKinds[1]")]
    [InlineData("\"penetrationKinds\":[\"XYZ\"]", "penetrationKinds[0]")]
    [InlineData("\"penetrationKinds\":[1]", "penetrationKinds[0]")]
    [InlineData("\"penetrationKinds\":[\"EFE\",\"EFN\"]", "penetrationKinds[1]")]
    [InlineData("\"penetrationKinds\":[\"FTE\"]", "penetrationKinds")]
    [InlineData("\"ts\":\"2026-03-01T09:30:00\"", "ts")]
    [InlineData("\"ts\":\"2026-02-30T09:30:00+08:00\"", "ts")]
    [InlineData("\"ts\":5", "ts")]
    public void TryParse_BadField_FailsWithAReasonNamingTheField(string field, string name)
    {
        var (ok, updated, reason) = Parse(field.StartsWith("\"ts\"", StringComparison.Ordinal)
            ? "{\"type\":\"PARAMETERS\"," + field + ",\"macroPrudentialFactor\":0.5}"
            : "{\"type\":\"PARAMETERS\",\"ts\":\"2026-03-01T09:30:00+08:00\"," + field + "}");

        Assert.False(ok);
        Assert.NotNull(reason);
        Assert.StartsWith(name + ":", reason, StringComparison.Ordinal);
        Assert.Equal(Current, updated);
    }

    [Theory]
    [InlineData("{\"macroPrudentialFactor\":0.5}")]                                // a control topic's record without its type
    [InlineData("{\"type\":\"OTHER\",\"macroPrudentialFactor\":0.5}")]
    [InlineData("{\"type\":5,\"macroPrudentialFactor\":0.5}")]
    public void TryParse_NotOfTypeParameters_FailsNamingType(string json)
    {
        var (ok, updated, reason) = Parse(json);

        Assert.False(ok);
        Assert.Equal("type: not PARAMETERS", reason);
        Assert.Equal(Current, updated);
    }

    [Theory]
    [InlineData("{\"type\":\"PARAMETERS\",")]
    [InlineData("{\"type\":\"PARAMETERS\",\"macroPrudentialFactor\":0.5} {\"type\":\"PARAMETERS\"}")]   // data after the object
    [InlineData("")]
    [InlineData("not json")]
    public void TryParse_MalformedJson_FailsWithAReason(string json)
    {
        var (ok, _, reason) = Parse(json);

        Assert.False(ok);
        Assert.False(string.IsNullOrWhiteSpace(reason));
    }

    [Fact]
    public void TryParse_NotAnObject_FailsWithAReason()
    {
        var (ok, _, reason) = Parse("[1,2]");

        Assert.False(ok);
        Assert.False(string.IsNullOrWhiteSpace(reason));
    }

    [Fact]
    public void Process_BadControlRecord_IsADeadLetterAndKeepsTheParameters()
    {
        var engine = new FlowEngine(TestStreams.Reference().Build(), new RuleSettings(), shards: 1);

        var outcome = engine.Process("""{"type":"PARAMETERS","ts":"2026-03-01T09:30:00+08:00","macroPrudentialFactor":-1}"""u8, 1, [], out var reason);

        Assert.Equal(RecordOutcome.Rejected, outcome);
        Assert.StartsWith("macroPrudentialFactor:", reason, StringComparison.Ordinal);
        Assert.Equal(1, engine.Counters.DeadLetters);
        Assert.Equal(1m, engine.Reference.Parameters.MacroPrudentialFactor);
    }

    [Fact]
    public void Process_ControlRecordWithInvalidUtf8_IsADeadLetterNotAnException()
    {
        var engine = new FlowEngine(TestStreams.Reference().Build(), new RuleSettings(), shards: 1);
        byte[] record = [.. """{"type":"PARAMETERS","ts":"2026-03-01T09:30:00+08:00","inflow"""u8, 0xFF, .. "Leverage\":2}"u8];

        RecordOutcome outcome = default;
        string? reason = null;
        var thrown = Record.Exception(() => outcome = engine.Process(record, 1, [], out reason));

        Assert.Null(thrown);
        Assert.Equal(RecordOutcome.Rejected, outcome);
        Assert.False(string.IsNullOrWhiteSpace(reason));
    }

    [Fact]
    public void Process_ControlRecord_IsCountedAndChangesTheParameters()
    {
        var engine = new FlowEngine(TestStreams.Reference().Build(), new RuleSettings(), shards: 1);
        var alerts = new List<Alert>();

        var outcome = engine.Process("""{"type":"PARAMETERS","ts":"2026-03-01T09:30:00+08:00","outflowLeverage":0.5}"""u8, 1, alerts, out var reason);

        Assert.Equal(RecordOutcome.Control, outcome);
        Assert.Null(reason);
        Assert.Empty(alerts);
        Assert.Equal(1, engine.Counters.ControlRecords);
        Assert.Equal(0.5m, engine.Reference.Parameters.OutflowLeverage);
    }

    [Theory]
    [InlineData("\"amount\":\"x\",", "amount")]
    [InlineData("\"direction\":\"UP\",", "direction")]
    [InlineData("\"txnId\":\"\",", "txnId")]
    [InlineData("\"customsSpecial\":{\"a\":[1]},", "customsSpecial")]
    public void Process_ControlRecordWithAFieldOfAPayment_IsRefusedAsOnTheControlTopic(string field, string name)
    {
        var engine = new FlowEngine(TestStreams.Reference().Build(), new RuleSettings(), shards: 1);
        var record = "{\"type\":\"PARAMETERS\",\"ts\":\"2026-03-01T09:30:00+08:00\"," + field + "\"outflowLeverage\":0.5}";

        var before = engine.Reference.Parameters;
        var fromTopic = Parse(record);
        var outcome = engine.Process(Encoding.UTF8.GetBytes(record), 1, [], out var reason);

        // DESIGN.md §3.4 has one contract for both: a payment's fields are no part of it, whether right or wrong for a payment.
        Assert.False(fromTopic.Ok);
        Assert.StartsWith(name + ": not a parameter", fromTopic.Reason, StringComparison.Ordinal);
        Assert.Equal(RecordOutcome.Rejected, outcome);
        Assert.Equal(fromTopic.Reason, reason);
        Assert.Equal(before, engine.Reference.Parameters);
    }

    [Fact]
    public void Process_ControlRecordNamingTheTypeLast_Applies()
    {
        var engine = new FlowEngine(TestStreams.Reference().Build(), new RuleSettings(), shards: 1);

        var outcome = engine.Process("""{"outflowLeverage":0.5,"ts":"2026-03-01T09:30:00+08:00","type":"PARAMETERS"}"""u8, 1, [], out var reason);

        Assert.Equal(RecordOutcome.Control, outcome);
        Assert.Null(reason);
        Assert.Equal(0.5m, engine.Reference.Parameters.OutflowLeverage);
    }
}
