using System.Text.Json;
using FlowWatch.Core.Reference;

namespace FlowWatch.Core.Decoding;

/// <summary>
/// Parses a <c>PARAMETERS</c> control record (DESIGN.md §3.4): the fields present override the current
/// parameters from that point of the stream. Besides <c>type</c> and <c>ts</c> it has parameters only, at least one:
/// a record that would change nothing, or not all it names, is refused whole. Rare, so it takes the simple path through <see cref="JsonDocument"/>.
/// </summary>
public static class ControlRecordParser
{
    public static bool TryParse(ReadOnlySpan<byte> json, Parameters current, out Parameters updated, out string? reason)
    {
        updated = current;
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
            if (root.TryGetProperty("ts", out var ts)
                && (ts.ValueKind != JsonValueKind.String
                    || !IsoTimestamp.TryParse(System.Text.Encoding.UTF8.GetBytes(ts.GetString()!), out _, out _)))
            {
                reason = "ts: not an ISO-8601 time with offset";
                return false;
            }
            updated = ReferenceDataLoader.ParseParameters(root, "", current, "type", "ts");
            if (root.EnumerateObject().All(p => p.NameEquals("type") || p.NameEquals("ts")))
            {
                reason = "names no parameter to change";
                return false;
            }
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
