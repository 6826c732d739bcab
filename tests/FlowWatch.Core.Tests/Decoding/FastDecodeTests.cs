using System.Globalization;
using System.Reflection;
using System.Text;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Decoding;

namespace FlowWatch.Core.Tests.Decoding;

/// <summary>
/// The decoder's fast path against its <see cref="System.Text.Json.Utf8JsonReader"/> path: for every input, valid or
/// not, <see cref="EventDecoder.Decode"/> must answer exactly what <see cref="EventDecoder.DecodeWithReader"/> answers
/// (record type, reason, every field of the event), and the common shape must actually take the fast path.
/// </summary>
public sealed class FastDecodeTests
{
    private const string Canonical =
        "{\"txnId\":\"M000000001\",\"ts\":\"2026-03-01T08:00:00.050+08:00\",\"account\":\"EFE0000042\",\"direction\":\"OUT\"," +
        "\"amount\":\"12345.67\",\"currency\":\"USD\",\"cpAccount\":\"CP0042-07\",\"cpKind\":\"OFFSHORE\",\"cpName\":\"Counterparty 42\"," +
        "\"cpCountry\":\"HK\",\"purpose\":\"SERVICE_TRADE\",\"bank\":\"BANK0\"}";

    private static readonly FieldInfo[] EventFields = typeof(PaymentEvent).GetFields(BindingFlags.Public | BindingFlags.Instance);

    private static readonly string[] Whitespace = ["", "", "", " ", "  ", "\t", "\n", "\r\n", " \t "];

    private static readonly string[] StringTexts =
    [
        "EFE0000001", "FTE0000002", "E000001", "X", "", "Counterparty 7", "BANK3", "CP0001-02", "DOM0000009", "a b c",
        "Zürich Handels AG", "中文名称", "Ação 🚀", "\u007f", "x\u00e9y", new string('z', 1030), new string('é', 600),
    ];

    private static readonly string[] Amounts =
    [
        "1", "12345.67", "0.5", "100.0001", "100.00001", "0", "0.0", "01", "1.", ".5", "-1", "1e5", "1E2", "1.5e3", "1e-2",
        "1000000000000000", "1000000000000000.0001", "999999999999999.9999", "12345678901234567890", "1.23456", "+1", "-0", "00",
    ];

    private static readonly string[] Timestamps =
    [
        "2026-03-01T08:00:00+08:00", "2026-03-01T08:00:00.050+08:00", "2026-03-01T00:00:00Z", "2026-02-30T00:00:00+08:00",
        "2026-03-01 08:00:00", "2026-03-01T08:00:00", "yesterday",
    ];

    private static readonly string[] OtherValues =
    [
        "null", "true", "false", "0", "7", "1.5", "-3", "2e10", "[]", "[1,2]", "{}", "{\"a\":[null]}", "\"\"", "\"text\"",
        "\"\\u0041\"", "\"\\ud800\"", "tru", "nul", "fals", "truex", "\"unterminated",
    ];

    private static readonly string[] UnknownNames = ["note", "extra", "amount2", "typ", "Amount", "\u00e9t\u00e9", "n\\u0061me"];

    [Fact]
    public void TryDecodeFast_CanonicalShape_DecodesEveryField()
    {
        var e = default(PaymentEvent);
        Assert.True(new EventDecoder().TryDecodeFast(Encoding.UTF8.GetBytes(Canonical), ref e));

        Assert.Equal("M000000001", e.TxnId);
        Assert.Equal(new DateTimeOffset(2026, 3, 1, 0, 0, 0, 50, TimeSpan.Zero).UtcTicks, e.TimestampTicks);
        Assert.Equal(480, e.OffsetMinutes);
        Assert.Equal("EFE0000042", e.Account);
        Assert.Equal(Direction.Out, e.Direction);
        Assert.Equal(12345.67m, e.Amount);
        Assert.Equal("USD", e.Currency);
        Assert.Equal("CP0042-07", e.CpAccount);
        Assert.Equal(AccountKind.OFFSHORE, e.CpKind);
        Assert.Equal("Counterparty 42", e.CpName);
        Assert.Equal("HK", e.CpCountry);
        Assert.Equal(Purpose.ServiceTrade, e.Purpose);
        Assert.Equal(PaymentMethod.Transfer, e.Method);
        Assert.Equal("BANK0", e.Bank);
        Assert.Null(e.EntityId);
    }

