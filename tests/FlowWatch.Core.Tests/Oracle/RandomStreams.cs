using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Engine;
using FlowWatch.Core.Reference;

namespace FlowWatch.Core.Tests.Oracle;

/// <summary>Which rule settings a generated stream runs under; the engine and the oracle get the same.</summary>
internal enum SettingsProfile
{
    /// <summary>Every default of <see cref="RuleSettings"/>.</summary>
    Defaults,

    /// <summary>A FAN threshold of 2–5 distinct counterparties and a STRUCTURING count of 2–3, so those fire more.</summary>
    SmallCounts,

    /// <summary>Defaults, but <c>txnId</c>s are remembered for only 1–40 days (SEMANTICS.md, DuplicateHorizonDays).</summary>
    DuplicateHorizon,
}

/// <summary>Reference data that replaces the data in force before the record at index <paramref name="BeforeLine"/>; the engine gets it loaded, the oracle as written.</summary>
internal sealed record ReferenceChange(int BeforeLine, string Json, ReferenceData Reference);

/// <summary>One generated stream: its reference data and changes to it, the rule settings both engines get, and the JSONL records.</summary>
internal sealed record GeneratedStream(
    int Seed, SettingsProfile Profile, ReferenceData Reference, RuleSettings Settings, string ReferenceJson, IReadOnlyList<byte[]> Lines,
    IReadOnlyList<ReferenceChange> ReferenceChanges)
{
    /// <summary>The reference changes to apply before the record at <paramref name="index"/>.</summary>
    public IEnumerable<ReferenceChange> ChangesBefore(int index) => ReferenceChanges.Where(c => c.BeforeLine == index);

    /// <summary>The stream as text, for a failure report: settings, reference JSON, then one record per line, with the reference changes between them.</summary>
    public string Describe()
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture,
            $"# seed {Seed}, {Profile}: fan {Settings.FanDistinctCounterparties}, structuring count {Settings.StructuringMinCount}, duplicate horizon {Settings.DuplicateHorizonDays} days\n");
        text.Append(ReferenceJson).Append('\n');
        for (var i = 0; i < Lines.Count; i++)
        {
            foreach (var change in ChangesBefore(i)) text.Append("# reference data from here on: ").Append(change.Json).Append('\n');
            text.Append(CultureInfo.InvariantCulture, $"{i + 1}: ").Append(Encoding.UTF8.GetString(Lines[i])).Append('\n');
        }
        return text.ToString();
    }
}

/// <summary>
/// Seeded random payment streams built to make the exact rules fire often: few entities and counterparties, amounts
/// at and around every threshold, bursts that aim at one rule each (structuring, fan-in/out, pass-through,
/// penetration, large value, dormancy), all account and counterparty kinds, sanctioned names written oddly,
/// high-risk countries, several currencies, time steps from ticks to months across Shanghai midnight and new year,
/// out-of-order and late events, duplicates, rejected records and parameter control records. The same values are
/// written in varied ways (offsets, fraction digits, amounts as numbers or strings, with trailing zeros or exponents,
/// field order, escapes), and reference data (USD rate, entities, sanctions, parameters) changes mid-stream. Those
/// variations come from a random source of their own, so a seed's payments keep their values whatever their writing.
/// </summary>
internal static class RandomStreams
{
    public static GeneratedStream Generate(int seed, SettingsProfile profile) => new StreamGenerator(seed, profile).Build();
}

internal sealed class StreamGenerator
{
    private const string Cny = "CNY";

    private static readonly string[] Purposes =
    [
        "GOODS_TRADE", "SERVICE_TRADE", "PRIMARY_INCOME", "SECONDARY_INCOME", "SALARY", "MEDICAL", "TRAVEL", "LIVING",
        "DIRECT_INVESTMENT", "CROSS_BORDER_FINANCING", "OTHER_INVESTMENT", "SECURITIES_INVESTMENT", "LOAN",
        "LOAN_NON_AFFILIATE", "REAL_ESTATE_SELF_USE", "REAL_ESTATE_NON_SELF_USE", "OUT_OF_SCOPE", "INTERBANK", "OTHER",
        "NOT_A_PURPOSE",
    ];

    private static readonly string[] AllKinds =
        ["FTE", "FTN", "FTU", "FTI", "FTF", "EFE", "EFN", "EFF", "EFU", "NRA", "OSA", "OFFSHORE", "DOMESTIC"];

    private static readonly string[] MonitoredKinds =
        ["EFE", "EFE", "EFE", "FTE", "FTE", "EFF", "EFF", "FTI", "FTF", "FTN", "FTU", "EFN", "EFU", "NRA", "NRA", "OSA", "DOMESTIC", "DOMESTIC"];

    private static readonly string[] SanctionsList = ["Evil Trading Co., Ltd.", "ＳＨＡＤＯＷ  Holdings", "Северный Банк", "黑名单贸易公司"];

