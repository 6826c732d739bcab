using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using FlowWatch.Core.Contracts;

namespace FlowWatch.Core.Tests.Oracle;

/// <summary>The parameters of RULES.md §3 as the oracle keeps them: EFE transfers always count, FTE when listed.</summary>
internal sealed record NaiveParameters(decimal MacroPrudentialFactor, decimal InflowLeverage, decimal OutflowLeverage, bool WhitelistRequired, bool FteCounts)
{
    /// <summary>DESIGN.md §3.2's example values, which apply when reference data names no parameters.</summary>
    public static NaiveParameters Defaults { get; } = new(1m, 1m, 1m, WhitelistRequired: true, FteCounts: false);

    public bool CountsForQuota(AccountKind kind) => kind == AccountKind.EFE || (kind == AccountKind.FTE && FteCounts);
}

/// <summary>One reference entity as the oracle reads it.</summary>
internal sealed record NaiveEntity(CustomerType? Type, decimal? OwnersEquityPrevYear, bool Whitelisted, bool Sanctioned, long? LastActivityTicks);

/// <summary>Reference data (DESIGN.md §3.2) read by the oracle itself from the JSON both engines get.</summary>
internal sealed class NaiveReference
{
    public required NaiveParameters Parameters { get; init; }

    /// <summary>CNY per unit, by currency; CNY itself is not listed.</summary>
    public required Dictionary<string, decimal> FxRates { get; init; }

    /// <summary>Country → CALL_FOR_ACTION or INCREASED_MONITORING.</summary>
    public required Dictionary<string, string> HighRiskCountries { get; init; }

    /// <summary>The sanctionsList normalised (SEMANTICS.md "Names"); a name with nothing left names no one.</summary>
    public required HashSet<string> SanctionedNames { get; init; }

    public required Dictionary<string, NaiveEntity> Entities { get; init; }

    public required Dictionary<string, (AccountKind Kind, string EntityId)> Accounts { get; init; }

    public decimal UsdRate => FxRates["USD"];

    public NaiveReference WithParameters(NaiveParameters parameters) => new()
    {
        Parameters = parameters, FxRates = FxRates, HighRiskCountries = HighRiskCountries, SanctionedNames = SanctionedNames,
        Entities = Entities, Accounts = Accounts,
    };

    /// <summary>
    /// Reads a reference document the test generated, so a valid one: anything the oracle does not understand fails the
    /// test (the engine's loader is checked against bad documents by its own tests).
    /// </summary>
    public static NaiveReference Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        var parameters = NaiveParameters.Defaults;
        if (root.TryGetProperty("parameters", out var p))
        {
            parameters = NaiveRecords.ApplyParameters(parameters, p, []) ?? throw new InvalidDataException("reference parameters: " + p);
        }

        var rates = new Dictionary<string, decimal>(StringComparer.Ordinal);
        foreach (var rate in root.GetProperty("fxRates").EnumerateObject())
        {
            rates[rate.Name] = NaiveRecords.Decimal(rate.Value, maxDecimals: 6, max: 1_000_000m) is { } value && value >= 0.000001m
                ? value
                : throw new InvalidDataException("reference rate: " + rate);
        }

        var highRisk = new Dictionary<string, string>(StringComparer.Ordinal);
        if (root.TryGetProperty("highRiskCountries", out var countries))
        {
            foreach (var country in countries.EnumerateObject()) highRisk[country.Name] = country.Value.GetString()!;
        }

        var sanctioned = new HashSet<string>(StringComparer.Ordinal);
        if (root.TryGetProperty("sanctionsList", out var names))
        {
            foreach (var name in names.EnumerateArray())
            {
                var normalised = NaiveEngine.NormalisedName(name.GetString()!);
                if (normalised.Length > 0) sanctioned.Add(normalised);
            }
        }

