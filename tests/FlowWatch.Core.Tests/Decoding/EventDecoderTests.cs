using System.Text;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Decoding;

namespace FlowWatch.Core.Tests.Decoding;

/// <summary>The payment event contract of DESIGN.md §3.1, field by field.</summary>
public sealed class EventDecoderTests
{
    private static readonly string[] RequiredFields = ["txnId", "ts", "account", "direction", "amount", "currency", "cpKind"];

    private static string Valid() => TestStreams.Event("T1").ToJson();

    private static (RecordType Type, PaymentEvent Event, string? Reason) Decode(string json)
    {
        var e = default(PaymentEvent);
        var type = new EventDecoder().Decode(Encoding.UTF8.GetBytes(json), ref e, out var reason);
        return (type, e, reason);
    }

    private static PaymentEvent Accepted(string json)
    {
        var (type, e, reason) = Decode(json);
        Assert.True(type == RecordType.Payment, $"expected a payment, got {type}: {reason}");
        Assert.Null(reason);
        return e;
    }

    private static string Rejected(string json)
    {
        var (type, _, reason) = Decode(json);
        Assert.Equal(RecordType.Rejected, type);
        Assert.False(string.IsNullOrWhiteSpace(reason));
        return reason!;
    }

    [Fact]
    public void Decode_CompleteEvent_FillsEveryField()
    {
        var json = TestStreams.Event("TX-1").At("2026-03-01T09:30:00.25+08:00").Account("EFE0001", "EFE").Entity("E1").Out()
            .Amount(1234.5m, "USD").Cp("DOMESTIC", entityId: "E2", account: "DOM9", name: "Acme", country: "HK")
            .Purpose("SERVICE_TRADE").Cash().CustomsSpecial().With("bank", "BOC").ToJson();

        var e = Accepted(json);

        Assert.Equal("TX-1", e.TxnId);
        Assert.Equal(new DateTimeOffset(2026, 3, 1, 1, 30, 0, 250, TimeSpan.Zero).UtcTicks, e.TimestampTicks);
        Assert.Equal(480, e.OffsetMinutes);
        Assert.Equal("EFE0001", e.Account);
        Assert.Equal(AccountKind.EFE, e.AccountKind);
        Assert.Equal("E1", e.EntityId);
        Assert.Equal(Direction.Out, e.Direction);
        Assert.Equal(1234.5m, e.Amount);
        Assert.Equal("USD", e.Currency);
        Assert.Equal(AccountKind.DOMESTIC, e.CpKind);
        Assert.Equal("E2", e.CpEntityId);
        Assert.Equal("DOM9", e.CpAccount);
        Assert.Equal("Acme", e.CpName);
        Assert.Equal("HK", e.CpCountry);
        Assert.Equal(Purpose.ServiceTrade, e.Purpose);
        Assert.Equal(PaymentMethod.Cash, e.Method);
        Assert.True(e.CustomsSpecial);
        Assert.Equal("BOC", e.Bank);
    }

    [Fact]
    public void Decode_MinimalEvent_UsesTheDefaults()
    {
        var e = Accepted("""{"txnId":"a","ts":"2026-03-01T09:30:00Z","account":"EFE1","direction":"IN","amount":1,"currency":"CNY","cpKind":"OFFSHORE"}""");

        Assert.Equal(AccountKind.None, e.AccountKind);   // resolved later from reference data or the prefix
        Assert.Null(e.EntityId);
        Assert.Equal(Purpose.Other, e.Purpose);
        Assert.Equal(PaymentMethod.Transfer, e.Method);
        Assert.False(e.CustomsSpecial);
        Assert.Null(e.CpAccount);
        Assert.Null(e.CpName);
    }

