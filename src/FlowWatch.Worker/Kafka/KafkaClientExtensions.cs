using Confluent.Kafka;

namespace FlowWatch.Worker.Kafka;

public static class KafkaClientExtensions
{
    /// <summary>
    /// Produces <paramref name="message"/>, waiting while the client's queue is full (it takes a bounded number of
    /// messages not yet delivered) rather than failing: for the commands that produce a stream as fast as they can.
    /// </summary>
    public static void ProduceWhenQueued<TKey, TValue>(this IProducer<TKey, TValue> producer, string topic, Message<TKey, TValue> message,
        Action<DeliveryReport<TKey, TValue>>? delivered = null)
    {
        while (true)
        {
            try
            {
                producer.Produce(topic, message, delivered);
                return;
            }
            catch (ProduceException<TKey, TValue> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
            {
                producer.Poll(TimeSpan.FromMilliseconds(10));
            }
        }
    }

    /// <summary>
    /// The next record within <paramref name="wait"/>, or null. A failed fetch (a broker's hiccup) counts as nothing yet:
    /// the client fetches again by itself, and let out, the error would end the caller's work for nothing.
    /// </summary>
    public static ConsumeResult<TKey, TValue>? ConsumeOrNothing<TKey, TValue>(this IConsumer<TKey, TValue> consumer, TimeSpan wait)
    {
        try
        {
            return consumer.Consume(wait);
        }
        catch (ConsumeException ex) when (!ex.Error.IsFatal)
        {
            return null;
        }
    }
}