        var entities = new Dictionary<string, NaiveEntity>(StringComparer.Ordinal);
        if (root.TryGetProperty("entities", out var list))
        {
            foreach (var entity in list.EnumerateArray())
            {
                CustomerType? type = Given(entity, "type")?.GetString() switch
                {
                    null => null,
                    "CORPORATE" => CustomerType.Corporate,
                    "FI" => CustomerType.FinancialInstitution,
                    "INDIVIDUAL" => CustomerType.Individual,
                    var other => throw new InvalidDataException("entity type " + other),
                };
                decimal? equity = Given(entity, "ownersEquityPrevYear") is { } e
                    ? NaiveRecords.Decimal(e, maxDecimals: 2, max: 1_000_000_000_000_000_000m) ?? throw new InvalidDataException("equity " + e)
                    : null;
                long? lastActivity = null;
                if (Given(entity, "lastActivity") is { } last)
                {
                    lastActivity = NaiveRecords.TryParseTime(last.GetString()!, out var ticks, out _) ? ticks : throw new InvalidDataException("lastActivity " + last);
                }
                entities.Add(entity.GetProperty("entityId").GetString()!, new NaiveEntity(
                    type, equity, Given(entity, "whitelisted")?.GetBoolean() ?? false, Given(entity, "sanctioned")?.GetBoolean() ?? false, lastActivity));
            }
        }

        var accounts = new Dictionary<string, (AccountKind, string)>(StringComparer.Ordinal);
        if (root.TryGetProperty("accounts", out var held))
        {
            foreach (var account in held.EnumerateArray())
            {
                var kind = NaiveRecords.KindOf(account.GetProperty("kind").GetString()!) ?? throw new InvalidDataException("account kind " + account);
                accounts.Add(account.GetProperty("account").GetString()!, (kind, account.GetProperty("entityId").GetString()!));
            }
        }

        return new NaiveReference
        {
            Parameters = parameters, FxRates = rates, HighRiskCountries = highRisk, SanctionedNames = sanctioned, Entities = entities, Accounts = accounts,
        };
    }

    private static JsonElement? Given(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;
}

/// <summary>A payment as DESIGN.md §3.1 writes it, read by the oracle; the reference data resolves the rest.</summary>
internal sealed record NaivePayment(
    string TxnId, long Ts, int OffsetMinutes, string Account, AccountKind? AccountKind, string? EntityId, Direction Direction,
    decimal Amount, string Currency, AccountKind CpKind, string? CpAccount, string? CpEntityId, string? CpName, string? CpCountry,
    Purpose Purpose, PaymentMethod Method, bool CustomsSpecial, string? Bank);

/// <summary>
/// The oracle's own reading of records (DESIGN.md §3.1, §3.4 and docs/SEMANTICS.md), written for clarity with
/// <see cref="JsonDocument"/>, a regular expression for times and <see cref="decimal"/> for amounts, and sharing nothing
/// with the engine's decoder, control-record parser or reference loader.
/// </summary>
internal static class NaiveRecords
{
    private const int MaxTextBytes = 1024;

    private static readonly string[] PaymentFields =
    [
        "txnId", "ts", "account", "accountKind", "entityId", "direction", "amount", "currency", "cpAccount", "cpKind",
        "cpEntityId", "cpName", "cpCountry", "purpose", "method", "customsSpecial", "bank", "type",
    ];

    private static readonly string[] Kinds = ["FTE", "FTN", "FTU", "FTI", "FTF", "EFE", "EFN", "EFF", "EFU", "NRA", "OSA", "OFFSHORE", "DOMESTIC"];

