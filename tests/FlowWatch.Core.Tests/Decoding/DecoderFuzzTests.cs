using System.Globalization;
using System.Text;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Decoding;
using FlowWatch.Core.Engine;

namespace FlowWatch.Core.Tests.Decoding;

/// <summary>
/// Seeded fuzzing of the decoder and of the engine's record path: whatever the bytes, <see cref="EventDecoder.Decode"/>
/// and <see cref="FlowEngine.Process(ReadOnlySpan{byte}, long, List{Alert}, out string?)"/> never throw, and every rejection carries a non-empty reason (DESIGN.md §3.1:
/// a bad record goes to the dead letters and never stops the stream).
/// </summary>
public sealed class DecoderFuzzTests
{
    /// <summary>Valid records as ordered (field, raw JSON value) pairs, so fields can be replaced textually.</summary>
    private static readonly (string Field, string Raw)[][] Templates =
    [
        [
            ("txnId", "\"F-1\""), ("ts", "\"2026-03-02T10:00:00+08:00\""), ("account", "\"EFE0001\""), ("accountKind", "\"EFE\""),
            ("entityId", "\"E1\""), ("direction", "\"OUT\""), ("amount", "\"2500000.5\""), ("currency", "\"CNY\""),
            ("cpAccount", "\"DOM01\""), ("cpKind", "\"DOMESTIC\""), ("cpEntityId", "\"E1\""), ("cpName", "\"Acme Trading Ltd\""),
            ("cpCountry", "\"KP\""), ("purpose", "\"SECURITIES_INVESTMENT\""), ("method", "\"CASH\""), ("customsSpecial", "true"),
            ("bank", "\"BOC\""),
        ],
        [
            ("txnId", "\"F-2\""), ("ts", "\"2026-03-02T02:00:00.123Z\""), ("account", "\"NRA0001\""), ("direction", "\"IN\""),
            ("amount", "1e5"), ("currency", "\"USD\""), ("cpKind", "\"OFFSHORE\""), ("cpCountry", "\"VN\""),
        ],
        [
            ("type", "\"PARAMETERS\""), ("ts", "\"2026-03-02T10:00:00+08:00\""), ("macroPrudentialFactor", "0.5"),
            ("inflowLeverage", "\"2\""), ("outflowLeverage", "1"), ("whitelistRequired", "false"), ("penetrationKinds", "[\"EFE\",\"FTE\"]"),
        ],
    ];

    private static readonly string[] WrongValues =
    [
        "null", "true", "false", "0", "-1", "1e400", "-1e400", "1.5", "123456789012345678901234567890",
        "\"\"", "\"x\"", "\" \"", "[]", "{}", "[1,{\"a\":[]}]", "{\"a\":{\"b\":[null]}}", "\"\\u0000\"", "\"\\ud800\"", "\"\\udc00x\"",
        "\"" + new string('z', 2000) + "\"", "\"\\u0041" + new string('q', 1500) + "\"", "\"" + string.Concat(Enumerable.Repeat("\\n", 800)) + "\"",
        "\"2026-02-30T00:00:00+08:00\"", "\"1e15\"", "\"-0\"", "\"1000000000000000.0001\"", "\"PARAMETERS\"", "\"OFFSHORE\"",
        "\"中文\"", "\"\\\"\"", "tru", "\"unterminated", "]", "{\"nested\":", "1e", "-",
    ];

    private static byte[] Compose(IEnumerable<(string Field, string Raw)> fields) =>
        Encoding.UTF8.GetBytes("{" + string.Join(",", fields.Select(f => $"\"{f.Field}\":{f.Raw}")) + "}");

    private static FlowEngine NewEngine() => new(
        TestStreams.Reference().Entity("E1", equity: 1_000_000m).Sanction("ACME TRADING LTD").Account("DOM01", "DOMESTIC", "E1").Build(),
        new RuleSettings(), shards: 1);

    private static string Show(byte[] bytes)
    {
        var text = Encoding.UTF8.GetString(bytes);
        return text.Length <= 160 ? text : string.Concat(text.AsSpan(0, 160), "…");
    }