    private static readonly string[] CpNames =
    [
        "evil trading co ltd", "EVIL   TRADING CO. LTD.", " Evil\tTrading, Co; Ltd! ", "Evil-Trading Co Ltd", "shadow holdings",
        "Shadow\u3000Holdings.", "СЕВЕРНЫЙ  банк", "黑名单贸易公司", "黑名单 贸易公司", "Honest Goods Ltd", "Acme Corp", "Ａｃｍｅ Corp", "...", "",
        "Evil Trad\U000E0069ing Co\U00010100 Ltd", "ＳＨＡＤＯＷ\U000E0001 Holdings\U0001E95E", "Shadow\U000E0020Holdings", "黑名单\u200B贸易\U0001BCA0公司",
        "Evil\u2800Trading\u3164Co\uFFA0Ltd", "Sha\u034Fdow\uFE0F Hold\u180Bings", "Shadow\u1160Holdings",
    ];

    private static readonly string[] Countries = ["HK", "MO", "US", "SG", "MY", "KP", "IR", "MM", "VN", "PH"];

    private static readonly string[] Offsets = ["+08:00", "+08:00", "+08:00", "Z", "+00:00", "-05:00", "+05:30"];

    /// <summary>Further offsets, up to the widest in use (±14:00), that a time may be written with instead.</summary>
    private static readonly string[] OtherOffsets = ["+14:00", "-14:00", "-09:30", "+05:45", "+09:00", "-03:30", "+12:45"];

    private static readonly decimal?[] Equities = [null, null, 0m, 400_000m, 1_000_000m, 1_000_000m, 2_000_000m, 5_000_000m];

    private static readonly decimal[] NearThreshold =
        [0.9m, 0.8999m, 0.9001m, 0.95m, 0.99m, 0.9999m, 1m, 1m, 1.0001m, 1.2m, 0.5m, 0.45m, 0.34m, 0.3m, 0.25m, 0.1m];

    private readonly Random _random;

    /// <summary>How values are written and how reference data changes: apart from <see cref="_random"/>, so the values stay a seed's own.</summary>
    private readonly Random _style;
    private readonly List<ReferenceChange> _changes = [];
    private readonly int _seed;
    private readonly SettingsProfile _profile;
    private readonly RuleSettings _settings;
    private readonly decimal _usd;
    private readonly Dictionary<string, decimal> _rates;
    private readonly List<Holder> _holders = [];
    private readonly List<string> _counterparties = [];
    private readonly List<string> _txnIds = [];
    private readonly List<byte[]> _lines = [];

    /// <summary>The fields of every payment written, for redeliveries: the same payment, written again.</summary>
    private readonly List<List<Action<Utf8JsonWriter>>> _payments = [];
    private long _clock;
    private int _next;

    public StreamGenerator(int seed, SettingsProfile profile)
    {
        _seed = seed;
        _profile = profile;
        _random = new Random(seed);
        _style = new Random(unchecked(seed * 7919 + 17));
        _settings = new RuleSettings();
        if (profile == SettingsProfile.SmallCounts)
        {
            _settings.FanDistinctCounterparties = _random.Next(2, 6);
            _settings.StructuringMinCount = _random.Next(2, 4);
        }
        if (profile == SettingsProfile.DuplicateHorizon) _settings.DuplicateHorizonDays = Pick([1, 2, 3, 7, 10, 35]);
        _usd = Pick([7.10m, 7.1234m, 6.9m]);
        _rates = new Dictionary<string, decimal>(StringComparer.Ordinal)
        {
            ["USD"] = _usd,
            ["HKD"] = Pick([0.91m, 0.9137m]),
            ["EUR"] = 7.70m,
            ["MOP"] = 0.8812m,
            ["JPY"] = 0.0473m,
            ["MYR"] = 1.55m,
        };
    }

    public GeneratedStream Build()
    {
        // Near the new year, or the day before a leap day, or any day of 2025–2026.
        var start = new DateTime(_random.Next(2025, 2027), 1, 1, 0, 0, 0, DateTimeKind.Utc);
        var when = _random.NextDouble();
        start = when < 0.35 ? start.AddDays(358 + _random.Next(7)).AddHours(_random.Next(24))
            : when < 0.45 ? new DateTime(2028, 2, 28, 0, 0, 0, DateTimeKind.Utc).AddHours(_random.Next(24))
            : start.AddDays(_random.Next(365)).AddHours(_random.Next(24));
        _clock = start.Ticks + _random.Next(3600) * TimeSpan.TicksPerSecond;

        CreateHolders();
        var referenceJson = ReferenceJson(_random, changed: false);
        var reference = ReferenceDataLoader.Parse(Encoding.UTF8.GetBytes(referenceJson));

        var target = 50 + _random.Next(251);
        while (_lines.Count < target)
        {
            var roll = _random.NextDouble();
            if (roll < 0.02) ControlRecord();
            else if (roll < 0.05) RejectedRecord();
            else if (roll < 0.07 && _payments.Count > 0) Redelivery();
            else if (roll < 0.60) Burst();
            else SingleEvent();
        }
        // Half the streams change their reference data once or twice, at records anywhere after the first.
        var changes = Pick(_style, [0, 0, 1, 2]);
        foreach (var beforeLine in Enumerable.Range(0, changes).Select(_ => _style.Next(1, _lines.Count)).Order())
        {
            var json = ReferenceJson(_style, changed: true);
            _changes.Add(new ReferenceChange(beforeLine, json, ReferenceDataLoader.Parse(Encoding.UTF8.GetBytes(json))));
        }
        return new GeneratedStream(_seed, _profile, reference, _settings, referenceJson, _lines, _changes);
    }

    // ---- reference data ----