    [Theory]
    [InlineData(" , \"n\" : 12345.67 ,\t\"customsSpecial\" : true , \"entityId\" : null , \"note\" : false }")]
    [InlineData(",\"entityId\":\"Zürich 中文\",\"method\":\"CASH\",\"note\":\"x\",\"n\":0.25}")]
    [InlineData(",\"accountKind\":\"EFE\",\"cpEntityId\":\"E7\"}")]
    [InlineData(",\"entityId\":null,\"cpEntityId\":\"E2\",\"customsSpecial\":false}")]
    [InlineData(",\"cpEntityId\":\"E3\",\"accountKind\":null}")]
    [InlineData(",\"entityId\":\"\",\"cpEntityId\":\"\"}")]
    public void TryDecodeFast_FlatVariations_TakeTheFastPath(string moreFields)
    {
        var json = Canonical[..^1] + moreFields;
        var bytes = Encoding.UTF8.GetBytes(json);
        var fast = default(PaymentEvent);
        var slow = default(PaymentEvent);

        Assert.True(new EventDecoder().TryDecodeFast(bytes, ref fast), json);
        Assert.Equal(RecordType.Payment, new EventDecoder().DecodeWithReader(bytes, ref slow, out var reason));
        Assert.Null(reason);
        AssertSameEvent(slow, fast, json);
    }

    /// <summary>A name given twice, whatever its values, is left to the reader, which refuses the record naming it.</summary>
    [Theory]
    [InlineData(",\"txnId\":\"again\",\"amount\":7}", "txnId")]
    [InlineData(",\"amount\":\"12345.67\"}", "amount")]
    [InlineData(",\"entityId\":\"E1\",\"entityId\":\"E2\"}", "entityId")]
    [InlineData(",\"cpAccount\":null}", "cpAccount")]
    [InlineData(",\"cpName\":\"\"}", "cpName")]
    public void TryDecodeFast_NameGivenTwice_LeftToTheReaderWhichRefusesIt(string moreFields, string field)
    {
        var bytes = Encoding.UTF8.GetBytes(Canonical[..^1] + moreFields);
        var e = default(PaymentEvent);

        Assert.False(new EventDecoder().TryDecodeFast(bytes, ref e));
        Assert.Equal(RecordType.Rejected, new EventDecoder().DecodeWithReader(bytes, ref e, out var reason));
        Assert.Equal(field + ": given twice", reason);
    }

    /// <summary>
    /// One decoder over records whose names come in the order it has learnt, then in others, with fields added and
    /// left out, and with names that begin like the expected one: each decodes as the reader decodes it alone.
    /// </summary>
    [Fact]
    public void Decode_StreamOfChangingNameOrders_MatchesTheReaderOnEachRecord()
    {
        string[] records =
        [
            Canonical,
            Canonical,
            Canonical[..^1] + ",\"entityId\":\"E1\"}",
            "{\"ts\":\"2026-03-01T09:30:00+08:00\",\"txnId\":\"T2\",\"account\":\"EFE1\",\"direction\":\"IN\",\"amount\":\"5\",\"currency\":\"CNY\",\"cpKind\":\"DOMESTIC\"}",
            "{\"txnId\":\"T3\",\"ts\":\"2026-03-01T09:30:00+08:00\",\"accountKind\":\"EFE\",\"account\":\"EFE1\",\"direction\":\"OUT\",\"amount\":5,\"currency\":\"CNY\",\"cpKind\":\"DOMESTIC\"}",
            "{\"txnId\":\"T4\",\"ts\":\"2026-03-01T09:30:00+08:00\",\"account\" : \"EFE1\",\"direction\":\"OUT\",\"amount\":5,\"currency\":\"CNY\",\"cpKind\":\"DOMESTIC\"}",
            Canonical,
        ];
        var decoder = new EventDecoder();
        foreach (var json in records)
        {
            var bytes = Encoding.UTF8.GetBytes(json);
            var viaDecode = Prior();
            var viaReader = Prior();
            Assert.Equal(RecordType.Payment, decoder.Decode(bytes, ref viaDecode, out var reason));
            Assert.Null(reason);
            Assert.Equal(RecordType.Payment, new EventDecoder().DecodeWithReader(bytes, ref viaReader, out _));
            AssertSameEvent(viaReader, viaDecode, json);
        }
    }

