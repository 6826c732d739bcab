using System.Text.Json;
using Confluent.Kafka;
using FlowWatch.Core.Aggregates;
using FlowWatch.Core.Serialization;

namespace FlowWatch.Worker.Aggregates;

/// <summary>Produces a cycle's aggregate rows to the aggregates topic, in messages of a bounded size, inside the open transaction.</summary>
public static class AggregatePublisher
{
    /// <summary>Rows per message: keeps messages near 1 MB, well under the brokers' usual limit.</summary>
    public const int RowsPerMessage = 4_000;

    /// <summary>Any partition will do: rows are keyed by batch and positions carry versions, so their order does not matter.</summary>
    public static void Write(IProducer<string?, byte[]> producer, string topic, AggregateBatch batch,
        Action<DeliveryReport<string?, byte[]>> onDelivery)
    {
        foreach (var part in Split(batch))
        {
            producer.Produce(topic, new Message<string?, byte[]>
            {
                Key = batch.BatchId,
                Value = JsonSerializer.SerializeToUtf8Bytes(part, FlowWatchJsonContext.Default.AggregateBatch),
            }, onDelivery);
        }
    }

    public static AggregateBatch Read(byte[] value) =>
        JsonSerializer.Deserialize(value, FlowWatchJsonContext.Default.AggregateBatch)
        ?? throw new JsonException("an aggregate message holds null");

    /// <summary>Parts share the batch id: their rows differ in their keys, so together they are the batch.</summary>
    private static IEnumerable<AggregateBatch> Split(AggregateBatch batch)
    {
        if (batch.RowCount <= RowsPerMessage)
        {
            yield return batch;
            yield break;
        }
        foreach (var rows in batch.Payments.Chunk(RowsPerMessage)) yield return batch with { Payments = rows, Corridors = [], Positions = [] };
        foreach (var rows in batch.Corridors.Chunk(RowsPerMessage)) yield return batch with { Payments = [], Corridors = rows, Positions = [] };
        foreach (var rows in batch.Positions.Chunk(RowsPerMessage)) yield return batch with { Payments = [], Corridors = [], Positions = rows };
    }
}