    private void CreateHolders()
    {
        var count = _random.Next(2, 7);
        for (var i = 1; i <= count; i++)
        {
            var holder = new Holder($"E{i}")
            {
                InReference = Chance(0.85),
                Type = Pick<string?>(["CORPORATE", "CORPORATE", "FI", "INDIVIDUAL", "INDIVIDUAL", null]),
                Equity = Pick(Equities),
                Whitelisted = Chance(0.5),
                Sanctioned = Chance(0.08),
                LastActivity = Chance(0.4)
                    ? _clock - (long)(Pick([100.0, 179.9, 180.0, 180.0, 181.0, 400.0]) * TimeSpan.TicksPerDay) - Pick([0L, TimeSpan.TicksPerSecond, -TimeSpan.TicksPerSecond])
                    : null,
                DomesticAccount = $"DOM-E{i}",
            };
            var accounts = _random.Next(1, 4);
            for (var j = 0; j < accounts; j++)
            {
                var kind = j == 0 && Chance(0.7) ? Pick(["EFE", "FTE"]) : Pick(MonitoredKinds);
                var inReference = Chance(0.75);
                string name;
                if (kind == "DOMESTIC") name = $"D{i}{j}-{_random.Next(1000)}";
                else if (inReference && Chance(0.1)) name = Pick(["FTE", "EFE", "NRA", "ACC"]) + $"{i}{j}{_random.Next(1000):000}";
                else name = $"{kind}{i}{j}{_random.Next(1000):000}";
                holder.Accounts.Add(new Account(name, kind, inReference));
            }
            _holders.Add(holder);
        }

        var pool = _settings.FanDistinctCounterparties + 6;
        for (var k = 0; k < pool; k++) _counterparties.Add($"CP{k:00}");
    }

    /// <summary>
    /// The reference data: at the start (<paramref name="changed"/> false, drawn from <paramref name="random"/>), or a
    /// change of it, with another USD rate, parameters, equities and flags of some entities and maybe a sanctioned
    /// name fewer. Rates and equities are written as strings or numbers, times with any offset.
    /// </summary>
    private string ReferenceJson(Random random, bool changed)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteStartObject("parameters");
            w.WriteNumber("macroPrudentialFactor", Pick(random, [1m, 1m, 0.5m, 1.25m]));
            w.WriteNumber("inflowLeverage", Pick(random, [1m, 1m, 2m]));
            w.WriteNumber("outflowLeverage", Pick(random, [1m, 1m, 0.5m]));
            w.WriteBoolean("whitelistRequired", random.NextDouble() < 0.7);
            WriteKinds(w, Pick<string[]>(random, [["EFE"], ["EFE"], ["EFE", "FTE"]]));
            w.WriteEndObject();

            w.WriteStartObject("fxRates");
            foreach (var (currency, rate) in _rates)
            {
                var written = changed && currency == "USD" ? Pick(_style, [7.10m, 7.1234m, 6.9m, 7.2m, 7.099999m]) : rate;
                WriteDecimal(w, currency, written);
            }
            w.WriteEndObject();

            w.WriteStartObject("highRiskCountries");
            w.WriteString("KP", "CALL_FOR_ACTION");
            w.WriteString("IR", "CALL_FOR_ACTION");
            w.WriteString("MM", "CALL_FOR_ACTION");
            w.WriteString("VN", "INCREASED_MONITORING");
            w.WriteString("PH", "INCREASED_MONITORING");
            w.WriteEndObject();

            w.WriteStartArray("sanctionsList");
            var dropped = changed && Chance(_style, 0.3) ? _style.Next(SanctionsList.Length) : -1;
            for (var i = 0; i < SanctionsList.Length; i++)
            {
                if (i != dropped) w.WriteStringValue(SanctionsList[i]);
            }
            w.WriteEndArray();

            w.WriteStartArray("entities");
            foreach (var holder in _holders.Where(h => h.InReference))
            {
                w.WriteStartObject();
                w.WriteString("entityId", holder.Id);
                w.WriteString("name", "Holder " + holder.Id);
                if (holder.Type is not null) w.WriteString("type", holder.Type);
                var equity = changed && Chance(_style, 0.25) ? Pick(_style, Equities) : holder.Equity;
                if (equity is { } e) WriteDecimal(w, "ownersEquityPrevYear", e);
                w.WriteBoolean("whitelisted", holder.Whitelisted != (changed && Chance(_style, 0.2)));
                w.WriteBoolean("sanctioned", holder.Sanctioned != (changed && Chance(_style, 0.1)));
                if (holder.LastActivity is { } last) w.WriteString("lastActivity", Timestamp(last, Chance(_style, 0.5) ? "+08:00" : Pick(_style, OtherOffsets)));
                w.WriteEndObject();
            }
            w.WriteStartObject();
            w.WriteString("entityId", "X1");
            w.WriteBoolean("sanctioned", true);
            w.WriteEndObject();
            w.WriteStartObject();
            w.WriteString("entityId", "X2");
            w.WriteString("type", "CORPORATE");
            w.WriteEndObject();
            w.WriteEndArray();