    /// <summary>Runs one input through a fresh decoder and the engine; answers a description of what went wrong, or null.</summary>
    private static string? Check(byte[] input, FlowEngine engine, long sequence, out RecordType decoded)
    {
        decoded = RecordType.Rejected;
        var type = RecordType.Rejected;
        string? decodeReason = null;
        var thrown = Record.Exception(() =>
        {
            var e = default(PaymentEvent);
            type = new EventDecoder().Decode(input, ref e, out decodeReason);
        });
        if (thrown is not null) return $"Decode threw {thrown.GetType().Name} ({thrown.Message}) on {Show(input)}";
        decoded = type;
        if (type == RecordType.Rejected && string.IsNullOrWhiteSpace(decodeReason)) return $"Decode rejected without a reason: {Show(input)}";

        var outcome = RecordOutcome.Rejected;
        string? processReason = null;
        thrown = Record.Exception(() => outcome = engine.Process(input, sequence, [], out processReason));
        if (thrown is not null) return $"Process threw {thrown.GetType().Name} ({thrown.Message}) on {Show(input)}";
        if (outcome == RecordOutcome.Rejected && string.IsNullOrWhiteSpace(processReason)) return $"Process rejected without a reason: {Show(input)}";
        return null;
    }

    /// <summary>Fails listing every distinct kind of failure (what threw, and its message) with a count and one sample.</summary>
    private static void AssertAllClean(IEnumerable<byte[]> inputs)
    {
        var engine = NewEngine();
        var kinds = new SortedDictionary<string, (int Count, string Sample)>(StringComparer.Ordinal);
        var total = 0;
        var sequence = 0L;
        foreach (var input in inputs)
        {
            total++;
            var failure = Check(input, engine, ++sequence, out _);
            if (failure is null) continue;
            var at = failure.IndexOf(" on ", StringComparison.Ordinal);
            var kind = at >= 0 ? failure[..at] : failure;
            kinds[kind] = kinds.TryGetValue(kind, out var seen) ? (seen.Count + 1, seen.Sample) : (1, failure);
        }
        Assert.True(kinds.Count == 0, string.Create(CultureInfo.InvariantCulture,
            $"{kinds.Values.Sum(k => k.Count)} of {total} inputs failed:\n") +
            string.Join("\n", kinds.Select(k => string.Create(CultureInfo.InvariantCulture, $"{k.Value.Count} × {k.Value.Sample}"))));
    }

    [Fact]
    public void Fuzz_TemplatesThemselves_AreAcceptedOrControl()
    {
        var engine = NewEngine();
        foreach (var template in Templates)
        {
            var input = Compose(template);
            Assert.Null(Check(input, engine, 1, out var type));
            Assert.NotEqual(RecordType.Rejected, type);
        }
    }

    [Fact]
    public void Fuzz_RandomBytes_NeverThrowAndRejectionsHaveReasons()
    {
        var random = new Random(1001);
        AssertAllClean(Enumerable.Range(0, 4_000).Select(_ =>
        {
            var bytes = new byte[random.Next(0, 200)];
            random.NextBytes(bytes);
            if (bytes.Length > 0 && random.Next(2) == 0) bytes[0] = (byte)'{';
            return bytes;
        }));
    }

    [Fact]
    public void Fuzz_RandomJsonLikeText_NeverThrowsAndRejectionsHaveReasons()
    {
        const string alphabet = "{}[]\":,.0123456789eE+-tfnulr\\ uTXZ\u00e9\u4e2d";
        string[] words = ["\"txnId\"", "\"ts\"", "\"amount\"", "\"type\"", "\"PARAMETERS\"", "\"cpKind\"", "\"\\u0041\"", "\"2026-03-02T10:00:00Z\"", "null", "true", "1e15"];
        var random = new Random(2002);
        AssertAllClean(Enumerable.Range(0, 4_000).Select(_ =>
        {
            var builder = new StringBuilder("{");
            var length = random.Next(0, 120);
            while (builder.Length < length)
            {
                if (random.Next(4) == 0) builder.Append(words[random.Next(words.Length)]);
                else builder.Append(alphabet[random.Next(alphabet.Length)]);
            }
            if (random.Next(2) == 0) builder.Append('}');
            return Encoding.UTF8.GetBytes(builder.ToString());
        }));
    }

