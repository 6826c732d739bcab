using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Decoding;
using FlowWatch.Core.Engine;
using FlowWatch.Core.Reference;

namespace FlowWatch.Core.Tests;

/// <summary>
/// Fluent builders for the rule tests: JSON event lines (DESIGN.md §3.1), a reference data document
/// (DESIGN.md §3.2, parsed with <see cref="ReferenceDataLoader.Parse"/>) and a stream that runs them through
/// <c>new FlowEngine(reference, new RuleSettings(), shards: 1)</c>, answering the alerts of every record.
/// </summary>
internal static class TestStreams
{
    /// <summary>A Monday morning in Shanghai, the default event time.</summary>
    public static readonly DateTimeOffset T0 = new(2026, 3, 2, 10, 0, 0, TimeSpan.FromHours(8));

    public static readonly TimeSpan Shanghai = TimeSpan.FromHours(8);

    internal static readonly JsonSerializerOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static ReferenceBuilder Reference() => new();

    /// <summary>A quiet event: EFE0001 of entity E1 receives 100 CNY from an offshore account, purpose unset.</summary>
    public static EventBuilder Event(string? txnId = null) => new(txnId);

    /// <summary>ISO-8601 with the offset of <paramref name="ts"/>, fraction only when there is one.</summary>
    public static string Iso(DateTimeOffset ts) =>
        ts.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFFzzz", CultureInfo.InvariantCulture);

    public static string Text(decimal value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>The alert id SEMANTICS.md promises: XXH128 of the UTF-8 bytes "rule|txnId|time" (UTC to 100 ns), in lower-case hex.</summary>
    public static string ExpectedAlertId(string rule, string txnId, DateTimeOffset ts) =>
        Convert.ToHexStringLower(System.IO.Hashing.XxHash128.Hash(Encoding.UTF8.GetBytes(
            rule + "|" + txnId + "|" + ts.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture))));
}

/// <summary>Builds one payment event line. Amounts are written as decimal strings, exactly as given.</summary>
internal sealed class EventBuilder
{
    private readonly JsonObject _json = [];

    public EventBuilder(string? txnId)
    {
        if (txnId is not null) _json["txnId"] = txnId;
        _json["ts"] = TestStreams.Iso(TestStreams.T0);
        _json["account"] = "EFE0001";
        _json["entityId"] = "E1";
        _json["direction"] = "IN";
        _json["amount"] = "100";
        _json["currency"] = "CNY";
        _json["cpKind"] = "OFFSHORE";
    }

    public bool HasTxnId => _json.ContainsKey("txnId");

    public EventBuilder Id(string txnId) => Set("txnId", txnId);

    public EventBuilder At(DateTimeOffset ts) => Set("ts", TestStreams.Iso(ts));

    /// <summary>The time exactly as written, e.g. a UTC "Z" time.</summary>
    public EventBuilder At(string ts) => Set("ts", ts);

    /// <summary>The monitored account; <paramref name="kind"/> also writes <c>accountKind</c>.</summary>
    public EventBuilder Account(string account, string? kind = null)
    {
        Set("account", account);
        return kind is null ? Without("accountKind") : Set("accountKind", kind);
    }

    /// <summary>The account holder; null leaves it to reference data.</summary>
    public EventBuilder Entity(string? entityId) => entityId is null ? Without("entityId") : Set("entityId", entityId);

    public EventBuilder In() => Set("direction", "IN");

    public EventBuilder Out() => Set("direction", "OUT");

    public EventBuilder Amount(decimal amount, string currency = "CNY") =>
        Set("amount", TestStreams.Text(amount)).Set("currency", currency);

    /// <summary>The counterparty: its kind, and optionally its holder, account, name and country.</summary>
    public EventBuilder Cp(string kind, string? entityId = null, string? account = null, string? name = null, string? country = null)
    {
        Set("cpKind", kind);
        foreach (var (field, value) in new[] { ("cpEntityId", entityId), ("cpAccount", account), ("cpName", name), ("cpCountry", country) })
        {
            if (value is null) Without(field);
            else Set(field, value);
        }
        return this;
    }

    public EventBuilder CpAccount(string account) => Set("cpAccount", account);

    public EventBuilder CpName(string name) => Set("cpName", name);

    public EventBuilder CpCountry(string country) => Set("cpCountry", country);

    public EventBuilder Purpose(string code) => Set("purpose", code);

    public EventBuilder Cash() => Set("method", "CASH");

    public EventBuilder CustomsSpecial(bool value = true) => With("customsSpecial", JsonValue.Create(value));

    public EventBuilder With(string field, JsonNode? value)
    {
        _json[field] = value;
        return this;
    }

    /// <summary>Sets a field to a raw JSON value such as <c>true</c>, <c>[1]</c> or <c>null</c>.</summary>
    public EventBuilder WithRaw(string field, string rawJson) => With(field, JsonNode.Parse(rawJson));

    public EventBuilder Without(string field)
    {
        _json.Remove(field);
        return this;
    }

    public string ToJson() => _json.ToJsonString(TestStreams.Json);

    public override string ToString() => ToJson();

    private EventBuilder Set(string field, string value)
    {
        _json[field] = value;
        return this;
    }
}

/// <summary>Builds a reference data document. Starts with FX rates and high-risk countries, no entities.</summary>
internal sealed class ReferenceBuilder
{
    private readonly JsonObject _parameters = [];
    private readonly JsonObject _fxRates = [];
    private readonly JsonObject _highRisk = [];
    private readonly JsonArray _sanctions = [];
    private readonly JsonArray _entities = [];
    private readonly JsonArray _accounts = [];