            w.WriteStartArray("accounts");
            foreach (var holder in _holders)
            {
                foreach (var account in holder.Accounts.Where(a => a.InReference)) WriteAccount(w, account.Name, account.Kind, holder.Id);
                WriteAccount(w, holder.DomesticAccount, "DOMESTIC", holder.Id);
            }
            WriteAccount(w, _counterparties[0], "DOMESTIC", "X1");
            WriteAccount(w, _counterparties[1], "OFFSHORE", "X2");
            WriteAccount(w, _counterparties[2], "DOMESTIC", _holders[0].Id);
            WriteAccount(w, _counterparties[3], "FTE", _holders[^1].Id);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>A reference decimal as a string or as a JSON number, maybe with zeros after its last decimal.</summary>
    private void WriteDecimal(Utf8JsonWriter w, string name, decimal value)
    {
        var text = value.ToString(CultureInfo.InvariantCulture);
        if (Chance(_style, 0.3)) text += (text.Contains('.', StringComparison.Ordinal) ? "" : ".") + "00";
        if (Chance(_style, 0.5))
        {
            w.WriteString(name, text);
            return;
        }
        w.WritePropertyName(name);
        w.WriteRawValue(text);
    }

    private static void WriteAccount(Utf8JsonWriter w, string account, string kind, string entityId)
    {
        w.WriteStartObject();
        w.WriteString("account", account);
        w.WriteString("kind", kind);
        w.WriteString("entityId", entityId);
        w.WriteEndObject();
    }

    private static void WriteKinds(Utf8JsonWriter w, string[] kinds)
    {
        w.WriteStartArray("penetrationKinds");
        foreach (var kind in kinds) w.WriteStringValue(kind);
        w.WriteEndArray();
    }

    // ---- bursts: a few events aimed at one rule ----

    private void Burst()
    {
        switch (_random.Next(7))
        {
            case 0: StructuringBurst(); break;
            case 1: FanBurst(); break;
            case 2: PassThroughBurst(); break;
            case 3:
            case 4: PenetrationBurst(); break;
            case 5: LargeValueBurst(); break;
            default: DormantEvent(); break;
        }
    }

    private void StructuringBurst()
    {
        var template = RandomSpec();
        template.Method = Chance(0.3) ? "CASH" : template.Method == "CASH" ? null : template.Method;
        template.Currency = Chance(0.6) ? Cny : PickCurrency();
        var threshold = ThresholdFor(template);
        var count = _random.Next(2, 7);
        var start = _clock;
        for (var i = 0; i < count; i++)
        {
            Advance(Chance(0.2) ? _random.Next(6, 13) * TimeSpan.TicksPerHour : _random.Next(60, 4 * 3600) * TimeSpan.TicksPerSecond);
            if (i == count - 1) ToWindowEdge(start);
            var spec = template.Copy();
            var fraction = Chance(0.3) ? Pick([0.9m, 0.9999m, 0.8999m, 1m]) : 0.9m + (decimal)_random.NextDouble() / 10m;
            spec.Amount = AmountOf(threshold * fraction, spec.Currency);
            Event(spec);
        }
    }

    private void FanBurst()
    {
        var template = RandomSpec();
        var count = _settings.FanDistinctCounterparties + _random.Next(-1, 5);
        var first = _random.Next(_counterparties.Count);
        var start = _clock;
        for (var i = 0; i < count; i++)
        {
            Advance(_random.Next(1, 40 * 60) * TimeSpan.TicksPerSecond);
            if (i == count - 1) ToWindowEdge(start);
            var spec = RandomSpec();
            spec.Holder = template.Holder;
            spec.Account = template.Account;
            spec.Direction = template.Direction;
            spec.CpAccount = _counterparties[(first + i) % _counterparties.Count];
            Event(spec);
        }
    }

    private void PassThroughBurst()
    {
        var template = RandomSpec();
        var ins = _random.Next(1, 4);
        var total = 0m;
        var start = _clock + TimeSpan.TicksPerSecond;
        for (var i = 0; i < ins; i++)
        {
            Advance(i == 0 ? TimeSpan.TicksPerSecond : _random.Next(60, 6 * 3600) * TimeSpan.TicksPerSecond);
            var spec = template.Copy();
            spec.Direction = "IN";
            spec.CpAccount = Pick(_counterparties);
            spec.Amount = AmountOf(500_000m / ins * Pick([1m, 1m, 0.9999m, 1.2m, 0.5m]) / Rate(spec.Currency), spec.Currency, inCurrency: true);
            total += spec.Amount * Rate(spec.Currency);
            Event(spec);
        }
        var outs = _random.Next(1, 4);
        for (var i = 0; i < outs; i++)
        {
            Advance(_random.Next(60, 6 * 3600) * TimeSpan.TicksPerSecond);
            if (i == outs - 1) ToWindowEdge(start);
            var spec = template.Copy();
            spec.Direction = "OUT";
            spec.CpAccount = Pick(_counterparties);
            spec.Amount = AmountOf(total / outs * Pick([0.9m, 0.8999m, 0.95m, 1m, 0.5m]) / Rate(spec.Currency), spec.Currency, inCurrency: true);
            Event(spec);
        }
    }