    [Theory]
    [InlineData("\"cpName\":\"Acme \\\"Ltd\\\"\"")]
    [InlineData("\"amount\":1e5")]
    [InlineData("\"amount\":-1")]
    [InlineData("\"amount\":\"-1\"")]
    [InlineData("\"note\":[1,2]")]
    [InlineData("\"note\":{\"a\":1}")]
    [InlineData("\"type\":\"PARAMETERS\"")]
    [InlineData("\"direction\":\"SIDEWAYS\"")]
    [InlineData("\"n\\u0061me\":1")]
    public void TryDecodeFast_OtherShapesAndErrors_LeaveTheRecordToTheReader(string pair)
    {
        var bytes = Encoding.UTF8.GetBytes(Canonical[..^1] + "," + pair + "}");
        var e = default(PaymentEvent);
        Assert.False(new EventDecoder().TryDecodeFast(bytes, ref e));
    }

    [Theory]
    [InlineData(Canonical + " ")]
    [InlineData(Canonical + "\n")]
    [InlineData("{\"txnId\":\"T\"}")]
    [InlineData("{}")]
    [InlineData("[]")]
    [InlineData("")]
    public void TryDecodeFast_TrailingBytesOrIncompleteRecords_LeaveTheRecordToTheReader(string json)
    {
        var e = default(PaymentEvent);
        Assert.False(new EventDecoder().TryDecodeFast(Encoding.UTF8.GetBytes(json), ref e));
    }

