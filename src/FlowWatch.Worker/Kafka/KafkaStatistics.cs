using System.Text.Json;

namespace FlowWatch.Worker.Kafka;

/// <summary>Reads librdkafka's statistics (its STATISTICS.md): the JSON a client reports every <c>statistics.interval.ms</c>.</summary>
public static class KafkaStatistics
{
    /// <summary>
    /// The consumer group's state (<c>cgrp.state</c>): "up" while the group is in touch with its coordinator, another
    /// state ("wait-broker-transport", "query-coord", …) while it looks for it. Null when the statistics have none.
    /// </summary>
    public static string? GroupState(string statistics)
    {
        try
        {
            using var document = JsonDocument.Parse(statistics);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("cgrp", out var group) && group.ValueKind == JsonValueKind.Object
                && group.TryGetProperty("state", out var state) && state.ValueKind == JsonValueKind.String
                ? state.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