    private void PenetrationBurst()
    {
        var holder = Pick(_holders);
        var accounts = holder.Accounts.Where(a => a.Kind is "EFE" or "FTE").ToList();
        var account = accounts.Count > 0 ? Pick(accounts) : Pick(holder.Accounts);
        var capBase = holder.Equity is > 0 ? holder.Equity.Value : 1_000_000m;
        var count = _random.Next(3, 9);
        var outShare = Pick([0.5, 0.7, 0.9]);
        for (var i = 0; i < count; i++)
        {
            Advance(Chance(0.1) ? _random.Next(1, 40) * TimeSpan.TicksPerDay : _random.Next(1, 12 * 3600) * TimeSpan.TicksPerSecond);
            var spec = RandomSpec();
            spec.Holder = holder;
            spec.Account = account;
            SameName(spec);
            spec.Currency = Chance(0.92) ? Cny : PickCurrency();
            spec.Direction = Chance(outShare) ? "OUT" : "IN";
            spec.Amount = AmountOf(capBase * Pick([0.1m, 0.2m, 0.2m, 0.25m, 0.3m, 0.4m, 0.4m, 0.5m, 0.8m, 0.0001m]), spec.Currency);
            spec.Method = Chance(0.9) ? null : spec.Method;
            if (Chance(0.15)) spec.BehindNewest = _random.Next(1, 10 * 24) * TimeSpan.TicksPerHour;   // late, maybe last year
            Event(spec);
        }
    }

    private void LargeValueBurst()
    {
        var template = RandomSpec();
        template.Method = Chance(0.3) ? "CASH" : null;
        var threshold = ThresholdFor(template);
        var count = _random.Next(2, 6);
        for (var i = 0; i < count; i++)
        {
            Advance(_random.Next(600, 9 * 3600) * TimeSpan.TicksPerSecond);
            var spec = template.Copy();
            spec.Amount = AmountOf(threshold * Pick([0.2m, 0.25m, 0.3m, 0.45m, 0.5m, 0.5m, 0.9999m, 1m]), spec.Currency);
            Event(spec);
        }
    }

    private void DormantEvent()
    {
        Advance(Pick([180L * TimeSpan.TicksPerDay, 180L * TimeSpan.TicksPerDay - TimeSpan.TicksPerSecond,
            180L * TimeSpan.TicksPerDay + 1, 179L * TimeSpan.TicksPerDay, 200L * TimeSpan.TicksPerDay, 3 * TimeSpan.TicksPerDay]));
        var spec = RandomSpec();
        spec.Amount = AmountOf(Pick([500_000m, 500_000m, 499_999.99m, 600_000m, 2_000_000m]) / Rate(spec.Currency), spec.Currency, inCurrency: true);
        Event(spec);
    }

    // ---- single events ----

    private void SingleEvent()
    {
        Advance(RandomStep());
        Event(RandomSpec());
    }

    private EventSpec RandomSpec()
    {
        var holder = Pick(_holders);
        var spec = new EventSpec
        {
            Holder = holder,
            Account = Pick(holder.Accounts),
            Direction = Chance(0.5) ? "IN" : "OUT",
            Currency = Chance(0.55) ? Cny : PickCurrency(),
            Method = Chance(0.12) ? "CASH" : Chance(0.5) ? "TRANSFER" : null,
            CpName = Chance(0.3) ? Pick(CpNames) : null,
            CpCountry = Chance(0.4) ? Pick(Countries) : null,
            Purpose = Chance(0.85) ? Pick(Purposes) : null,
            CustomsSpecial = Pick<bool?>([true, false, null]),
        };
        var roll = _random.NextDouble();
        if (roll < 0.3)
        {
            SameName(spec);
        }
        else if (roll < 0.5)
        {
            spec.CpKind = "DOMESTIC";
            spec.CpEntityId = Pick<string?>([Pick(_holders).Id, "X1", "X2", null]);
            spec.CpAccount = Chance(0.9) ? Pick(_counterparties) : null;
        }
        else
        {
            spec.CpKind = Pick(AllKinds);
            spec.CpAccount = Chance(0.85) ? Pick(_counterparties) : null;
            spec.CpEntityId = Chance(0.1) ? Pick([Pick(_holders).Id, "X1"]) : null;
        }
        spec.Amount = RandomAmount(spec);
        return spec;
    }

    /// <summary>A counterparty that is the holder's own domestic account: by cpEntityId, or by a reference account.</summary>
    private void SameName(EventSpec spec)
    {
        spec.CpKind = "DOMESTIC";
        if (Chance(0.6))
        {
            spec.CpEntityId = spec.Holder.Id;
            spec.CpAccount = Chance(0.7) ? Pick(_counterparties) : null;
        }
        else
        {
            spec.CpEntityId = null;
            spec.CpAccount = spec.Holder.DomesticAccount;
        }
    }

    private decimal RandomAmount(EventSpec spec)
    {
        var roll = _random.NextDouble();
        if (roll < 0.15) return AmountOf((decimal)(_random.NextDouble() * 5000) + 1m, spec.Currency, inCurrency: true);
        if (roll < 0.25) return AmountOf(((decimal)(_random.NextDouble() * 3_000_000) + 1m) / Rate(spec.Currency), spec.Currency, inCurrency: true);
        var target = spec.Currency == Cny
            ? Pick([50_000m, 2_000_000m, 500_000m, 200_000m, 50_000m * _usd, spec.Holder.Equity ?? 1_000_000m])
            : Pick([10_000m, 200_000m, 100_000m, 50_000m]);
        if (roll < 0.35) target = ThresholdFor(spec);
        return AmountOf(target * Pick(NearThreshold), spec.Currency);
    }

