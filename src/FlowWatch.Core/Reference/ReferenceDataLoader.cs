using System.Collections.Frozen;
using System.Globalization;
using System.Text.Json;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Decoding;
using FlowWatch.Core.Engine;

namespace FlowWatch.Core.Reference;

/// <summary>Reference data that cannot be used; the message names the field (e.g. <c>entities[2].ownersEquityPrevYear</c>).</summary>
public sealed class ReferenceDataException(string field, string problem)
    : Exception($"reference data: {field}: {problem}")
{
    public string Field { get; } = field;

    public string Problem { get; } = problem;
}

/// <summary>
/// Loads and validates reference data (DESIGN.md §3.2). Every problem fails the whole load with the path of the
/// field at fault, so a running worker can keep its last good snapshot.
/// </summary>
public static class ReferenceDataLoader
{
    public static ReferenceData LoadFile(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ReferenceDataException("(file)", $"cannot read '{path}': {(Directory.Exists(path) ? "it is a directory, not a file" : ex.Message)}");
        }
        return Parse(bytes);
    }

    // Bounds that keep the rules' arithmetic within decimal's range (about 7.9 × 10^28) and far beyond any real value.
    // An amount (at most 10^15, DESIGN.md §3.1) times a rate and divided by the USD rate stays under 10^27. A cap
    // (equity × factor × leverage) stays under 10^24 and, unless it is 0, at least 10^-10, so that a position's
    // utilisation (position / cap) stays in range for any position under 10^18 (beyond, see PenetrationQuota.Ratio).
    // And every CNY amount (an amount of at most 4 decimals times a rate of at most 6) and every cap has at most 10
    // decimals, which the aggregate tables hold exactly (Decimal(38, 10)).
    internal const decimal MinRate = 0.000001m;
    internal const decimal MaxRate = 1_000_000m;
    private const int RateDecimals = 6;
    private const decimal MaxEquity = 1_000_000_000_000_000_000m;
    private const int EquityDecimals = 2;
    internal const decimal MaxParameter = 1_000m;
    private const int ParameterDecimals = 4;

    public static ReferenceData Parse(ReadOnlySpan<byte> utf8Json)
    {
        if (utf8Json.StartsWith("\uFEFF"u8)) utf8Json = utf8Json[3..];   // files saved with a UTF-8 byte order mark
        // The reader does not check the text of names and strings; names that are not UTF-8 would fail later, unnamed.
        if (!System.Text.Unicode.Utf8.IsValid(utf8Json)) throw new ReferenceDataException("(document)", $"not valid UTF-8 text (byte {FirstInvalidByte(utf8Json) + 1})");
        JsonDocument document;
        try
        {
            var reader = new Utf8JsonReader(utf8Json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            document = JsonDocument.ParseValue(ref reader);
            // Anything but whitespace and comments after the document (a second document, say) makes Read throw.
            reader.Read();
        }
        catch (JsonException ex)
        {
            throw new ReferenceDataException("(document)", $"not valid JSON (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1})");
        }
        using (document)
        {
            var root = document.RootElement;
            Expect(root, JsonValueKind.Object, "(document)", "an object");
            EnsureUniqueNames(root);
            OnlyKnownNames(root, "", RootNames);
            var parameters = root.TryGetProperty("parameters", out var p) ? ParseParameters(p, "parameters", new Parameters()) : new Parameters();
            var fxRates = ParseFxRates(Required(root, "fxRates", "fxRates"));
            var highRisk = ParseHighRisk(root);
            var sanctions = ParseSanctions(root);
            var entities = ParseEntities(root);
            var accounts = ParseAccounts(root);
            return new ReferenceData(parameters, fxRates, highRisk, sanctions, entities.Values, accounts);
        }
    }

    /// <summary>
    /// Fails when an object anywhere in <paramref name="root"/> (an object) gives a name twice, naming it: a reader
    /// takes one of the values and drops the other unseen, so a rate, an equity or a flag written twice (a line added
    /// at the end of an object that already had it) would be used as the value not meant.
    /// </summary>
    internal static void EnsureUniqueNames(JsonElement root)
    {
        // Paths are built only for the name at fault, as the search unwinds: "fxRates.USD", "entities[2].name".
        if (FaultyName(root, []) is not { } fault) return;
        throw fault.Unreadable
            ? new ReferenceDataException(fault.Path.Length == 0 ? "(document)" : fault.Path[1..], "holds a name that is not valid Unicode text")
            : new ReferenceDataException(fault.Path[1..], "given twice (each name once per object)");
    }

    /// <summary>
    /// The path below <paramref name="element"/> of the first name given twice, or of the object holding the first name
    /// that cannot be read (an escape of half a surrogate pair), or null; <paramref name="names"/> holds one set per
    /// depth, reused. Every other look at a document's names comes after this one, so none of them meets such a name.
    /// </summary>
    private static (string Path, bool Unreadable)? FaultyName(JsonElement element, List<HashSet<string>> names, int depth = 0)
    {
        if (element.ValueKind == JsonValueKind.Array)
        {
            var i = 0;
            foreach (var item in element.EnumerateArray())
            {
                if (FaultyName(item, names, depth + 1) is { } below) return below with { Path = string.Create(CultureInfo.InvariantCulture, $"[{i}]{below.Path}") };
                i++;
            }
            return null;
        }
        if (element.ValueKind != JsonValueKind.Object) return null;
        if (names.Count == depth) names.Add(new HashSet<string>(StringComparer.Ordinal));
        var seen = names[depth];
        seen.Clear();
        foreach (var property in element.EnumerateObject())
        {
            string name;
            try
            {
                name = property.Name;
            }
            catch (InvalidOperationException)
            {
                return ("", true);
            }
            // Deeper objects use the sets below this one's, so this one's names stay in it while they are searched.
            if (!seen.Add(name)) return ("." + name, false);
            if (FaultyName(property.Value, names, depth + 1) is { } below) return below with { Path = "." + name + below.Path };
        }
        return null;
    }

    private static readonly string[] RootNames = ["parameters", "fxRates", "highRiskCountries", "sanctionsList", "entities", "accounts"];
    private static readonly string[] EntityNames = ["entityId", "name", "type", "ownersEquityPrevYear", "whitelisted", "sanctioned", "lastActivity"];
    private static readonly string[] AccountNames = ["account", "kind", "entityId"];

    /// <summary>
    /// Refuses a name that is none of <paramref name="known"/>, as <see cref="ParseParameters"/> does: a misspelt field
    /// would otherwise be passed over and the one meant left at its default without a word (<c>"santioned": true</c>
    /// leaving an entity unscreened, <c>"entites"</c> loading no entity at all).
    /// </summary>
    private static void OnlyKnownNames(JsonElement element, string pathPrefix, string[] known)
    {
        foreach (var property in element.EnumerateObject())
        {
            if (Array.IndexOf(known, property.Name) < 0)
            {
                throw new ReferenceDataException(pathPrefix + property.Name, $"not a field here (they are {string.Join(", ", known)})");
            }
        }
    }

    private const string ParameterNames = "macroPrudentialFactor, inflowLeverage, outflowLeverage, whitelistRequired, penetrationKinds";

    /// <summary>
    /// Applies the fields present in <paramref name="element"/> over <paramref name="current"/>. Any other field but
    /// <paramref name="otherFields"/> is refused: a misspelt parameter would otherwise leave the one meant unchanged
    /// (a cap twice as high as the supervisor set, say) without a word.
    /// </summary>
    public static Parameters ParseParameters(JsonElement element, string path, Parameters current, params ReadOnlySpan<string> otherFields)
    {
        Expect(element, JsonValueKind.Object, path, "an object");
        var result = current;
        foreach (var property in element.EnumerateObject())
        {
            var field = $"{path}.{property.Name}";
            result = property.Name switch
            {
                "macroPrudentialFactor" => result with { MacroPrudentialFactor = NonNegativeDecimal(property.Value, field, MaxParameter, ParameterDecimals) },
                "inflowLeverage" => result with { InflowLeverage = NonNegativeDecimal(property.Value, field, MaxParameter, ParameterDecimals) },
                "outflowLeverage" => result with { OutflowLeverage = NonNegativeDecimal(property.Value, field, MaxParameter, ParameterDecimals) },
                "whitelistRequired" => result with { WhitelistRequired = Boolean(property.Value, field) },
                "penetrationKinds" => result with { PenetrationKinds = Kinds(property.Value, field) },
                var name when otherFields.Contains(name) => result,
                _ => throw new ReferenceDataException(field, $"not a parameter (they are {ParameterNames})"),
            };
        }
        return result;
    }

    private static Dictionary<string, decimal> ParseFxRates(JsonElement element)
    {
        Expect(element, JsonValueKind.Object, "fxRates", "an object of currency → CNY rate");
        var rates = new Dictionary<string, decimal>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            var field = $"fxRates.{property.Name}";
            if (property.Name.Length != 3 || !property.Name.All(char.IsAsciiLetterUpper)) throw new ReferenceDataException(field, "not a 3-letter ISO-4217 code");
            var rate = NonNegativeDecimal(property.Value, field, MaxRate, RateDecimals);
            if (rate < MinRate) throw new ReferenceDataException(field, string.Create(CultureInfo.InvariantCulture, $"rate must be at least {MinRate} CNY per unit"));
            if (property.Name == ReferenceData.Cny && rate != 1) throw new ReferenceDataException(field, "CNY is the base currency; its rate is 1");
            rates[property.Name] = rate;
        }
        if (!rates.ContainsKey(ReferenceData.Usd)) throw new ReferenceDataException("fxRates.USD", "missing (USD-equivalents are computed from it)");
        return rates;
    }

    private static Dictionary<string, JurisdictionRisk> ParseHighRisk(JsonElement root)
    {
        var result = new Dictionary<string, JurisdictionRisk>(StringComparer.Ordinal);
        if (!root.TryGetProperty("highRiskCountries", out var element)) return result;
        Expect(element, JsonValueKind.Object, "highRiskCountries", "an object of country → CALL_FOR_ACTION | INCREASED_MONITORING");
        foreach (var property in element.EnumerateObject())
        {
            var field = $"highRiskCountries.{property.Name}";
            // Events' cpCountry must be such a code too; a key written otherwise could never match one.
            if (property.Name.Length != 2 || !property.Name.All(char.IsAsciiLetterUpper)) throw new ReferenceDataException(field, "not a 2-letter ISO 3166-1 code");
            result[property.Name] = String(property.Value, field) switch
            {
                "CALL_FOR_ACTION" => JurisdictionRisk.CallForAction,
                "INCREASED_MONITORING" => JurisdictionRisk.IncreasedMonitoring,
                var other => throw new ReferenceDataException(field, $"'{other}' is neither CALL_FOR_ACTION nor INCREASED_MONITORING"),
            };
        }
        return result;
    }

    private static List<string> ParseSanctions(JsonElement root)
    {
        var names = new List<string>();
        if (!root.TryGetProperty("sanctionsList", out var element)) return names;
        Expect(element, JsonValueKind.Array, "sanctionsList", "an array of names");
        var i = 0;
        foreach (var item in element.EnumerateArray())
        {
            var path = $"sanctionsList[{i++}]";
            var name = String(item, path);
            // Passed over, an entry that screens no one would hide a list exported wrong (a name lost, a column shifted).
            if (PartyNames.Normalise(name).Length == 0)
            {
                throw new ReferenceDataException(path, "holds no letter or digit once normalised (RULES.md §2: NFKC, upper case, whitespace collapsed, punctuation stripped), so it would screen no one");
            }
            names.Add(name);
        }
        return names;
    }

    private static Dictionary<string, EntityInfo> ParseEntities(JsonElement root)
    {
        var entities = new Dictionary<string, EntityInfo>(StringComparer.Ordinal);
        if (!root.TryGetProperty("entities", out var element)) return entities;
        Expect(element, JsonValueKind.Array, "entities", "an array");
        var i = 0;
        foreach (var item in element.EnumerateArray())
        {
            var path = $"entities[{i++}]";
            Expect(item, JsonValueKind.Object, path, "an object");
            OnlyKnownNames(item, path + ".", EntityNames);
            var id = Id(Required(item, "entityId", path + ".entityId"), path + ".entityId");
            if (entities.ContainsKey(id)) throw new ReferenceDataException(path + ".entityId", $"duplicate entity '{id}'");
            entities[id] = new EntityInfo
            {
                EntityId = id,
                Name = Optional(item, "name") is { } name ? String(name, path + ".name") : null,
                Type = Optional(item, "type") is { } type ? CustomerTypeOf(type, path + ".type") : null,
                OwnersEquityPrevYear = Optional(item, "ownersEquityPrevYear") is { } equity ? NonNegativeDecimal(equity, path + ".ownersEquityPrevYear", MaxEquity, EquityDecimals) : null,
                Whitelisted = Optional(item, "whitelisted") is { } w && Boolean(w, path + ".whitelisted"),
                Sanctioned = Optional(item, "sanctioned") is { } s && Boolean(s, path + ".sanctioned"),
                LastActivityTicks = Optional(item, "lastActivity") is { } last ? Timestamp(last, path + ".lastActivity") : null,
            };
        }
        return entities;
    }

    private static List<AccountInfo> ParseAccounts(JsonElement root)
    {
        var accounts = new List<AccountInfo>();
        if (!root.TryGetProperty("accounts", out var element)) return accounts;
        Expect(element, JsonValueKind.Array, "accounts", "an array");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var i = 0;
        foreach (var item in element.EnumerateArray())
        {
            var path = $"accounts[{i++}]";
            Expect(item, JsonValueKind.Object, path, "an object");
            OnlyKnownNames(item, path + ".", AccountNames);
            var account = Id(Required(item, "account", path + ".account"), path + ".account");
            if (!seen.Add(account)) throw new ReferenceDataException(path + ".account", $"duplicate account '{AccountMask.Mask(account)}'");
            var kindText = String(Required(item, "kind", path + ".kind"), path + ".kind");
            if (!AccountKinds.TryParse(kindText, out var kind)) throw new ReferenceDataException(path + ".kind", $"unknown account kind '{kindText}'");
            var entityId = Id(Required(item, "entityId", path + ".entityId"), path + ".entityId");
            accounts.Add(new AccountInfo(account, kind, entityId));
        }
        return accounts;
    }

    private static CustomerType CustomerTypeOf(JsonElement element, string field) => String(element, field) switch
    {
        "CORPORATE" => CustomerType.Corporate,
        "FI" or "FINANCIAL_INSTITUTION" => CustomerType.FinancialInstitution,
        "INDIVIDUAL" => CustomerType.Individual,
        var other => throw new ReferenceDataException(field, $"'{other}' is not CORPORATE, FI or INDIVIDUAL"),
    };

    /// <summary>
    /// The kinds whose same-name transfers count against the penetration quota. RULES.md §3 fixes them: EFE always, FTE
    /// when listed; a list that leaves EFE out or names another kind is refused rather than read some other way.
    /// </summary>
    private static FrozenSet<AccountKind> Kinds(JsonElement element, string field)
    {
        Expect(element, JsonValueKind.Array, field, "an array of account kinds");
        var kinds = new HashSet<AccountKind>();
        var i = 0;
        foreach (var item in element.EnumerateArray())
        {
            var text = String(item, $"{field}[{i}]");
            if (!AccountKinds.TryParse(text, out var kind) || kind is not (AccountKind.EFE or AccountKind.FTE))
            {
                throw new ReferenceDataException($"{field}[{i}]", $"'{text}' is not EFE or FTE (the kinds RULES.md §3 lets count against the quota)");
            }
            kinds.Add(kind);
            i++;
        }
        if (!kinds.Contains(AccountKind.EFE)) throw new ReferenceDataException(field, "must include EFE: EFE transfers always count against the quota (RULES.md §3)");
        return kinds.ToFrozenSet();
    }

    /// <summary>
    /// An account or entity id, held to what events' ids are held to (SEMANTICS.md, Ids): not empty, and no invisible,
    /// control or blank character but spaces between others. One with a zero-width space would name an entity no event can reach, silently.
    /// </summary>
    private static string Id(JsonElement element, string field)
    {
        var id = String(element, field);
        if (id.Length == 0) throw new ReferenceDataException(field, "must not be empty");
        if (UnseenCharacters.IdProblem(System.Text.Encoding.UTF8.GetBytes(id)) is { } problem) throw new ReferenceDataException(field, problem);
        return id;
    }

    /// <summary>A time in the format and span of events' <c>ts</c>: one beyond it would stand for no event's time.</summary>
    private static long Timestamp(JsonElement element, string field)
    {
        var text = String(element, field);
        if (!IsoTimestamp.TryParse(System.Text.Encoding.UTF8.GetBytes(text), out var ticks, out _))
        {
            throw new ReferenceDataException(field, $"'{text}' is not an ISO-8601 time with offset");
        }
        if (ticks < EventResolver.EarliestTs || ticks > EventResolver.LatestTs)
        {
            throw new ReferenceDataException(field, $"'{text}' is outside {EventResolver.TimeSpanText}, the span events' times take");
        }
        return ticks;
    }

    private static readonly System.Buffers.SearchValues<char> DigitsAndPoint = System.Buffers.SearchValues.Create("0123456789.");

    private static decimal NonNegativeDecimal(JsonElement element, string field, decimal max, int decimals)
    {
        decimal value;
        string text;
        if (element.ValueKind == JsonValueKind.Number)
        {
            text = element.GetRawText();
            if (!element.TryGetDecimal(out value)) throw new ReferenceDataException(field, "number out of decimal range");
        }
        else if (element.ValueKind == JsonValueKind.String)
        {
            text = String(element, field);
            // A sign is read, so that "-5" is refused as negative, as the number -5 is, not as something other than a number.
            if (!decimal.TryParse(text, NumberStyles.AllowDecimalPoint | NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value))
            {
                // Digits that decimal cannot hold are a number still, too large, as when written as a JSON number.
                var digits = text.AsSpan().TrimStart("+-");
                throw new ReferenceDataException(field, digits.Length > 0 && !digits.ContainsAnyExcept(DigitsAndPoint) && digits.Count('.') <= 1
                    ? "number out of decimal range"
                    : $"'{text}' is not a decimal number");
            }
        }
        else
        {
            throw new ReferenceDataException(field, $"expected a decimal (number or string), got {Describe(element)}");
        }
        if (value < 0) throw new ReferenceDataException(field, "must not be negative");
        if (value > max) throw new ReferenceDataException(field, string.Create(CultureInfo.InvariantCulture, $"must not exceed {max:N0}"));
        // The decimals as written: decimal keeps 28 or 29 digits and rounds the rest away, so the parsed value can have
        // fewer decimals than the text, which then would be used as a value it does not write.
        return DecimalsWritten(text) <= decimals ? value : throw new ReferenceDataException(field, $"at most {decimals} decimals");
    }

    /// <summary>Decimals a number written as <c>digits[.digits][e±digits]</c> has, zeros after its last significant digit aside.</summary>
    private static long DecimalsWritten(string text)
    {
        var exponentAt = text.AsSpan().IndexOfAny('e', 'E');
        var exponent = 0L;
        if (exponentAt >= 0 && !long.TryParse(text.AsSpan(exponentAt + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out exponent))
        {
            return long.MaxValue;   // an exponent beyond long: never a value decimal holds as written
        }
        var mantissa = exponentAt < 0 ? text.AsSpan() : text.AsSpan(0, exponentAt);
        var point = mantissa.IndexOf('.');
        var fraction = point < 0 ? 0 : mantissa.Length - point - 1;
        // Zeros after the last significant digit are no decimals, before the point too: 7100000000e-9 is 7.1.
        var trailingZeros = 0;
        for (var at = mantissa.Length - 1; at >= 0 && mantissa[at] is '0' or '.'; at--)
        {
            if (mantissa[at] == '0') trailingZeros++;
        }
        // Beyond ±10,000 the power of ten is far outside decimal's range either way; clamped, the difference cannot overflow.
        return fraction - trailingZeros - Math.Clamp(exponent, -10_000, 10_000);
    }

    /// <summary>Where the first invalid UTF-8 sequence of <paramref name="utf8"/> starts.</summary>
    private static int FirstInvalidByte(ReadOnlySpan<byte> utf8)
    {
        var at = 0;
        while (System.Text.Rune.DecodeFromUtf8(utf8[at..], out _, out var length) == System.Buffers.OperationStatus.Done) at += length;
        return at;
    }

    private static bool Boolean(JsonElement element, string field) => element.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw new ReferenceDataException(field, $"expected true or false, got {Describe(element)}"),
    };

    private static string String(JsonElement element, string field)
    {
        if (element.ValueKind != JsonValueKind.String) throw new ReferenceDataException(field, $"expected a string, got {Describe(element)}");
        try
        {
            return element.GetString()!;
        }
        catch (InvalidOperationException)
        {
            throw new ReferenceDataException(field, "not valid Unicode text");
        }
    }

    private static JsonElement Required(JsonElement parent, string name, string field) =>
        parent.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null
            ? value
            : throw new ReferenceDataException(field, "missing");

    private static JsonElement? Optional(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    private static void Expect(JsonElement element, JsonValueKind kind, string field, string what)
    {
        if (element.ValueKind != kind) throw new ReferenceDataException(field, $"expected {what}, got {Describe(element)}");
    }

    private static string Describe(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => $"the string {element.GetRawText()}",
        JsonValueKind.Number => $"the number {element.GetRawText()}",
        JsonValueKind.True or JsonValueKind.False => element.GetRawText(),
        _ => "null",
    };
}