    [Fact]
    public void Decode_RandomRecordsAndMutations_MatchTheReaderPath()
    {
        var random = new Random(7_331);
        var failures = new List<string>();
        int total = 0, fast = 0, payments = 0;
        // One decoder for the whole stream, as an engine has: it learns the order of names from the records before.
        var decoder = new EventDecoder();
        foreach (var input in Inputs(random, 20_000))
        {
            total++;
            var fastDecoder = new EventDecoder();
            var probe = default(PaymentEvent);
            if (fastDecoder.TryDecodeFast(input, ref probe)) fast++;

            var viaDecode = Prior();
            var type = decoder.Decode(input, ref viaDecode, out var reason);
            var viaReader = Prior();
            var expectedType = new EventDecoder().DecodeWithReader(input, ref viaReader, out var expectedReason);
            if (type == RecordType.Payment) payments++;

            var mismatch = type != expectedType ? $"type {type}, reader {expectedType}"
                : reason != expectedReason ? $"reason '{reason}', reader '{expectedReason}'"
                : Difference(viaReader, viaDecode);
            if (mismatch is not null && failures.Count < 20) failures.Add(mismatch + " on " + Show(input));
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
        // The inputs must exercise both paths, or the comparison proves nothing.
        Assert.True(fast > total / 10, string.Create(CultureInfo.InvariantCulture, $"only {fast} of {total} inputs took the fast path"));
        Assert.True(payments > fast, string.Create(CultureInfo.InvariantCulture, $"{payments} payments, {fast} by the fast path"));
        Assert.True(total - payments > total / 4, string.Create(CultureInfo.InvariantCulture, $"only {total - payments} of {total} inputs were not payments"));
    }

    /// <summary>A filled event as the starting value, so a path that leaves or clears fields it should not shows up.</summary>
    private static PaymentEvent Prior()
    {
        var e = new PaymentEvent { Sequence = 99, Account = "PRIOR", Currency = "XXX", Amount = 1m, CpName = "prior" };
        e.SetTxnId("prior-id"u8);
        return e;
    }

    private static IEnumerable<byte[]> Inputs(Random random, int count)
    {
        for (var n = 0; n < count; n++)
        {
            var bytes = Encoding.UTF8.GetBytes(RandomRecord(random));
            yield return random.Next(4) == 0 ? Mutate(random, bytes) : bytes;
        }
    }

    /// <summary>
    /// A record of valid fields in random order and spacing; half the records have one oddity: an invalid, escaped or
    /// exotic value, an unknown, missing or escaped name, a control record's type, or trailing bytes.
    /// </summary>
    private static string RandomRecord(Random random)
    {
        var oddity = random.Next(2) == 0 ? random.Next(16) : -1;

        var pairs = new List<(string Name, string Value)>
        {
            ("txnId", Quote(oddity == 0 ? Pick(random, StringTexts) : "T" + random.Next(1_000_000).ToString(CultureInfo.InvariantCulture))),
            ("ts", Quote(oddity == 1 ? Pick(random, Timestamps) : Timestamps[random.Next(3)])),
            ("account", Quote(oddity == 2 ? Pick(random, StringTexts) : "EFE" + random.Next(100).ToString("D7", CultureInfo.InvariantCulture))),
            ("direction", Quote(oddity == 3 ? "out" : random.Next(2) == 0 ? "IN" : "OUT")),
            ("amount", RandomAmount(random, oddity == 4)),
            ("currency", Quote(oddity == 5 ? "usd" : Pick(random, ["CNY", "USD", "HKD"]))),
            ("cpKind", Quote(oddity == 6 ? "NOWHERE" : Pick(random, ["DOMESTIC", "OFFSHORE", "EFE"]))),
        };
        string[] optional = ["accountKind", "entityId", "cpAccount", "cpEntityId", "cpName", "cpCountry", "purpose", "method", "customsSpecial", "bank"];
        foreach (var name in optional)
        {
            if (random.Next(2) == 0) pairs.Add((name, OptionalValue(random, name, oddity == 7)));
        }
        for (var extra = oddity == 8 ? random.Next(1, 3) : 0; extra > 0; extra--)
        {
            pairs.Add((Pick(random, UnknownNames), Pick(random, OtherValues)));
        }
        if (oddity == 9) pairs.RemoveAt(random.Next(pairs.Count));
        if (random.Next(10) == 0)
        {
            // A name given twice, refused: an optional one often with another value (empty, null or other text).
            var (name, value) = pairs[random.Next(pairs.Count)];
            pairs.Add((name, optional.Contains(name) && random.Next(2) == 0 ? OptionalValue(random, name, false) : value));
        }
        if (oddity == 10) pairs[random.Next(pairs.Count)] = (pairs[random.Next(pairs.Count)].Name, Pick(random, OtherValues));
        if (oddity == 11) pairs.Add(("type", Quote(Pick(random, ["PARAMETERS", "PAYMENT", "OTHER"]))));
        var shuffled = pairs.OrderBy(_ => random.Next()).ToList();

        var json = new StringBuilder(Space(random)).Append('{');
        for (var i = 0; i < shuffled.Count; i++)
        {
            if (i > 0) json.Append(Space(random)).Append(',');
            var name = oddity == 12 && random.Next(4) == 0 ? Escape(random, shuffled[i].Name) : shuffled[i].Name;
            json.Append(Space(random)).Append('"').Append(name).Append('"').Append(Space(random)).Append(':').Append(Space(random));
            var value = shuffled[i].Value;
            if (value.StartsWith('"') && value.Length > 2 && oddity == 13 && random.Next(4) == 0) value = Quote(Escape(random, value[1..^1]));
            json.Append(value);
        }
        if (shuffled.Count > 0 && oddity == 14) json.Append(',');
        json.Append(Space(random)).Append('}');
        if (oddity == 15) json.Append(Space(random));
        return json.ToString();
    }

    private static string OptionalValue(Random random, string name, bool odd)
    {
        if (random.Next(12) == 0) return "null";
        return name switch
        {
            "accountKind" => Quote(Pick(random, odd ? ["EFE", "FTE", "NRA", "BAD"] : ["EFE", "FTE", "NRA"])),
            "purpose" => Quote(Pick(random, ["GOODS_TRADE", "SERVICE_TRADE", "SOMETHING_ELSE", ""])),
            "method" => Quote(Pick(random, odd ? ["TRANSFER", "CASH", "CHEQUE"] : ["TRANSFER", "CASH"])),
            "customsSpecial" => Pick(random, odd ? ["true", "false", "\"true\"", "1"] : ["true", "false"]),
            "cpCountry" => Quote(Pick(random, ["HK", "KP", "VN", ""])),
            _ => Quote(odd ? Pick(random, StringTexts) : Pick(random, StringTexts[..^2])),
        };
    }

    private static string RandomAmount(Random random, bool odd)
    {
        var text = odd
            ? Pick(random, Amounts)
            : (random.Next(1, 100_000_000) / 100m).ToString(CultureInfo.InvariantCulture);
        return random.Next(2) == 0 ? Quote(text) : text;
    }

    /// <summary>Writes one character of the text, or a few, as JSON escapes (some of them a lone surrogate).</summary>
    private static string Escape(Random random, string text)
    {
        if (text.Length == 0) return "\\n";
        var at = random.Next(text.Length);
        var escape = random.Next(6) switch
        {
            0 => "\\\"",
            1 => "\\\\",
            2 => "\\ud800",
            3 => "\\/",
            _ => string.Create(CultureInfo.InvariantCulture, $"\\u{(int)text[at]:x4}"),
        };
        return string.Concat(text.AsSpan(0, at), escape, text.AsSpan(at + 1));
    }

    /// <summary>Truncation, a dropped, changed or inserted byte (often one of JSON's or UTF-8's special bytes), or trailing bytes.</summary>
    private static byte[] Mutate(Random random, byte[] bytes)
    {
        byte[] special = [(byte)'"', (byte)'\\', (byte)'{', (byte)'}', (byte)',', (byte)':', (byte)'.', (byte)'e', (byte)'-', 0x00, 0x1f, 0x7f, 0x80, 0xbf, 0xc0, 0xc3, 0xe4, 0xed, 0xf0, 0xff];
        var b = random.Next(2) == 0 ? special[random.Next(special.Length)] : (byte)random.Next(256);
        var list = bytes.ToList();
        var at = random.Next(list.Count + 1);
        switch (random.Next(5))
        {
            case 0: return bytes[..random.Next(bytes.Length + 1)];
            case 1 when at < list.Count: list.RemoveAt(at); break;
            case 2 when at < list.Count: list[at] = b; break;
            case 3: list.Insert(at, b); break;
            default:
                if (random.Next(2) == 0) list.Add(b);
                else list.AddRange(" x"u8.ToArray());
                break;
        }
        return [.. list];
    }

    private static string? Difference(PaymentEvent expected, PaymentEvent actual)
    {
        if (!expected.TxnIdUtf8.SequenceEqual(actual.TxnIdUtf8)) return $"TxnId '{actual.TxnId}', reader '{expected.TxnId}'";
        foreach (var field in EventFields)
        {
            var want = field.GetValue(expected);
            var got = field.GetValue(actual);
            if (!Equals(want, got)) return $"{field.Name} '{got}', reader '{want}'";
        }
        return null;
    }

    private static void AssertSameEvent(PaymentEvent expected, PaymentEvent actual, string json)
    {
        var difference = Difference(expected, actual);
        Assert.True(difference is null, difference + " on " + json);
    }

    private static string Quote(string text) => "\"" + text + "\"";

    private static string Space(Random random) => Whitespace[random.Next(Whitespace.Length)];

    private static string Pick(Random random, string[] choices) => choices[random.Next(choices.Length)];

    private static string Show(byte[] bytes)
    {
        var text = Convert.ToHexString(bytes.AsSpan(0, Math.Min(bytes.Length, 4))) + " " + Encoding.UTF8.GetString(bytes);
        return text.Length <= 300 ? text : string.Concat(text.AsSpan(0, 300), "…");
    }
}
