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

    /// <summary>
    /// A limit of librdkafka's mock cluster that the delivery tests must allow for: it keeps no aborted-transaction
    /// index, so records of aborted or fenced transactions reach read_committed consumers. Should a future mock
    /// hide them, this test fails and the allowance in <see cref="DeliveryHarness"/> can go.
    /// </summary>
    [Fact]
    public void Transactions_AbortedOrFenced_StayVisibleToReadCommitted()
    {
        using var broker = EmbeddedBroker.Start(brokers: 1);
        broker.CreateTopic("transactions", partitions: 1);
        var config = new ProducerConfig { BootstrapServers = broker.BootstrapServers, TransactionalId = "same-id" };
        using (var first = new ProducerBuilder<Null, string>(config).Build())
        {
            first.InitTransactions(TimeSpan.FromSeconds(10));
            first.BeginTransaction();
            first.Produce("transactions", new Message<Null, string> { Value = "aborted" });
            first.Flush(TimeSpan.FromSeconds(10));   // on the broker before the abort
            first.AbortTransaction(TimeSpan.FromSeconds(10));
            first.BeginTransaction();
            first.Produce("transactions", new Message<Null, string> { Value = "fenced" });
            first.Flush(TimeSpan.FromSeconds(10));
            using var second = new ProducerBuilder<Null, string>(config).Build();
            second.InitTransactions(TimeSpan.FromSeconds(10));
            second.BeginTransaction();
            second.Produce("transactions", new Message<Null, string> { Value = "committed" });
            second.CommitTransaction(TimeSpan.FromSeconds(10));
        }

        using var consumer = new ConsumerBuilder<Ignore, string>(new ConsumerConfig
        {
            BootstrapServers = broker.BootstrapServers,
            GroupId = "read-committed",
            IsolationLevel = IsolationLevel.ReadCommitted,
            EnablePartitionEof = true,
        }).Build();
        consumer.Assign(new TopicPartitionOffset("transactions", 0, Offset.Beginning));
        var seen = new List<string>();
        while (consumer.Consume(TimeSpan.FromSeconds(10)) is { IsPartitionEOF: false } record) seen.Add(record.Message.Value);

        Assert.Equal(["aborted", "fenced", "committed"], seen);
    }
}