    [Fact]
    public void Fuzz_TruncatedPrefixesOfValidRecords_AreRejectedWithReasons()
    {
        var engine = NewEngine();
        var failures = new List<string>();
        var sequence = 0L;
        foreach (var template in Templates)
        {
            var valid = Compose(template);
            for (var length = 0; length < valid.Length; length++)
            {
                var prefix = valid[..length];
                var failure = Check(prefix, engine, ++sequence, out var type);
                if (failure is null && type != RecordType.Rejected) failure = $"prefix of {length.ToString(CultureInfo.InvariantCulture)} bytes decoded as {type}: {Show(prefix)}";
                if (failure is not null) failures.Add(failure);
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void Fuzz_ValidRecordsWithAFieldReplacedByAWrongValue_NeverThrow()
    {
        IEnumerable<byte[]> Inputs()
        {
            foreach (var template in Templates)
            {
                for (var i = 0; i < template.Length; i++)
                {
                    foreach (var wrong in WrongValues)
                    {
                        var fields = template.ToArray();
                        fields[i] = (fields[i].Field, wrong);
                        yield return Compose(fields);
                    }
                }
                // Also as an extra field in front, and with an escaped name.
                foreach (var wrong in WrongValues)
                {
                    yield return Compose(template.Prepend(("extra", wrong)));
                    yield return Compose(template.Prepend(("\\u0061" + new string('b', 90), wrong)));
                }
            }
        }

        AssertAllClean(Inputs());
    }

    [Fact]
    public void Fuzz_RandomMutationsOfValidRecords_NeverThrow()
    {
        var random = new Random(3003);
        var valid = Templates.Select(Compose).ToArray();
        AssertAllClean(Enumerable.Range(0, 6_000).Select(_ =>
        {
            var bytes = valid[random.Next(valid.Length)].ToList();
            var mutations = random.Next(1, 4);
            for (var m = 0; m < mutations && bytes.Count > 0; m++)
            {
                var at = random.Next(bytes.Count);
                switch (random.Next(3))
                {
                    case 0: bytes[at] = (byte)random.Next(256); break;
                    case 1: bytes.RemoveAt(at); break;
                    default: bytes.Insert(at, (byte)"{}[]\",:\\0e-"[random.Next(11)]); break;
                }
            }
            return bytes.ToArray();
        }));
    }

    [Fact]
    public void Fuzz_EveryRejectionOfAFieldValue_NamesAField()
    {
        string[] names = ["txnId", "ts", "account", "accountKind", "entityId", "direction", "amount", "currency", "cpAccount", "cpKind",
            "cpEntityId", "cpName", "cpCountry", "purpose", "method", "customsSpecial", "bank", "type"];
        var template = Templates[0];
        var failures = new List<string>();
        for (var i = 0; i < template.Length; i++)
        {
            foreach (var wrong in new[] { "null", "0", "true", "[]", "{}", "\"\"", "\"???\"" })
            {
                var fields = template.ToArray();
                fields[i] = (fields[i].Field, wrong);
                var input = Compose(fields);
                var e = default(PaymentEvent);
                string? reason = null;
                var type = RecordType.Rejected;
                var thrown = Record.Exception(() => type = new EventDecoder().Decode(input, ref e, out reason));
                if (thrown is not null)
                {
                    failures.Add($"threw {thrown.GetType().Name} on {Show(input)}");
                }
                else if (type == RecordType.Rejected && !names.Any(n => reason!.StartsWith(n + ":", StringComparison.Ordinal)))
                {
                    failures.Add($"reason '{reason}' names no field for {Show(input)}");
                }
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }
}