    private static readonly Dictionary<string, Purpose> Purposes = new(StringComparer.OrdinalIgnoreCase)
    {
        ["GOODS_TRADE"] = Purpose.GoodsTrade, ["SERVICE_TRADE"] = Purpose.ServiceTrade, ["PRIMARY_INCOME"] = Purpose.PrimaryIncome,
        ["SECONDARY_INCOME"] = Purpose.SecondaryIncome, ["SALARY"] = Purpose.Salary, ["MEDICAL"] = Purpose.Medical,
        ["TRAVEL"] = Purpose.Travel, ["LIVING"] = Purpose.Living, ["DIRECT_INVESTMENT"] = Purpose.DirectInvestment,
        ["CROSS_BORDER_FINANCING"] = Purpose.CrossBorderFinancing, ["OTHER_INVESTMENT"] = Purpose.OtherInvestment,
        ["SECURITIES_INVESTMENT"] = Purpose.SecuritiesInvestment, ["LOAN"] = Purpose.Loan, ["LOAN_NON_AFFILIATE"] = Purpose.LoanNonAffiliate,
        ["REAL_ESTATE_SELF_USE"] = Purpose.RealEstateSelfUse, ["REAL_ESTATE_NON_SELF_USE"] = Purpose.RealEstateNonSelfUse,
        ["OUT_OF_SCOPE"] = Purpose.OutOfScope, ["INTERBANK"] = Purpose.Interbank, ["OTHER"] = Purpose.Other,
    };

    /// <summary>SEMANTICS.md "Event time": YYYY-MM-DDTHH:MM:SS, a fraction of any length, Z or ±HH:MM.</summary>
    private static readonly Regex IsoTime = new(
        "^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\\.([0-9]+))?(Z|[+-][0-9]{2}:[0-9]{2})$",
        RegexOptions.CultureInvariant);

    /// <summary>A number: digits, maybe a fraction, maybe an exponent (a leading minus is read, to refuse it as negative).</summary>
    private static readonly Regex Number = new("^-?([0-9]+)(?:\\.([0-9]+))?(?:[eE]([+-]?[0-9]+))?$", RegexOptions.CultureInvariant);

    /// <summary>The first and the last instant SEMANTICS.md "Time" accepts for an event.</summary>
    private static readonly long FirstTicks = new DateTime(1970, 1, 1).Ticks;

    private static readonly long LastTicks = new DateTime(2106, 1, 1).Ticks - TimeSpan.TicksPerHour * 8 - 1;

    /// <summary>Whether a name is one of DESIGN.md §3.1's fields, in any letter case (SEMANTICS.md, Field names).</summary>
    public static bool IsPaymentField(string name) => PaymentFields.Contains(name, StringComparer.OrdinalIgnoreCase);

    public static AccountKind? KindOf(string text) => Kinds.Contains(text) ? Enum.Parse<AccountKind>(text) : null;

    /// <summary>What a record is: its JSON object when it is a payment or a control record, null when it is refused.</summary>
    public static JsonElement? ReadObject(byte[] record, out bool control)
    {
        control = false;
        var json = record.AsSpan();
        if (json.StartsWith("\uFEFF"u8)) json = json[3..];
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(json.ToArray());
            root = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
        if (root.ValueKind != JsonValueKind.Object) return null;
        List<string> names;
        try
        {
            names = root.EnumerateObject().Select(p => p.Name).ToList();
        }
        catch (InvalidOperationException)
        {
            return null;   // a name that is not valid UTF-8 or Unicode
        }
        if (!root.TryGetProperty("type", out var type) || (type.ValueKind == JsonValueKind.String && type.GetString() == "PAYMENT"))
        {
            // A payment: a name of §3.1 given twice refuses it; other names are passed over, twice or not.
            return names.Where(PaymentFields.Contains).Distinct().Count() == names.Count(PaymentFields.Contains) ? root : null;
        }
        if (type.ValueKind != JsonValueKind.String || type.GetString() != "PARAMETERS") return null;
        control = true;
        return names.Distinct().Count() == names.Count ? root : null;
    }

