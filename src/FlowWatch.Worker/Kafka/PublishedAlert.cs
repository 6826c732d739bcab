using System.Text.Json;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Serialization;

namespace FlowWatch.Worker.Kafka;

/// <summary>
/// An alert as the worker published it: the JSON bytes of its alerts-topic message (serialized once), with the
/// fields readers filter on. Compact to keep in memory: one array and shared strings.
/// </summary>
public readonly record struct PublishedAlert(Severity Severity, string Rule, string EntityId, byte[] Json)
{
    public static PublishedAlert Of(Alert alert, byte[] json) => new(alert.Severity, alert.Rule, alert.EntityId, json);

    /// <summary>An alerts-topic message read back; a <see cref="JsonException"/> when it is not an alert.</summary>
    public static Alert Read(byte[] json)
    {
        var alert = JsonSerializer.Deserialize(json, FlowWatchJsonContext.Default.Alert) ?? throw new JsonException("an alert message holds null");
        // Required names given as null pass the reader; what reads the alert would fail on them, at every restart.
        if (alert.AlertId is null || alert.Rule is null || alert.EntityId is null || alert.Account is null || alert.TxnId is null
            || alert.Message is null || alert.Metrics is null || alert.Refs is null)
        {
            throw new JsonException("an alert message holds null where a value is required");
        }
        return alert;
    }
}