    /// <summary>The large-value threshold (CNY or USD-eq.) the event should fall under, as far as the generator can tell.</summary>
    private decimal ThresholdFor(EventSpec spec)
    {
        LargeValueCategory category;
        var kind = spec.Account.Kind;
        var type = spec.Holder.InReference ? spec.Holder.Type : null;
        var individual = type == "INDIVIDUAL" || (type is null && kind is "FTI" or "FTF" or "EFF");
        if (spec.Method == "CASH") category = LargeValueCategory.Cash;
        else if (!individual) category = LargeValueCategory.NonIndividualTransfer;
        else if (kind == "DOMESTIC" && spec.CpKind == "DOMESTIC") category = LargeValueCategory.IndividualDomestic;
        else category = LargeValueCategory.IndividualCrossBorder;
        return _settings.LargeValue.For(category, spec.Currency == Cny ? CurrencyClass.Cny : CurrencyClass.Fx);
    }

    /// <summary>
    /// An amount in <paramref name="currency"/>: <paramref name="value"/> itself when it is already in that currency
    /// (CNY, or <paramref name="inCurrency"/>), else the amount worth <paramref name="value"/> in USD-equivalent.
    /// </summary>
    private decimal AmountOf(decimal value, string currency, bool inCurrency = false)
    {
        var amount = currency == Cny || inCurrency ? value : value * _usd / Rate(currency);
        amount = decimal.Round(amount, Pick([0, 2, 2, 4]));
        return amount > 0 ? amount : 0.01m;
    }

    private decimal Rate(string currency) => currency == Cny ? 1m : _rates[currency];

    private string PickCurrency() => Pick(["USD", "USD", "USD", "HKD", "EUR", "MOP", "JPY", "MYR"]);

    private void Event(EventSpec spec)
    {
        // Mostly at the clock; some out of order within the lateness bound, some beyond it (late), some ahead,
        // and some exactly at the bound of the holder's own newest event, where lateness is decided.
        var ts = _clock;
        var holderNewest = spec.Holder.Newest ?? _clock;
        var roll = _random.NextDouble();
        if (spec.BehindNewest is { } behind) ts = holderNewest - behind;
        else if (roll < 0.08) ts -= Chance(0.25) ? 5 * TimeSpan.TicksPerMinute : (long)(_random.NextDouble() * 5 * TimeSpan.TicksPerMinute);
        else if (roll < 0.13) ts -= 5 * TimeSpan.TicksPerMinute + Pick([1L, TimeSpan.TicksPerSecond, (long)(_random.NextDouble() * 10 * TimeSpan.TicksPerDay)]);
        else if (roll < 0.16) ts += (long)(_random.NextDouble() * 10 * TimeSpan.TicksPerMinute);
        else if (roll < 0.19) ts = holderNewest - 5 * TimeSpan.TicksPerMinute + Pick([0L, 0L, 1L, -1L]);
        spec.Holder.Newest = Math.Max(holderNewest, ts);

        var txnId = NewTxnId();
        var rawAccount = spec.Account.Name;
        var giveKind = (!spec.Account.InReference && spec.Account.Kind == "DOMESTIC") || Chance(0.25);
        var giveEntity = !spec.Account.InReference || Chance(0.4);
        if (Chance(0.02)) giveEntity = false;   // an unknown account without entityId is rejected
        var fields = new List<Action<Utf8JsonWriter>>
        {
            w => w.WriteString("txnId", txnId),
            w => w.WriteString("ts", Timestamp(ts, Pick(Offsets))),
            w => w.WriteString("account", rawAccount),
            w => w.WriteString("direction", spec.Direction),
            w => w.WriteString("currency", spec.Currency),
            w => w.WriteString("cpKind", spec.CpKind),
        };
        var amount = AmountText(spec.Amount);
        fields.Add(Chance(0.5) ? w => { w.WritePropertyName("amount"); w.WriteRawValue(amount); } : w => w.WriteString("amount", amount));
        Optional(fields, "accountKind", giveKind ? spec.Account.Kind : null);
        Optional(fields, "entityId", giveEntity ? spec.Holder.Id : null);
        Optional(fields, "cpAccount", spec.CpAccount);
        Optional(fields, "cpEntityId", spec.CpEntityId);
        Optional(fields, "cpName", spec.CpName);
        Optional(fields, "cpCountry", spec.CpCountry);
        Optional(fields, "purpose", spec.Purpose);
        Optional(fields, "method", spec.Method);
        if (spec.CustomsSpecial is { } customs) fields.Add(w => w.WriteBoolean("customsSpecial", customs));
        var bank = "BANK-" + _next;
        if (Chance(0.2)) fields.Add(w => w.WriteString("bank", bank));
        if (Chance(0.05)) fields.Add(w => w.WriteNumber("unknownField", 42));
        if (Chance(_style, 0.1)) fields.Add(w => w.WriteString("type", "PAYMENT"));
        _payments.Add([.. fields]);
        Write(fields);
    }

    /// <summary>
    /// An earlier payment sent again, as a producer's retry does: the same fields, in another order, maybe escaped
    /// otherwise, its time maybe in another offset.
    /// </summary>
    private void Redelivery() => Write([.. Pick(_payments)]);

