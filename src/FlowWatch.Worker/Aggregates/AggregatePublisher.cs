using System.Text.Json;
using Confluent.Kafka;
using FlowWatch.Core.Aggregates;
using FlowWatch.Core.Serialization;

namespace FlowWatch.Worker.Aggregates;

/// <summary>Produces a cycle's aggregate rows to the aggregates topic, in messages of a bounded size, inside the open transaction.</summary>
public static class AggregatePublisher
{
    /// <summary>Rows per message (on average: parts are split by hash): keeps messages well under the brokers' usual 1 MB limit.</summary>
    public const int RowsPerMessage = 4_000;

    /// <summary>Any partition will do: rows are keyed by batch and positions carry versions, so their order does not matter.</summary>
    public static void Write(IProducer<string?, byte[]> producer, string topic, AggregateBatch batch,
        Action<DeliveryReport<string?, byte[]>> onDelivery)
    {
        foreach (var part in Split(batch))
        {
            producer.Produce(topic, new Message<string?, byte[]>
            {
                Key = part.BatchId,
                Value = JsonSerializer.SerializeToUtf8Bytes(part, FlowWatchJsonContext.Default.AggregateBatch),
            }, onDelivery);
        }
    }

    public static AggregateBatch Read(byte[] value) =>
        JsonSerializer.Deserialize(value, FlowWatchJsonContext.Default.AggregateBatch)
        ?? throw new JsonException("an aggregate message holds null");

    /// <summary>Messages of at most about <see cref="RowsPerMessage"/> rows, each a part of the batch with its own id.</summary>
    private static IReadOnlyList<AggregateBatch> Split(AggregateBatch batch) => batch.Split((batch.RowCount + RowsPerMessage - 1) / RowsPerMessage);
}
