using System.Text;
using Confluent.Kafka;
using FlowWatch.Worker.Kafka;

namespace FlowWatch.Integration.Tests;

/// <summary>The embedded broker speaks real Kafka protocol over TCP to Confluent.Kafka clients.</summary>
public sealed class EmbeddedBrokerTests
{
    [Fact]
    public void Start_ProduceThenConsume_RoundTripsMessagesOverTcp()
    {
        using var broker = EmbeddedBroker.Start(brokers: 3);
        broker.CreateTopic("round-trip", partitions: 4);
        Assert.Matches(@"^127\.0\.0\.1:\d+(,127\.0\.0\.1:\d+){2}$", broker.BootstrapServers);

        using (var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = broker.BootstrapServers, EnableIdempotence = true }).Build())
        {
            for (var i = 0; i < 100; i++) producer.Produce("round-trip", new Message<string, string> { Key = $"K{i % 7}", Value = $"V{i}" });
            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        }

        using var consumer = new ConsumerBuilder<string, string>(new ConsumerConfig
        {
            BootstrapServers = broker.BootstrapServers,
            GroupId = "round-trip-test",
            AutoOffsetReset = AutoOffsetReset.Earliest,
        }).Build();
        consumer.Subscribe("round-trip");
        var received = new HashSet<string>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (received.Count < 100 && DateTime.UtcNow < deadline)
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result is not null) received.Add(result.Message.Value);
        }
        consumer.Close();

        Assert.Equal(Enumerable.Range(0, 100).Select(i => $"V{i}").ToHashSet(), received);
    }

    [Fact]
    public void SetBrokerDown_ThenUp_ProducerDeliversOnceTheBrokerIsBack()
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        broker.CreateTopic("outage", partitions: 1);
        using var producer = new ProducerBuilder<Null, byte[]>(new ProducerConfig { BootstrapServers = broker.BootstrapServers, MessageTimeoutMs = 60_000 }).Build();
        producer.Produce("outage", new Message<Null, byte[]> { Value = Encoding.UTF8.GetBytes("before") });
        Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));

        broker.SetBrokerDown(1);
        DeliveryResult<Null, byte[]>? delivered = null;
        producer.Produce("outage", new Message<Null, byte[]> { Value = Encoding.UTF8.GetBytes("during") }, r => delivered = r);
        Thread.Sleep(2_000);
        Assert.Null(delivered);
        broker.SetBrokerUp(1);

        Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        Assert.NotNull(delivered);
        Assert.Equal(PersistenceStatus.Persisted, delivered!.Status);
    }
}
