using System.Text.Json;
using Confluent.Kafka;
using FlowWatch.Core.Aggregates;
using FlowWatch.Core.Serialization;
using FlowWatch.Worker.Kafka;

namespace FlowWatch.Worker.Aggregates;

/// <summary>Produces a cycle's aggregate rows to the aggregates topic, in messages of a bounded size, inside the open transaction.</summary>
public static class AggregatePublisher
{
    /// <summary>Rows per message (on average: parts are split by hash): keeps messages well under the brokers' usual 1 MB limit.</summary>
    public const int RowsPerMessage = 4_000;

    /// <summary>
    /// Most bytes of a message: within the 1 MB that brokers and producers accept by default (<c>message.max.bytes</c>),
    /// with room for the key and the record's framing.
    /// </summary>
    public const int MaxMessageBytes = 786_432;

    /// <summary>Any partition will do: rows are keyed by batch and positions carry versions, so their order does not matter.</summary>
    public static void Write(IProducer<string?, byte[]> producer, string topic, AggregateBatch batch,
        Action<DeliveryReport<string?, byte[]>> onDelivery)
    {
        var target = new TopicPartition(topic, Partition.Any);
        foreach (var message in Messages(batch)) producer.ProduceInTransaction(target, message, onDelivery);
    }

    public static AggregateBatch Read(byte[] value)
    {
        var batch = JsonSerializer.Deserialize(value, FlowWatchJsonContext.Default.AggregateBatch)
            ?? throw new JsonException("an aggregate message holds null");
        // The reader leaves what a message lacks null: a sink would fail on it, again at every restart of its feed.
        if (batch.BatchId is null || batch.Payments is null || batch.Corridors is null || batch.Positions is null)
        {
            throw new JsonException("an aggregate message lacks its batchId, payments, corridors or positions");
        }
        if (batch.Payments.Any(r => r.EntityId is null || r.Currency is null) || batch.Corridors.Any(r => r.CpCountry is null || r.Currency is null)
            || batch.Positions.Any(r => r is null || r.EntityId is null))
        {
            throw new JsonException("an aggregate message holds a row without its entity, country or currency");
        }
        return batch;
    }

    /// <summary>
    /// The batch as messages keyed by their part's id: parts of about <see cref="RowsPerMessage"/> rows, each of at most
    /// <see cref="MaxMessageBytes"/>. A part larger than that (one entity or corridor over many minutes, as a backlog of
    /// days taken in one commit gives, or long ids) goes as its day rows (<see cref="AggregateBatch.DayParts"/>) in as
    /// many messages as they fill, each a part with its own id; only a single day row larger than a message stays whole.
    /// </summary>
    public static IEnumerable<Message<string?, byte[]>> Messages(AggregateBatch batch)
    {
        foreach (var part in batch.Split((batch.RowCount + RowsPerMessage - 1) / RowsPerMessage))
        {
            var value = Serialize(part);
            if (value.Length <= MaxMessageBytes)
            {
                yield return new Message<string?, byte[]> { Key = part.BatchId, Value = value };
                continue;
            }
            // A message of day rows is no larger than theirs apart: they would each repeat the same frame.
            var filling = new List<AggregateBatch>();
            var bytes = 0;
            foreach (var day in part.DayParts())
            {
                var size = Serialize(day).Length;
                if (filling.Count > 0 && bytes + size > MaxMessageBytes)
                {
                    yield return Joined(filling);
                    filling.Clear();
                    bytes = 0;
                }
                filling.Add(day);
                bytes += size;
            }
            yield return Joined(filling);
        }
    }

    private static Message<string?, byte[]> Joined(List<AggregateBatch> days)
    {
        var joined = AggregateBatch.Join(days[0].BatchId, days);
        return new Message<string?, byte[]> { Key = joined.BatchId, Value = Serialize(joined) };
    }

    private static byte[] Serialize(AggregateBatch batch) => JsonSerializer.SerializeToUtf8Bytes(batch, FlowWatchJsonContext.Default.AggregateBatch);
}
