using System.Text.Json;
using System.Text.Json.Serialization;
using FlowWatch.Core.Aggregates;
using FlowWatch.Core.Contracts;

namespace FlowWatch.Core.Serialization;

/// <summary>A rejected record: where it came from, why, and its bytes (DESIGN.md §3.1).</summary>
public sealed record DeadLetter
{
    /// <summary>Line number in a file (1-based), or the message offset in a topic.</summary>
    public required long Line { get; init; }
    public required string Reason { get; init; }

    /// <summary>The record as text; invalid UTF-8 is replaced, and then <see cref="RawBase64"/> holds the exact bytes.</summary>
    public required string Raw { get; init; }
    public string? RawBase64 { get; init; }

    public static DeadLetter Of(long line, string reason, ReadOnlySpan<byte> raw)
    {
        var valid = System.Text.Unicode.Utf8.IsValid(raw);
        return new DeadLetter
        {
            Line = line,
            Reason = reason,
            Raw = System.Text.Encoding.UTF8.GetString(raw),
            RawBase64 = valid ? null : Convert.ToBase64String(raw),
        };
    }
}

/// <summary>Source-generated JSON for the wire contracts: no reflection, stable field order.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UseStringEnumConverter = true)]
[JsonSerializable(typeof(Alert))]
[JsonSerializable(typeof(DeadLetter))]
[JsonSerializable(typeof(AggregateBatch))]
[JsonSerializable(typeof(IReadOnlyList<string>))]
public sealed partial class FlowWatchJsonContext : JsonSerializerContext
{
    /// <summary>Writer options for JSON lines in files and topics: they are not HTML, so '+', quotes and CJK text stay readable.</summary>
    public static JsonWriterOptions LineWriterOptions { get; } = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes one alert as a single JSON line (no trailing newline).</summary>
    public static void Write(Utf8JsonWriter writer, Alert alert) => JsonSerializer.Serialize(writer, alert, Default.Alert);

    public static void Write(Utf8JsonWriter writer, DeadLetter deadLetter) => JsonSerializer.Serialize(writer, deadLetter, Default.DeadLetter);
}