    private void Optional(List<Action<Utf8JsonWriter>> fields, string name, string? value)
    {
        if (value is not null) fields.Add(w => w.WriteString(name, value));
        else if (Chance(0.1)) fields.Add(w => w.WriteNull(name));
    }

    private string NewTxnId()
    {
        _next++;
        if (_txnIds.Count > 0 && Chance(0.04)) return Pick(_txnIds);   // a duplicate (or a retry of a rejected record)
        var id = Chance(0.05) ? $"交易-{_seed}-{_next}" : Chance(0.02) ? new string('T', 58) + _next.ToString("00000", CultureInfo.InvariantCulture) : $"T{_seed}-{_next}";
        _txnIds.Add(id);
        return id;
    }

    private void ControlRecord()
    {
        var fields = new List<Action<Utf8JsonWriter>> { w => w.WriteString("type", "PARAMETERS") };
        if (!Chance(0.03)) fields.Add(w => w.WriteString("ts", Chance(0.03) ? "yesterday" : Timestamp(_clock, "+08:00")));
        if (Chance(0.5)) fields.Add(w => w.WriteNumber("macroPrudentialFactor", Pick([0m, 0.5m, 0.8m, 1m, 1m, 1.25m, 2m, -1m])));
        if (Chance(0.3)) fields.Add(w => w.WriteNumber("inflowLeverage", Pick([0.5m, 1m, 1.5m])));
        if (Chance(0.3)) fields.Add(w => w.WriteNumber("outflowLeverage", Pick([0.5m, 1m, 1.5m])));
        if (Chance(0.3)) fields.Add(w => w.WriteBoolean("whitelistRequired", Chance(0.5)));
        if (Chance(0.3)) fields.Add(w => WriteKinds(w, Pick<string[]>([["EFE"], ["EFE", "FTE"], ["FTE"], [], ["NRA"]])));
        Write(fields);
    }

    private void RejectedRecord()
    {
        var spec = RandomSpec();
        switch (_random.Next(8))
        {
            case 0: _lines.Add("{\"txnId\":\"broken\""u8.ToArray()); return;
            case 1: _lines.Add("not json at all"u8.ToArray()); return;
            case 2: spec.Currency = "XYZ"; break;
            case 3: spec.Amount = 0m; break;
            case 4: spec.Account = new Account("ZZZ" + _next, "OFFSHORE", false); break;
            case 5: spec.Account = new Account("OFF" + _next, "OFFSHORE", false); spec.Holder = Pick(_holders); break;
            case 6: spec.Currency = "usd"; break;
            default: spec.Direction = "SIDEWAYS"; break;
        }
        // Kinds ZZZ/OFF: ZZZ without accountKind resolves to nothing; OFF... is given accountKind OFFSHORE below.
        var fields = new List<Action<Utf8JsonWriter>>
        {
            w => w.WriteString("txnId", NewTxnId()),
            w => w.WriteString("ts", Timestamp(_clock, "+08:00")),
            w => w.WriteString("account", spec.Account.Name),
            w => w.WriteString("entityId", spec.Holder.Id),
            w => w.WriteString("direction", spec.Direction),
            w => w.WriteString("currency", spec.Currency),
            w => w.WriteString("cpKind", spec.CpKind),
            w => w.WriteString("amount", spec.Amount.ToString(CultureInfo.InvariantCulture)),
        };
        if (spec.Account.Name.StartsWith("OFF", StringComparison.Ordinal)) fields.Add(w => w.WriteString("accountKind", "OFFSHORE"));
        Write(fields);
    }

    private void Write(List<Action<Utf8JsonWriter>> fields)
    {
        for (var i = fields.Count - 1; i > 0; i--)
        {
            var j = _random.Next(i + 1);
            (fields[i], fields[j]) = (fields[j], fields[i]);
        }
        using var buffer = new MemoryStream();
        var options = new JsonWriterOptions { Encoder = Chance(0.5) ? JavaScriptEncoder.UnsafeRelaxedJsonEscaping : JavaScriptEncoder.Default };
        using (var w = new Utf8JsonWriter(buffer, options))
        {
            w.WriteStartObject();
            foreach (var field in fields) field(w);
            w.WriteEndObject();
        }
        _lines.Add(buffer.ToArray());
    }

    // ---- time ----

    private long RandomStep()
    {
        var roll = _random.NextDouble();
        if (roll < 0.10) return 0;
        if (roll < 0.35) return _random.Next(1, 61) * TimeSpan.TicksPerSecond;
        if (roll < 0.55) return _random.Next(1, 61) * TimeSpan.TicksPerMinute;
        if (roll < 0.70) return _random.Next(1, 13) * TimeSpan.TicksPerHour + _random.Next(3600) * TimeSpan.TicksPerSecond;
        if (roll < 0.78) return TimeSpan.TicksPerDay + Pick([0L, 1L, -1L, TimeSpan.TicksPerSecond, -TimeSpan.TicksPerSecond]);
        if (roll < 0.81) return ToNextShanghaiMidnight() + Pick([0L, 0L, -1L]);
        if (roll < 0.90) return _random.Next(12 * 3600, 36 * 3600) * TimeSpan.TicksPerSecond;
        if (roll < 0.985) return _random.Next(1, 11) * TimeSpan.TicksPerDay + _random.Next(86_400) * TimeSpan.TicksPerSecond;
        return _random.Next(150, 400) * TimeSpan.TicksPerDay;
    }