    /// <summary>A payment's fields (DESIGN.md §3.1), or null when the record is refused.</summary>
    public static NaivePayment? ReadPayment(JsonElement root)
    {
        try
        {
            var txnId = Text(root, "txnId", required: true);
            var ts = Text(root, "ts", required: true);
            var account = Text(root, "account", required: true);
            var direction = Text(root, "direction", required: true);
            var currency = Text(root, "currency", required: true);
            var cpKind = Text(root, "cpKind", required: true);
            var accountKind = Text(root, "accountKind", required: false);
            var cpCountry = Text(root, "cpCountry", required: false);
            var method = Text(root, "method", required: false);
            var purpose = Text(root, "purpose", required: false);
            var bank = Text(root, "bank", required: false);
            if (txnId is null || Encoding.UTF8.GetByteCount(txnId) is 0 or > 64) return null;
            if (ts is null || !TryParseTime(ts, out var ticks, out var offset) || ticks < FirstTicks || ticks > LastTicks) return null;
            if (string.IsNullOrEmpty(account) || direction is not ("IN" or "OUT")) return null;
            if (currency is null || currency.Length != 3 || !currency.All(char.IsAsciiLetterUpper)) return null;
            if (cpCountry is not null && (cpCountry.Length != 2 || !cpCountry.All(char.IsAsciiLetterUpper))) return null;
            if (cpKind is null || KindOf(cpKind) is not { } counterpartyKind) return null;
            var kind = accountKind is null ? null : KindOf(accountKind);
            if (accountKind is not null && kind is null) return null;
            if (method is not (null or "TRANSFER" or "CASH")) return null;
            if (!root.TryGetProperty("amount", out var amountElement) || Decimal(amountElement, maxDecimals: 4, max: 1_000_000_000_000_000m) is not { } amount || amount == 0) return null;
            var customs = false;
            if (root.TryGetProperty("customsSpecial", out var c) && c.ValueKind != JsonValueKind.Null)
            {
                if (c.ValueKind is not (JsonValueKind.True or JsonValueKind.False)) return null;
                customs = c.GetBoolean();
            }
            return new NaivePayment(
                txnId, ticks, offset, account, kind, Text(root, "entityId", required: false), direction == "IN" ? Direction.In : Direction.Out,
                amount, currency, counterpartyKind, Text(root, "cpAccount", required: false), Text(root, "cpEntityId", required: false),
                Text(root, "cpName", required: false), cpCountry, purpose is null ? Purpose.Other : Purposes.GetValueOrDefault(purpose, Purpose.Other),
                method == "CASH" ? PaymentMethod.Cash : PaymentMethod.Transfer, customs, bank);
        }
        catch (RefusedException)
        {
            return null;
        }
    }

    /// <summary>
    /// The parameters after a control record (DESIGN.md §3.4), or null when it is refused: no <c>ts</c> or one that is
    /// not a time, a field that is not a parameter, a value out of bounds, or no parameter at all.
    /// </summary>
    public static NaiveParameters? ReadControl(JsonElement root, NaiveParameters current)
    {
        if (!root.TryGetProperty("ts", out var ts) || ts.ValueKind != JsonValueKind.String || !TryParseTime(ts.GetString()!, out _, out _)) return null;
        if (root.EnumerateObject().All(p => p.Name is "type" or "ts")) return null;
        return ApplyParameters(current, root, ["type", "ts"]);
    }