    public ReferenceBuilder()
    {
        // HKD 0.71 makes 10 HKD exactly 1 USD; the others are exact multiples too.
        Rate("USD", 7.10m).Rate("HKD", 0.71m).Rate("EUR", 7.81m).Rate("MYR", 1.42m);
        HighRisk("KP", "CALL_FOR_ACTION").HighRisk("IR", "CALL_FOR_ACTION").HighRisk("MM", "CALL_FOR_ACTION")
            .HighRisk("VN", "INCREASED_MONITORING");
    }

    public ReferenceBuilder Parameter(string name, JsonNode? value)
    {
        _parameters[name] = value;
        return this;
    }

    public ReferenceBuilder Rate(string currency, decimal cnyPerUnit)
    {
        _fxRates[currency] = TestStreams.Text(cnyPerUnit);
        return this;
    }

    public ReferenceBuilder HighRisk(string country, string level)
    {
        _highRisk[country] = level;
        return this;
    }

    public ReferenceBuilder Sanction(string name)
    {
        _sanctions.Add(name);
        return this;
    }

    public ReferenceBuilder Entity(string entityId, string? type = "CORPORATE", decimal? equity = null, bool whitelisted = false,
        bool sanctioned = false, DateTimeOffset? lastActivity = null, string? name = null)
    {
        var entity = new JsonObject { ["entityId"] = entityId };
        if (name is not null) entity["name"] = name;
        if (type is not null) entity["type"] = type;
        if (equity is { } e) entity["ownersEquityPrevYear"] = TestStreams.Text(e);
        entity["whitelisted"] = whitelisted;
        entity["sanctioned"] = sanctioned;
        if (lastActivity is { } last) entity["lastActivity"] = TestStreams.Iso(last);
        _entities.Add(entity);
        return this;
    }

    public ReferenceBuilder Account(string account, string kind, string entityId)
    {
        _accounts.Add(new JsonObject { ["account"] = account, ["kind"] = kind, ["entityId"] = entityId });
        return this;
    }

    public string ToJson() => new JsonObject
    {
        ["parameters"] = _parameters.DeepClone(),
        ["fxRates"] = _fxRates.DeepClone(),
        ["highRiskCountries"] = _highRisk.DeepClone(),
        ["sanctionsList"] = _sanctions.DeepClone(),
        ["entities"] = _entities.DeepClone(),
        ["accounts"] = _accounts.DeepClone(),
    }.ToJsonString(TestStreams.Json);

    public ReferenceData Build() => ReferenceDataLoader.Parse(Encoding.UTF8.GetBytes(ToJson()));

    public TestStream Stream(RuleSettings? settings = null, Utf8StringPool? strings = null) => new(Build(), settings, strings);
}

/// <summary>
/// Runs records through one engine, in order, with increasing sequence numbers. Events without a txnId get
/// "T1", "T2", … by their position in the stream.
/// </summary>
internal sealed class TestStream(ReferenceData reference, RuleSettings? settings = null, Utf8StringPool? strings = null)
{
    private long _sequence;

    public FlowEngine Engine { get; } = new(reference, settings ?? new RuleSettings(), shards: 1, strings: strings);

    /// <summary>Sends an event; <paramref name="publishedAt"/>, when given, is its record's publication time.</summary>
    public StepResult Send(EventBuilder e, DateTimeOffset? publishedAt = null)
    {
        if (!e.HasTxnId) e.Id("T" + (_sequence + 1).ToString(CultureInfo.InvariantCulture));
        return Send(e.ToJson(), publishedAt);
    }

    public StepResult Send(string line, DateTimeOffset? publishedAt = null)
    {
        var alerts = new List<Alert>();
        var outcome = Engine.Process(Encoding.UTF8.GetBytes(line), ++_sequence, publishedAt, alerts, out var reason);
        return new StepResult(outcome, reason, alerts);
    }

    /// <summary>Sends every event and answers the result of each.</summary>
    public IReadOnlyList<StepResult> SendAll(IEnumerable<EventBuilder> events) => events.Select(e => Send(e)).ToList();

    /// <summary>A PARAMETERS control record (DESIGN.md §3.4) with the given fields.</summary>
    public StepResult Parameters(DateTimeOffset ts, string fieldsJson) =>
        Send($$"""{"type":"PARAMETERS","ts":"{{TestStreams.Iso(ts)}}",{{fieldsJson}}}""");

    public EntityState Entity(string entityId) => Engine.FindEntity(entityId) ?? throw new InvalidOperationException("no state for " + entityId);
}

/// <summary>What one record did: its outcome, the reject reason and the alerts it raised.</summary>
internal sealed record StepResult(RecordOutcome Outcome, string? Reason, IReadOnlyList<Alert> Alerts)
{
    public IReadOnlyList<string> Rules => Alerts.Select(a => a.Rule).ToList();

    public bool Raised(string rule) => Alerts.Any(a => a.Rule == rule);

    /// <summary>The one alert of <paramref name="rule"/>; fails unless there is exactly one.</summary>
    public Alert Single(string rule)
    {
        Assert.Equal(RecordOutcome.Accepted, Outcome);
        return Assert.Single(Alerts, a => a.Rule == rule);
    }

    public void AssertRaised(string rule) => Single(rule);

    public void AssertNotRaised(string rule)
    {
        Assert.Equal(RecordOutcome.Accepted, Outcome);
        Assert.DoesNotContain(rule, Rules);
    }
}
