using FlowWatch.Core.Contracts;

namespace FlowWatch.Worker.Kafka;

/// <summary>
/// An alert as the worker published it: the JSON bytes of its alerts-topic message (serialized once), with the
/// fields readers filter on. Compact to keep in memory: one array and shared strings.
/// </summary>
public readonly record struct PublishedAlert(Severity Severity, string Rule, string EntityId, byte[] Json)
{
    public static PublishedAlert Of(Alert alert, byte[] json) => new(alert.Severity, alert.Rule, alert.EntityId, json);
}