    [Theory]
    [InlineData("txnId")]
    [InlineData("ts")]
    [InlineData("account")]
    [InlineData("direction")]
    [InlineData("amount")]
    [InlineData("currency")]
    [InlineData("cpKind")]
    public void Decode_RequiredFieldMissing_RejectedNamingTheField(string field)
    {
        var reason = Rejected(TestStreams.Event("T1").Without(field).ToJson());

        Assert.Contains(field, reason, StringComparison.Ordinal);
        Assert.Contains("missing", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_EveryRequiredFieldNull_RejectedNamingTheField()
    {
        foreach (var field in RequiredFields)
        {
            var reason = Rejected(TestStreams.Event("T1").WithRaw(field, "null").ToJson());
            Assert.StartsWith(field + ":", reason, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("txnId", "5")]
    [InlineData("txnId", "true")]
    [InlineData("txnId", "{}")]
    [InlineData("txnId", "[\"T1\"]")]
    [InlineData("txnId", "\"\"")]
    [InlineData("ts", "1767225600")]
    [InlineData("ts", "\"yesterday\"")]
    [InlineData("account", "42")]
    [InlineData("account", "\"\"")]
    [InlineData("accountKind", "\"FTX\"")]
    [InlineData("accountKind", "\"efe\"")]
    [InlineData("accountKind", "1")]
    [InlineData("entityId", "7")]
    [InlineData("direction", "\"in\"")]
    [InlineData("direction", "\"SIDEWAYS\"")]
    [InlineData("direction", "0")]
    [InlineData("amount", "true")]
    [InlineData("amount", "[100]")]
    [InlineData("amount", "{\"value\":100}")]
    [InlineData("amount", "\"abc\"")]
    [InlineData("amount", "\"\"")]
    [InlineData("amount", "\"12,5\"")]
    [InlineData("amount", "\" 1\"")]
    [InlineData("amount", "\"NaN\"")]
    [InlineData("currency", "\"usd\"")]
    [InlineData("currency", "\"US\"")]
    [InlineData("currency", "\"USDT\"")]
    [InlineData("currency", "840")]
    [InlineData("cpKind", "\"XYZ\"")]
    [InlineData("cpKind", "\"\"")]
    [InlineData("cpKind", "3")]
    [InlineData("cpAccount", "1")]
    [InlineData("cpEntityId", "false")]
    [InlineData("cpName", "[]")]
    [InlineData("cpCountry", "{}")]
    [InlineData("cpCountry", "\"kp\"")]       // would pass the reference's KP unseen
    [InlineData("cpCountry", "\" KP\"")]
    [InlineData("cpCountry", "\"PRK\"")]      // ISO 3166-1 alpha-3
    [InlineData("cpCountry", "\"K\"")]
    [InlineData("purpose", "7")]
    [InlineData("method", "\"WIRE\"")]
    [InlineData("method", "\"cash\"")]
    [InlineData("method", "1")]
    [InlineData("customsSpecial", "\"true\"")]
    [InlineData("customsSpecial", "1")]
    [InlineData("bank", "5")]
    public void Decode_FieldWithWrongTypeOrInvalidValue_RejectedNamingTheField(string field, string rawValue)
    {
        var reason = Rejected(TestStreams.Event("T1").WithRaw(field, rawValue).ToJson());

        Assert.StartsWith(field + ":", reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("accountKind")]
    [InlineData("entityId")]
    [InlineData("cpAccount")]
    [InlineData("cpEntityId")]
    [InlineData("cpName")]
    [InlineData("cpCountry")]
    [InlineData("purpose")]
    [InlineData("method")]
    [InlineData("customsSpecial")]
    [InlineData("bank")]
    public void Decode_OptionalFieldNull_IsTheSameAsAbsent(string field)
    {
        var e = Accepted(TestStreams.Event("T1").WithRaw(field, "null").ToJson());

        Assert.Equal(PaymentMethod.Transfer, e.Method);
        Assert.Equal(Purpose.Other, e.Purpose);
    }

    [Fact]
    public void Decode_TxnIdOf64Bytes_Accepted()
    {
        Assert.Equal(new string('x', 64), Accepted(TestStreams.Event(new string('x', 64)).ToJson()).TxnId);
    }

    [Theory]
    [InlineData(65, "x")]
    [InlineData(22, "中")]   // 66 UTF-8 bytes
    public void Decode_TxnIdLongerThan64Bytes_Rejected(int repeat, string unit)
    {
        var reason = Rejected(TestStreams.Event(string.Concat(Enumerable.Repeat(unit, repeat))).ToJson());

        Assert.StartsWith("txnId:", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_TxnIdOf21ChineseCharacters_Accepted()
    {
        Assert.Equal(new string('中', 21), Accepted(TestStreams.Event(new string('中', 21)).ToJson()).TxnId);   // 63 bytes
    }

    // ---- amounts ----

    [Theory]
    [InlineData("\"100\"", "100")]
    [InlineData("100", "100")]
    [InlineData("\"0.0001\"", "0.0001")]
    [InlineData("0.0001", "0.0001")]
    [InlineData("\"1.23450\"", "1.2345")]
    [InlineData("1.23450", "1.2345")]
    [InlineData("\"1E3\"", "1000")]
    [InlineData("1E3", "1000")]
    [InlineData("\"1e15\"", "1000000000000000")]
    [InlineData("1e15", "1000000000000000")]
    [InlineData("\"1000000000000000\"", "1000000000000000")]
    [InlineData("\"1000000000000000.0000\"", "1000000000000000")]
    [InlineData("\"999999999999999.9999\"", "999999999999999.9999")]
    [InlineData("\"12.5e-1\"", "1.25")]
    [InlineData("\"0.00012E1\"", "0.0012")]
    [InlineData("\"007\"", "7")]
    public void Decode_ValidAmount_IsExact(string raw, string expected)
    {
        var e = Accepted(TestStreams.Event("T1").WithRaw("amount", raw).ToJson());

        Assert.Equal(decimal.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), e.Amount);
    }

    [Theory]
    [InlineData("\"0\"", "greater than 0")]
    [InlineData("0", "greater than 0")]
    [InlineData("\"0.0000\"", "greater than 0")]
    [InlineData("\"-1\"", "greater than 0")]
    [InlineData("-1", "greater than 0")]
    [InlineData("-0.5", "greater than 0")]
    [InlineData("\"1e16\"", "10^15")]
    [InlineData("1e16", "10^15")]
    [InlineData("\"1000000000000001\"", "10^15")]
    [InlineData("\"1000000000000000.0001\"", "10^15")]
    [InlineData("1000000000000000.0001", "10^15")]
    [InlineData("\"99999999999999999999999\"", "10^15")]
    [InlineData("\"1.23456\"", "4 decimals")]
    [InlineData("1.23456", "4 decimals")]
    [InlineData("\"0.00001\"", "4 decimals")]
    [InlineData("\"1e-5\"", "4 decimals")]
    public void Decode_InvalidAmount_RejectedWithItsReason(string raw, string expected)
    {
        var reason = Rejected(TestStreams.Event("T1").WithRaw("amount", raw).ToJson());

        Assert.StartsWith("amount:", reason, StringComparison.Ordinal);
        Assert.Contains(expected, reason, StringComparison.Ordinal);
    }

    // ---- timestamps ----

    [Theory]
    [InlineData("2026-03-01T09:30:00+08:00", "2026-03-01T01:30:00Z", 480)]
    [InlineData("2026-03-01T01:30:00Z", "2026-03-01T01:30:00Z", 0)]
    [InlineData("2026-02-28T20:30:00-05:00", "2026-03-01T01:30:00Z", -300)]
    [InlineData("2026-03-01T09:30:00.5+08:00", "2026-03-01T01:30:00.5Z", 480)]
    [InlineData("2026-03-01T09:30:00.123+08:00", "2026-03-01T01:30:00.123Z", 480)]
    [InlineData("2026-03-01T09:30:00.1234567+08:00", "2026-03-01T01:30:00.1234567Z", 480)]
    [InlineData("2024-02-29T00:00:00+08:00", "2024-02-28T16:00:00Z", 480)]
    [InlineData("2026-12-31T23:59:59+14:00", "2026-12-31T09:59:59Z", 840)]
    [InlineData("2026-03-01T05:30:00+05:30", "2026-03-01T00:00:00Z", 330)]
    public void Decode_TimestampWithOffset_GivesUtcTicksAndOffset(string ts, string utc, int offsetMinutes)
    {
        var e = Accepted(TestStreams.Event("T1").At(ts).ToJson());

        Assert.Equal(DateTimeOffset.Parse(utc, System.Globalization.CultureInfo.InvariantCulture).UtcTicks, e.TimestampTicks);
        Assert.Equal(offsetMinutes, e.OffsetMinutes);
        Assert.Equal(DateTimeOffset.Parse(ts, System.Globalization.CultureInfo.InvariantCulture), e.Timestamp);
    }

    [Fact]
    public void Decode_TimestampInNanoseconds_IsAcceptedToTheTick()
    {
        // As systems that keep nanoseconds write it (Java's Instant, Go's RFC3339Nano): ISO-8601 bounds no fraction.
        var e = Accepted(TestStreams.Event("T1").At("2026-03-01T23:59:59.999999999+08:00").ToJson());

        Assert.Equal(DateTimeOffset.Parse("2026-03-01T15:59:59.9999999Z", System.Globalization.CultureInfo.InvariantCulture).UtcTicks, e.TimestampTicks);
        Assert.Equal(480, e.OffsetMinutes);
    }

    [Theory]
    [InlineData("2026-03-01T09:30:00")]            // no offset
    [InlineData("2026-03-01T09:30:00.123")]        // no offset
    [InlineData("2026-03-01")]
    [InlineData("2026-02-30T10:00:00+08:00")]      // no 30 February
    [InlineData("2026-02-29T10:00:00+08:00")]      // 2026 is not a leap year
    [InlineData("2026-04-31T10:00:00+08:00")]
    [InlineData("2026-13-01T10:00:00+08:00")]
    [InlineData("2026-00-01T10:00:00+08:00")]
    [InlineData("2026-03-00T10:00:00+08:00")]
    [InlineData("2026-03-01T24:00:00+08:00")]
    [InlineData("2026-03-01T23:60:00+08:00")]
    [InlineData("2026-03-01T23:59:60+08:00")]
    [InlineData("2026-03-01 09:30:00+08:00")]
    [InlineData("2026-03-01T09:30:00+0800")]
    [InlineData("2026-03-01T09:30:00+08")]
    [InlineData("2026-03-01T09:30:00+15:00")]
    [InlineData("2026-03-01T09:30:00+08:60")]
    [InlineData("2026-03-01T09:30:00.+08:00")]
    [InlineData("2026-03-01T09:30:00Z+08:00")]
    [InlineData("2026-03-01T09:30:00ZZ")]
    [InlineData("0000-01-01T00:00:00Z")]
    [InlineData("0001-01-01T00:00:00+01:00")]      // before the first representable instant
    [InlineData("9999-12-31T23:59:59-01:00")]      // after the last representable instant
    [InlineData("2026-03-01T09:30:00+14:30")]      // wider than any zone's offset (±14:00)
    [InlineData("2026-03-01T09:30:00-14:01")]
    [InlineData("")]
    [InlineData("２０２６-03-01T09:30:00+08:00")]
    public void Decode_InvalidTimestamp_RejectedNamingTs(string ts)
    {
        var reason = Rejected(TestStreams.Event("T1").At(ts).ToJson());

        Assert.StartsWith("ts:", reason, StringComparison.Ordinal);
    }

    // ---- purposes, unknown fields, escapes ----

    [Theory]
    [InlineData("GOODS_TRADE", Purpose.GoodsTrade)]
    [InlineData("SERVICE_TRADE", Purpose.ServiceTrade)]
    [InlineData("PRIMARY_INCOME", Purpose.PrimaryIncome)]
    [InlineData("SECONDARY_INCOME", Purpose.SecondaryIncome)]
    [InlineData("SALARY", Purpose.Salary)]
    [InlineData("MEDICAL", Purpose.Medical)]
    [InlineData("TRAVEL", Purpose.Travel)]
    [InlineData("LIVING", Purpose.Living)]
    [InlineData("DIRECT_INVESTMENT", Purpose.DirectInvestment)]
    [InlineData("CROSS_BORDER_FINANCING", Purpose.CrossBorderFinancing)]
    [InlineData("OTHER_INVESTMENT", Purpose.OtherInvestment)]
    [InlineData("SECURITIES_INVESTMENT", Purpose.SecuritiesInvestment)]
    [InlineData("LOAN", Purpose.Loan)]
    [InlineData("LOAN_NON_AFFILIATE", Purpose.LoanNonAffiliate)]
    [InlineData("REAL_ESTATE_SELF_USE", Purpose.RealEstateSelfUse)]
    [InlineData("REAL_ESTATE_NON_SELF_USE", Purpose.RealEstateNonSelfUse)]
    [InlineData("OUT_OF_SCOPE", Purpose.OutOfScope)]
    [InlineData("INTERBANK", Purpose.Interbank)]
    [InlineData("OTHER", Purpose.Other)]
    [InlineData("CRYPTO_MINING", Purpose.Other)]
    [InlineData("goods_trade", Purpose.GoodsTrade)]                          // a known code in other letter case
    [InlineData("Direct_Investment", Purpose.DirectInvestment)]
    [InlineData("real_estate_non_self_use", Purpose.RealEstateNonSelfUse)]   // the longest code
    [InlineData("other", Purpose.Other)]
    [InlineData("crypto_mining", Purpose.Other)]
    [InlineData("direct_investment_", Purpose.Other)]
    [InlineData(" SECURITIES_INVESTMENT", Purpose.SecuritiesInvestment)]      // spaces around it
    [InlineData("SECURITIES_INVESTMENT\t", Purpose.SecuritiesInvestment)]
    [InlineData("Securities-Investment", Purpose.SecuritiesInvestment)]      // words joined by a hyphen or a space
    [InlineData("real estate non self use", Purpose.RealEstateNonSelfUse)]
    [InlineData("SECURITIES__INVESTMENT", Purpose.Other)]
    [InlineData("SECURITIESINVESTMENT", Purpose.Other)]
    [InlineData("ｄirect_investment", Purpose.Other)]                         // not ASCII: not the code
    [InlineData("", Purpose.Other)]
    public void Decode_PurposeCode_MapsAndUnknownCodesAreOther(string code, Purpose expected)
    {
        Assert.Equal(expected, Accepted(TestStreams.Event("T1").Purpose(code).ToJson()).Purpose);
    }

    [Fact]
    public void Decode_UnknownFieldsOfEveryShape_AreIgnored()
    {
        var json = TestStreams.Event("T1")
            .WithRaw("note", "\"hello\"")
            .WithRaw("nested", """{"a":[1,2,{"b":null,"c":[true,false]}],"amount":"not this one"}""")
            .WithRaw("list", "[[],{},\"x\",1.5e300]")
            .WithRaw("flag", "true")
            .WithRaw("nothing", "null")
            .WithRaw("amounts", "\"-5\"")
            .ToJson();

        Assert.Equal(100m, Accepted(json).Amount);
    }

    /// <summary>The names of fields passed over, where they are in the record, whichever way the record is read.</summary>
    [Theory]
    [InlineData("""{"txnId":"T1","metod":"CASH","ts":"2026-03-02T10:00:00+08:00","account":"EFE0001","direction":"IN","amount":"100","currency":"CNY","cpKind":"OFFSHORE","note":1}""", "metod", "note")]
    [InlineData("""{ "txnId": "T1", "metod": "CASH", "ts": "2026-03-02T10:00:00+08:00", "account": "EFE0001", "direction": "IN", "amount": "100", "currency": "CNY", "cpKind": "OFFSHORE", "note": {"a": [1]} }""", "metod", "note")]
    [InlineData("""{"txnId":"T1","me\u0074od":"CASH","ts":"2026-03-02T10:00:00+08:00","account":"EFE0001","direction":"IN","amount":"100","currency":"CNY","cpKind":"OFFSHORE","备注":"x"}""", "me\\u0074od", "备注")]
    public void Decode_UnknownFieldNames_AreFoundWhereTheRecordWritesThem(string json, string first, string second)
    {
        var decoder = new EventDecoder();
        var bytes = Encoding.UTF8.GetBytes(json);
        var e = default(PaymentEvent);

        Assert.Equal(RecordType.Payment, decoder.Decode(bytes, ref e, out _));

        Assert.Equal(2, decoder.UnknownNameCount);
        Assert.Equal([first, second], Enumerable.Range(0, 2).Select(i => Encoding.UTF8.GetString(bytes.AsSpan(decoder.UnknownName(i).Start, decoder.UnknownName(i).Length))));
        Assert.Equal(PaymentMethod.Transfer, e.Method);   // passed over: "metod" is not the method
        Assert.Equal(RecordType.Payment, decoder.Decode(Encoding.UTF8.GetBytes(Valid()), ref e, out _));
        Assert.Equal(0, decoder.UnknownNameCount);
        Assert.Equal(RecordType.Payment, decoder.Decode(Encoding.UTF8.GetBytes(TestStreams.Event("T1").WithRaw("Method", "\"CASH\"").ToJson()), ref e, out _));
        Assert.Equal(0, decoder.UnknownNameCount);   // a known name in other letter case is no unknown field
    }

    /// <summary>
    /// A known name in other letter case is that field, as a known purpose code in other case is that code: passed over,
    /// "Method":"CASH" would leave a cash payment out of its large-value report unseen.
    /// </summary>
    [Theory]
    [InlineData("Method", "\"CASH\"")]
    [InlineData("METHOD", "\"CASH\"")]
    [InlineData("CpCountry", "\"KP\"")]
    [InlineData("cpcountry", "\"KP\"")]
    [InlineData("cUSTOMSsPECIAL", "true")]
    public void Decode_KnownNameInOtherLetterCase_IsThatField(string name, string value)
    {
        var e = Accepted(TestStreams.Event("T1").WithRaw(name, value).ToJson());

        Assert.True(e.Method == PaymentMethod.Cash || e.CpCountry == "KP" || e.CustomsSpecial, name);
    }

    [Fact]
    public void Decode_KnownNameTwiceInTwoLetterCases_RejectedAsGivenTwice()
    {
        var json = TestStreams.Event("T1").WithRaw("Amount", "\"-5\"").ToJson();

        Assert.Equal("amount: given twice", Rejected(json));
    }

    [Fact]
    public void Decode_EscapedStrings_AreUnescaped()
    {
        const string json = """{"txnId":"T\u0031","ts":"2026-03-01T09:30:00\u002B08:00","account":"\u0045FE0001","accountKind":"\u0045FE","entityId":"E\u00311","direction":"\u0049N","amount":"1\u0030","currency":"\u0043NY","cpKind":"OFF\u0053HORE","cpName":"Caf\u00e9 \"Lux\"\\ Ltd","purpose":"SALAR\u0059","method":"CAS\u0048"}""";

        var e = Accepted(json);

        Assert.Equal("T1", e.TxnId);
        Assert.Equal(480, e.OffsetMinutes);
        Assert.Equal("EFE0001", e.Account);
        Assert.Equal(AccountKind.EFE, e.AccountKind);
        Assert.Equal("E11", e.EntityId);
        Assert.Equal(Direction.In, e.Direction);
        Assert.Equal(10m, e.Amount);
        Assert.Equal("CNY", e.Currency);
        Assert.Equal(AccountKind.OFFSHORE, e.CpKind);
        Assert.Equal("Café \"Lux\"\\ Ltd", e.CpName);
        Assert.Equal(Purpose.Salary, e.Purpose);
        Assert.Equal(PaymentMethod.Cash, e.Method);
    }

    [Fact]
    public void Decode_EscapedPropertyNames_AreMatched()
    {
        const string json = """{"\u0074xnId":"T1","ts":"2026-03-01T09:30:00Z","account":"EFE1","direction":"OUT","\u0061mount":"5","currency":"CNY","cpKind":"OFFSHORE"}""";

        var e = Accepted(json);

        Assert.Equal("T1", e.TxnId);
        Assert.Equal(5m, e.Amount);
    }

    [Fact]
    public void Decode_LongEscapedUnknownPropertyName_IsIgnoredWithoutThrowing()
    {
        var name = "\\u0078" + new string('x', 100);   // 101 characters once unescaped
        var json = TestStreams.Event("T1").ToJson().Insert(1, $"\"{name}\":1,");

        Assert.Equal(100m, Accepted(json).Amount);
    }

    [Theory]
    [InlineData("cpName")]
    [InlineData("bank")]
    [InlineData("account")]
    [InlineData("amount")]
    public void Decode_StringOver1024BytesWithAnEscape_RejectedWithoutThrowing(string field)
    {
        var value = "\\u0041" + new string('a', 1100);   // 1,101 bytes once unescaped
        var json = TestStreams.Event("T1").ToJson().Insert(1, $"\"{field}\":\"{value}\",");

        var reason = Rejected(json);

        Assert.StartsWith(field + ":", reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("txnId", "\\ud800")]        // a high surrogate with no low one
    [InlineData("cpName", "\\udc00x")]      // a lone low surrogate
    [InlineData("account", "A\\ud83d")]
    public void Decode_EscapedLoneSurrogate_RejectedWithoutThrowing(string field, string escaped)
    {
        var json = TestStreams.Event("T1").ToJson().Insert(1, $"\"{field}\":\"{escaped}\",");

        var reason = Rejected(json);

        Assert.StartsWith(field + ":", reason, StringComparison.Ordinal);
    }

    /// <summary>
    /// Ids show to supervisors: one with a direction override, a zero-width space, a byte order mark, a control character
    /// or a line separator would show as another id. Each is refused, written as itself or escaped.
    /// </summary>
    [Theory]
    [InlineData("txnId", 0x202E)]
    [InlineData("account", 0x200B)]
    [InlineData("account", 0xFEFF)]
    [InlineData("entityId", 0x2066)]
    [InlineData("entityId", 0x0000)]
    [InlineData("cpAccount", 0x2028)]
    [InlineData("cpAccount", 0x000A)]
    [InlineData("cpEntityId", 0x007F)]
    [InlineData("cpEntityId", 0x00AD)]
    [InlineData("entityId", 0x034F)]     // the combining grapheme joiner
    [InlineData("entityId", 0xFE0F)]     // a variation selector
    [InlineData("cpEntityId", 0x180B)]
    public void Decode_IdWithAnInvisibleOrControlCharacter_RejectedNamingTheCharacter(string field, int character)
    {
        var template = TestStreams.Event("T1").With(field, "ID-VALUE").ToJson();
        var forms = new List<string> { template.Replace("ID-VALUE", $"A\\u{character:X4}B", StringComparison.Ordinal) };
        // JSON takes a control character only escaped.
        if (character >= 0x20) forms.Add(template.Replace("ID-VALUE", $"A{(char)character}B", StringComparison.Ordinal));

        foreach (var json in forms)
        {
            Assert.Equal($"{field}: holds an invisible or control character (U+{character:X4})", Rejected(json));
        }
    }

    /// <summary>A blank other than the space shows as a space, or as nothing at an id's end: <c>E1</c> and another entity.</summary>
    [Theory]
    [InlineData("entityId", 0x00A0)]     // a no-break space
    [InlineData("entityId", 0x3000)]     // an ideographic space
    [InlineData("account", 0x3164)]      // a Hangul filler
    [InlineData("cpEntityId", 0x2800)]   // the blank Braille pattern
    [InlineData("txnId", 0x2009)]        // a thin space
    public void Decode_IdWithABlankOtherThanTheSpace_RejectedNamingTheCharacter(string field, int character)
    {
        var template = TestStreams.Event("T1").With(field, "ID-VALUE").ToJson();

        foreach (var written in new[] { $"A\\u{character:X4}B", $"A{(char)character}B", $"AB{(char)character}" })
        {
            var json = template.Replace("ID-VALUE", written, StringComparison.Ordinal);
            Assert.Equal($"{field}: holds a blank character other than the space (U+{character:X4})", Rejected(json));
        }
    }

    [Theory]
    [InlineData("entityId", " E1", "begins or ends with a space")]
    [InlineData("account", "EFE0001 ", "begins or ends with a space")]
    [InlineData("cpAccount", "HK 1 ", "begins or ends with a space")]
    [InlineData("cpEntityId", "HK  1", "holds two spaces in a row")]   // shown as one
    public void Decode_IdWithSpacesThatShowAsAnother_Rejected(string field, string value, string problem)
    {
        var json = TestStreams.Event("T1").With(field, "ID-VALUE").ToJson().Replace("ID-VALUE", value, StringComparison.Ordinal);

        Assert.Equal($"{field}: {problem}", Rejected(json));
    }

    [Theory]
    [InlineData("account", "EFE账户0001")]
    [InlineData("entityId", "Société Générale 1")]
    [InlineData("txnId", "T-١٢٣")]
    public void Decode_IdOfLettersBeyondAscii_Accepted(string field, string value)
    {
        var json = TestStreams.Event("T1").With(field, "ID-VALUE").ToJson().Replace("ID-VALUE", value, StringComparison.Ordinal);

        Accepted(json);
    }

    [Theory]
    [InlineData("txnId")]
    [InlineData("account")]
    [InlineData("entityId")]
    [InlineData("cpName")]
    public void Decode_StringThatIsNotUtf8_RejectedNamingTheField(string field)
    {
        var json = Encoding.UTF8.GetBytes(TestStreams.Event("T1").ToJson().Insert(1, $"\"{field}\":\"A_B\","));
        json[json.AsSpan().IndexOf("A_B"u8) + 1] = 0xFF;
        var e = default(PaymentEvent);

        var type = new EventDecoder().Decode(json, ref e, out var reason);

        Assert.Equal(RecordType.Rejected, type);
        Assert.Equal(field + ": not valid UTF-8 text", reason);
    }

    /// <summary>
    /// A field that is none of the event's is passed over, but not bytes that are not UTF-8 text in it: its value (a
    /// string, or one nested in an object or array) or its name. The reason names it when its name can be read.
    /// </summary>
    [Theory]
    [InlineData("\"note\":\"A_B\",", "note: not valid UTF-8 text")]
    [InlineData("\"note\":{\"x\":[1,\"A_B\"]},", "note: not valid UTF-8 text")]
    [InlineData("\"A_B\":1,", "a field's name: not valid UTF-8 text")]
    [InlineData("\"note\":\"\\u00e9A_B\",", "note: not valid UTF-8 text")]
    public void Decode_UnknownFieldThatIsNotUtf8_RejectedNamingIt(string field, string expected)
    {
        var json = Encoding.UTF8.GetBytes(TestStreams.Event("T1").ToJson().Insert(1, field));
        json[json.AsSpan().IndexOf("A_B"u8) + 1] = 0xFF;
        var e = default(PaymentEvent);

        var type = new EventDecoder().Decode(json, ref e, out var reason);

        Assert.Equal(RecordType.Rejected, type);
        Assert.Equal(expected, reason);
    }

    /// <summary>A name with an escape of half a surrogate pair cannot be read: the reason says so, long names too.</summary>
    [Theory]
    [InlineData("\"\\ud800\":1,")]
    [InlineData("\"no\\udc00te\":\"x\",")]
    [InlineData("\"\\u0041\\ud83d")]
    public void Decode_NameThatIsNotValidUnicode_RejectedSayingSo(string start)
    {
        // The third case is a name longer than any field's, its escapes read all the same.
        var field = start.EndsWith(',') ? start : start + string.Concat(Enumerable.Repeat("\\u0041", 100)) + "\":1,";
        var reason = Rejected(TestStreams.Event("T1").ToJson().Insert(1, field));

        Assert.Equal("a field's name: not valid Unicode text", reason);
    }

    [Fact]
    public void Decode_UnknownFieldOfUtf8Text_PassedOver()
    {
        var json = TestStreams.Event("T1").ToJson().Insert(1, "\"note\":{\"x\":[\"中文 é\",\"\\ud83d\\ude00\"]},\"备注\":\"ok\",");
        var e = default(PaymentEvent);

        Assert.Equal(RecordType.Payment, new EventDecoder().Decode(Encoding.UTF8.GetBytes(json), ref e, out var reason));
        Assert.Null(reason);
    }

    [Fact]
    public void Decode_StringOver1024Bytes_RejectedNamingTheField()
    {
        var reason = Rejected(TestStreams.Event("T1").CpName(new string('n', 1025)).ToJson());

        Assert.StartsWith("cpName:", reason, StringComparison.Ordinal);
    }

    // ---- malformed records ----

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("[]")]
    [InlineData("\"event\"")]
    [InlineData("42")]
    [InlineData("null")]
    [InlineData("{")]
    [InlineData("{\"txnId\":")]
    [InlineData("{\"txnId\" \"T1\"}")]
    [InlineData("{'txnId':'T1'}")]
    [InlineData("{\"txnId\":\"T1\",}")]
    public void Decode_NotAJsonObject_Rejected(string json)
    {
        Rejected(json);
    }

    [Fact]
    public void Decode_TrailingDataAfterTheObject_Rejected()
    {
        var reason = Rejected(Valid() + " {\"txnId\":\"T2\"}");

        Assert.Contains("JSON", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_TrailingWhitespace_Accepted()
    {
        Accepted(Valid() + " \r\n");
    }

    [Fact]
    public void Decode_ControlRecord_IsAnsweredAsControl()
    {
        var (type, _, reason) = Decode("""{"type":"PARAMETERS","ts":"2026-03-01T09:30:00+08:00","macroPrudentialFactor":0.5}""");

        Assert.Equal(RecordType.Control, type);
        Assert.Null(reason);
    }

    [Theory]
    [InlineData("SNAPSHOT")]
    [InlineData("")]
    [InlineData("payment")]      // codes are upper case, as PARAMETERS is
    [InlineData("PARAMETER")]    // a misspelt control record is no payment
    public void Decode_UnknownRecordType_RejectedNamingType(string type)
    {
        Assert.StartsWith("type: unknown record type", Rejected(Valid().Replace("{", $"{{\"type\":\"{type}\",", StringComparison.Ordinal)), StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_PaymentSayingItIsOne_IsAPayment()
    {
        var plain = Accepted(Valid());

        Assert.Equal(plain.TxnId, Accepted(Valid().Replace("{", "{\"type\":\"PAYMENT\",", StringComparison.Ordinal)).TxnId);
        Assert.Equal(plain.Amount, Accepted(Valid().TrimEnd('}') + ",\"type\":\"PAYMENT\"}").Amount);
        // Given twice, the type is neither: a record that says both is refused, not taken for the one said last.
        Assert.Equal("type: given twice", Rejected("""{"type":"PAYMENT","ts":"2026-03-01T09:30:00+08:00","macroPrudentialFactor":0.5,"type":"PARAMETERS"}"""));
    }

    /// <summary>
    /// A field given twice is refused naming it, whatever the second value (the same, another, or null): a reader would
    /// keep one and drop the other unseen, and a payment's amount must not be whichever it kept.
    /// </summary>
    [Theory]
    [InlineData("amount", "\"900000000\"")]
    [InlineData("amount", "\"100\"")]
    [InlineData("txnId", "\"T9\"")]
    [InlineData("direction", "\"OUT\"")]
    [InlineData("purpose", "null")]
    [InlineData("cpName", "\"Other Co\"")]
    [InlineData("customsSpecial", "true")]
    public void Decode_FieldGivenTwice_RejectedNamingIt(string field, string secondValue)
    {
        var once = TestStreams.Event("T1").Amount(100m, "CNY").Purpose("GOODS_TRADE").CpName("Acme").WithRaw("customsSpecial", "false").ToJson();
        var twice = once.TrimEnd('}') + $",\"{field}\":{secondValue}}}";

        Assert.Equal(field + ": given twice", Rejected(twice));
        var e = default(PaymentEvent);
        Assert.False(new EventDecoder().TryDecodeFast(Encoding.UTF8.GetBytes(twice), ref e));   // left to the reader, which refuses it
        Assert.Equal(RecordType.Payment, Decode(once).Type);
    }

    [Fact]
    public void Decode_UnknownFieldGivenTwice_IsPassedOverAsAnyUnknownField()
    {
        Assert.Equal("T1", Accepted(TestStreams.Event("T1").With("bankRef", "A").ToJson().TrimEnd('}') + ",\"bankRef\":\"B\"}").TxnId);
    }

    [Fact]
    public void Decode_ReusedEventStruct_DoesNotLeakFieldsOfThePreviousEvent()
    {
        var decoder = new EventDecoder();
        var e = default(PaymentEvent);
        var first = TestStreams.Event("T1").CpName("Acme").Purpose("SALARY").Cash().CustomsSpecial().ToJson();
        var second = TestStreams.Event("T2").ToJson();

        decoder.Decode(Encoding.UTF8.GetBytes(first), ref e, out _);
        Assert.Equal(RecordType.Payment, decoder.Decode(Encoding.UTF8.GetBytes(second), ref e, out _));

        Assert.Equal("T2", e.TxnId);
        Assert.Null(e.CpName);
        Assert.Equal(Purpose.Other, e.Purpose);
        Assert.Equal(PaymentMethod.Transfer, e.Method);
        Assert.False(e.CustomsSpecial);
    }
}
