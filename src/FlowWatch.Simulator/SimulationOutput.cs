using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace FlowWatch.Simulator;

/// <summary>Writes a simulation: reference data (DESIGN.md §3.2), payments as JSON lines, episodes as JSON lines.</summary>
public sealed partial class LabelledSimulation
{
    /// <summary>Reference data for every simulated entity and account, loadable with the engine's reference loader.</summary>
    public void WriteReference(Stream output)
    {
        using var json = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = false });
        json.WriteStartObject();
        json.WriteStartObject("parameters");
        json.WriteNumber("macroPrudentialFactor", 1);
        json.WriteNumber("inflowLeverage", 1);
        json.WriteNumber("outflowLeverage", 1);
        json.WriteBoolean("whitelistRequired", true);
        json.WriteStartArray("penetrationKinds");
        json.WriteStringValue("EFE");
        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteStartObject("fxRates");
        foreach (var (currency, rate) in FxRates) json.WriteNumber(currency, rate);
        json.WriteEndObject();
        json.WriteStartObject("highRiskCountries");
        json.WriteString("KP", "CALL_FOR_ACTION");
        json.WriteString("IR", "CALL_FOR_ACTION");
        json.WriteString("MM", "CALL_FOR_ACTION");
        json.WriteString("VN", "INCREASED_MONITORING");
        json.WriteEndObject();
        json.WriteStartArray("sanctionsList");
        json.WriteStringValue("Blue Lotus Trading");
        json.WriteEndArray();
        json.WriteStartArray("entities");
        foreach (var p in _profiles)
        {
            json.WriteStartObject();
            json.WriteString("entityId", p.EntityId);
            json.WriteString("name", p.Name);
            json.WriteString("type", p.Type);
            if (p.Equity is { } equity) json.WriteString("ownersEquityPrevYear", equity.ToString(CultureInfo.InvariantCulture));
            json.WriteBoolean("whitelisted", p.Whitelisted);
            if (p.LastActivityTicks is { } last)
            {
                json.WriteString("lastActivity", new DateTimeOffset(last, TimeSpan.Zero).ToOffset(TimeSpan.FromHours(8)).ToString("yyyy-MM-ddTHH:mm:sszzz", CultureInfo.InvariantCulture));
            }
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteStartArray("accounts");
        foreach (var p in _profiles)
        {
            json.WriteStartObject();
            json.WriteString("account", p.Account);
            json.WriteString("kind", p.Kind);
            json.WriteString("entityId", p.EntityId);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    public byte[] ReferenceBytes()
    {
        using var buffer = new MemoryStream();
        WriteReference(buffer);
        return buffer.ToArray();
    }

    /// <summary>Every payment as one JSON line, in event-time order.</summary>
    public void WriteEvents(Stream output)
    {
        foreach (var payment in Payments)
        {
            output.Write(payment.Line);
            output.WriteByte((byte)'\n');
        }
    }

    /// <summary>
    /// Every episode as one JSON line: entityId, typology, start, end, txnIds; then every breach payment, its typology the
    /// rule it breaks.
    /// </summary>
    public void WriteLabels(Stream output)
    {
        foreach (var episode in _episodes.Concat(_breaches))
        {
            JsonSerializer.Serialize(output, episode, SimulationJsonContext.Default.Episode);
            output.WriteByte((byte)'\n');
        }
    }

    /// <summary>Reads episodes written by <see cref="WriteLabels"/>.</summary>
    public static IReadOnlyList<Episode> ReadLabels(string path) =>
        File.ReadLines(path).Where(line => line.Length > 0)
            .Select(line => JsonSerializer.Deserialize(line, SimulationJsonContext.Default.Episode)
                            ?? throw new InvalidDataException($"{path}: a label line is null"))
            .ToList();
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(Episode))]
internal sealed partial class SimulationJsonContext : JsonSerializerContext;
