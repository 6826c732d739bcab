using System.Text.Json;
using FlowWatch.Core.Reference;

namespace FlowWatch.Core.Decoding;

/// <summary>A control record as read: the parameters in force after it, and when the supervisor set them (its <c>ts</c>).</summary>
public readonly record struct ControlRecord(Parameters Parameters, DateTimeOffset Ts)
{
    /// <summary><see cref="Ts"/> as ISO 8601 with the record's own offset, for a log line.</summary>
    public string Dated => Ts.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFFzzz", System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>
/// Parses a <c>PARAMETERS</c> control record (DESIGN.md §3.4): the fields present override the current
/// parameters from that point of the stream. Besides <c>type</c> and <c>ts</c> (required, as it is of a payment: a
/// change of caps is dated) it has parameters only, at least one: a record that would change nothing, or not all it
/// names, is refused whole. Rare, so it takes the simple path through <see cref="JsonDocument"/>.
/// </summary>
public static class ControlRecordParser
{
    public static bool TryParse(ReadOnlySpan<byte> json, Parameters current, out ControlRecord control, out string? reason)
    {
        control = new ControlRecord(current, default);
        try
        {
            var reader = new Utf8JsonReader(json);
            using var document = JsonDocument.ParseValue(ref reader);
            reader.Read();   // throws on anything after the object
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                reason = "not a JSON object";
                return false;
            }
            ReferenceDataLoader.EnsureUniqueNames(root);
            if (!root.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != "PARAMETERS")
            {
                reason = "type: not PARAMETERS";
                return false;
            }
            if (!root.TryGetProperty("ts", out var ts))
            {
                reason = "ts: missing (when the parameters were set)";
                return false;
            }
            if (ts.ValueKind != JsonValueKind.String
                || !IsoTimestamp.TryParse(System.Text.Encoding.UTF8.GetBytes(ts.GetString()!), out var utcTicks, out var offsetMinutes))
            {
                reason = "ts: not an ISO-8601 time with offset";
                return false;
            }
            var updated = ReferenceDataLoader.ParseParameters(root, "", current, "type", "ts");
            if (root.EnumerateObject().All(p => p.NameEquals("type") || p.NameEquals("ts")))
            {
                reason = "names no parameter to change";
                return false;
            }
            var offset = TimeSpan.FromMinutes(offsetMinutes);
            control = new ControlRecord(updated, new DateTimeOffset(utcTicks + offset.Ticks, offset));
            reason = null;
            return true;
        }
        catch (JsonException ex)
        {
            reason = "malformed JSON: " + ex.Message;
            return false;
        }
        catch (InvalidOperationException)
        {
            reason = "malformed JSON: text that is not valid UTF-8 or Unicode";
            return false;
        }
        catch (ReferenceDataException ex)
        {
            reason = $"{ex.Field.TrimStart('.')}: {ex.Problem}";
            return false;
        }
    }
}