    /// <summary>The parameters of <paramref name="fields"/> over <paramref name="current"/> (SEMANTICS.md bounds), or null when one is wrong.</summary>
    public static NaiveParameters? ApplyParameters(NaiveParameters current, JsonElement fields, string[] otherNames)
    {
        if (fields.ValueKind != JsonValueKind.Object) return null;
        var result = current;
        foreach (var field in fields.EnumerateObject())
        {
            var value = field.Value;
            switch (field.Name)
            {
                case "macroPrudentialFactor" when Decimal(value, 4, 1_000m) is { } factor:
                    result = result with { MacroPrudentialFactor = factor };
                    break;
                case "inflowLeverage" when Decimal(value, 4, 1_000m) is { } leverage:
                    result = result with { InflowLeverage = leverage };
                    break;
                case "outflowLeverage" when Decimal(value, 4, 1_000m) is { } leverage:
                    result = result with { OutflowLeverage = leverage };
                    break;
                case "whitelistRequired" when value.ValueKind is JsonValueKind.True or JsonValueKind.False:
                    result = result with { WhitelistRequired = value.GetBoolean() };
                    break;
                case "penetrationKinds" when value.ValueKind == JsonValueKind.Array:
                    var kinds = value.EnumerateArray().Select(k => k.ValueKind == JsonValueKind.String ? k.GetString() : null).ToList();
                    if (!kinds.Contains("EFE") || kinds.Exists(k => k is not ("EFE" or "FTE"))) return null;
                    result = result with { FteCounts = kinds.Contains("FTE") };
                    break;
                case var name when otherNames.Contains(name):
                    break;
                default:
                    return null;
            }
        }
        return result;
    }

    /// <summary>
    /// A non-negative decimal written as a JSON number or a string: at most <paramref name="maxDecimals"/> decimals
    /// (zeros after the last significant one changing nothing) and at most <paramref name="max"/>; null otherwise.
    /// </summary>
    public static decimal? Decimal(JsonElement element, int maxDecimals, decimal max)
    {
        string text;
        if (element.ValueKind == JsonValueKind.Number) text = element.GetRawText();
        else if (element.ValueKind == JsonValueKind.String) text = element.GetString()!;
        else return null;
        var match = Number.Match(text);
        if (!match.Success || !long.TryParse(match.Groups[3].Success ? match.Groups[3].Value : "0", CultureInfo.InvariantCulture, out var exponent)) return null;
        if (match.Groups[2].Value.TrimEnd('0').Length - exponent > maxDecimals) return null;
        if (!decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value < 0 || value > max) return null;
        return value;
    }

    /// <summary>SEMANTICS.md "Event time": UTC ticks and the offset in minutes, digits past the seventh dropped.</summary>
    public static bool TryParseTime(string text, out long utcTicks, out int offsetMinutes)
    {
        utcTicks = 0;
        offsetMinutes = 0;
        var match = IsoTime.Match(text);
        if (!match.Success) return false;
        int Field(int group) => int.Parse(match.Groups[group].Value, CultureInfo.InvariantCulture);
        if (Field(6) > 59) return false;
        DateTime local;
        try
        {
            local = new DateTime(Field(1), Field(2), Field(3), Field(4), Field(5), Field(6));
        }
        catch (ArgumentOutOfRangeException)
        {
            return false;
        }
        var fraction = long.Parse((match.Groups[7].Value + "0000000")[..7], CultureInfo.InvariantCulture);
        var offset = match.Groups[8].Value;
        if (offset != "Z")
        {
            var hours = int.Parse(offset[1..3], CultureInfo.InvariantCulture);
            var minutes = int.Parse(offset[4..], CultureInfo.InvariantCulture);
            if (minutes > 59 || hours * 60 + minutes > 14 * 60) return false;
            offsetMinutes = (offset[0] == '-' ? -1 : 1) * (hours * 60 + minutes);
        }
        utcTicks = local.Ticks + fraction - offsetMinutes * TimeSpan.TicksPerMinute;
        return utcTicks >= 0 && utcTicks <= DateTime.MaxValue.Ticks;
    }

    /// <summary>A string field: null when absent or null; the record is refused when it is missing but required, not a string, or too long.</summary>
    private static string? Text(JsonElement root, string name, bool required)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return required ? throw new RefusedException() : null;
        }
        if (value.ValueKind != JsonValueKind.String) throw new RefusedException();
        string text;
        try
        {
            text = value.GetString()!;
        }
        catch (InvalidOperationException)
        {
            throw new RefusedException();   // not valid UTF-8 or Unicode
        }
        return Encoding.UTF8.GetByteCount(text) <= MaxTextBytes ? text : throw new RefusedException();
    }

    private sealed class RefusedException : Exception;
}