    private void Advance(long ticks) => _clock += ticks;

    /// <summary>Ticks from the clock to the next 00:00 in Shanghai (UTC+8), where days and years begin.</summary>
    private long ToNextShanghaiMidnight()
    {
        const long Shanghai = 8 * TimeSpan.TicksPerHour;
        return ((_clock + Shanghai) / TimeSpan.TicksPerDay + 1) * TimeSpan.TicksPerDay - Shanghai - _clock;
    }

    /// <summary>Sometimes moves the clock to where an event at <paramref name="start"/> is just inside or just out of the window.</summary>
    private void ToWindowEdge(long start)
    {
        if (!Chance(0.3)) return;
        var edge = start + _settings.TrailingWindow.Ticks + Pick([0L, 0L, 1L, -1L, TimeSpan.TicksPerSecond]);
        if (edge > _clock) _clock = edge;
    }

    /// <summary>
    /// An instant written with <paramref name="offset"/>, or now and then another offset of the same instant; its
    /// fraction of a second with 7 digits, without its trailing zeros, or with digits past the seventh (which a
    /// reader drops), and a whole second with or without a fraction of zeros.
    /// </summary>
    private string Timestamp(long utcTicks, string offset)
    {
        if (Chance(_style, 0.2)) offset = Pick(_style, OtherOffsets);
        var shift = offset == "Z" ? TimeSpan.Zero : TimeSpan.ParseExact(offset[1..], @"hh\:mm", CultureInfo.InvariantCulture) * (offset[0] == '-' ? -1 : 1);
        var local = new DateTimeOffset(utcTicks, TimeSpan.Zero).ToOffset(shift);
        var text = local.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);
        var fraction = (utcTicks % TimeSpan.TicksPerSecond).ToString("0000000", CultureInfo.InvariantCulture);
        text += _style.Next(4) switch
        {
            0 => fraction == "0000000" ? "" : "." + fraction,
            1 => fraction == "0000000" ? Pick(_style, ["", ".0", ".000"]) : "." + fraction.TrimEnd('0'),
            2 => "." + fraction + Pick(_style, ["0", "00", "99", "999999999"]),
            _ => fraction == "0000000" ? "" : "." + fraction,
        };
        return text + offset;
    }

    /// <summary>
    /// An amount as a JSON number or a string would hold it: as <see cref="decimal"/> prints it, with zeros after its
    /// last decimal, or with an exponent (<c>123456e-2</c>, <c>1.23456E+3</c>).
    /// </summary>
    private string AmountText(decimal amount)
    {
        var text = amount.ToString(CultureInfo.InvariantCulture);
        var point = text.IndexOf('.', StringComparison.Ordinal);
        var scale = point < 0 ? 0 : text.Length - point - 1;
        var digits = text.Replace(".", "", StringComparison.Ordinal).TrimStart('0');
        return _style.Next(6) switch
        {
            0 => text + (point < 0 ? "." : "") + Pick(_style, ["0", "00", "000", "0000000"]),
            1 => string.Create(CultureInfo.InvariantCulture, $"{digits}e{-scale}"),
            2 => string.Create(CultureInfo.InvariantCulture, $"{digits[0]}{(digits.Length > 1 ? "." + digits[1..] : "")}E{(digits.Length - 1 - scale >= 0 ? "+" : "")}{digits.Length - 1 - scale}"),
            _ => text,
        };
    }

    // ---- randomness ----

    private bool Chance(double p) => Chance(_random, p);

    private T Pick<T>(IReadOnlyList<T> items) => Pick(_random, items);

    private static bool Chance(Random random, double p) => random.NextDouble() < p;

    private static T Pick<T>(Random random, IReadOnlyList<T> items) => items[random.Next(items.Count)];

    private sealed class Holder(string id)
    {
        public string Id { get; } = id;
        public bool InReference { get; init; }
        public string? Type { get; init; }
        public decimal? Equity { get; init; }
        public bool Whitelisted { get; init; }
        public bool Sanctioned { get; init; }
        public long? LastActivity { get; init; }
        public required string DomesticAccount { get; init; }

        /// <summary>The newest event time written for this holder, to aim events at its lateness bound.</summary>
        public long? Newest { get; set; }
        public List<Account> Accounts { get; } = [];
    }

    private sealed record Account(string Name, string Kind, bool InReference);

    private sealed class EventSpec
    {
        public required Holder Holder { get; set; }
        public required Account Account { get; set; }
        public required string Direction { get; set; }
        public required string Currency { get; set; }
        public decimal Amount { get; set; }
        public string? Method { get; set; }
        public string CpKind { get; set; } = "OFFSHORE";
        public string? CpAccount { get; set; }
        public string? CpEntityId { get; set; }
        public string? CpName { get; set; }
        public string? CpCountry { get; set; }
        public string? Purpose { get; set; }
        public bool? CustomsSpecial { get; set; }

        /// <summary>When set, the event is written this long before the holder's newest event.</summary>
        public long? BehindNewest { get; set; }

        public EventSpec Copy() => (EventSpec)MemberwiseClone();
    }
}
