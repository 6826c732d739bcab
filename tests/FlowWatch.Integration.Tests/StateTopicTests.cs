using System.Buffers.Binary;
using Confluent.Kafka;
using FlowWatch.Core.Engine;
using FlowWatch.Worker.Kafka;
using Xunit.Abstractions;

namespace FlowWatch.Integration.Tests;

/// <summary>
/// The state topic as a Kafka cluster keeps it: compacted, so that only the newest record of each key is left and
/// deleted keys go. The embedded broker never compacts, so the test compacts a copy of the topic the way the log
/// cleaner does and restores from both.
/// </summary>
public sealed class StateTopicTests(ITestOutputHelper output)
{
    private const string CheckpointHeader = "flowwatch.checkpoint";

    [Fact]
    public async Task Restore_FromTheCompactedStateTopic_GivesTheSameStateAndItKeepsOnlyTheMarkersItsRecordsNeed()
    {
        // Payments two minutes apart span four days, so ids saved early pass a one-day duplicate horizon and go.
        const int Payments = 3_000;
        using var harness = new DeliveryHarness(output, Payments, seed: 14, spacing: TimeSpan.FromMinutes(2));
        harness.Options.CheckpointInterval = TimeSpan.FromMilliseconds(200);
        var rules = new RuleSettings { DuplicateHorizonDays = 1 };
        var worker = new StreamingWorker(harness.Options, rules, harness.Reference, TimeProvider.System, logger: new LineLogger(harness.Log), models: harness.Models);
        using (var stop = new CancellationTokenSource())
        {
            var running = worker.RunAsync(stop.Token);
            await worker.Ready.WaitAsync(TimeSpan.FromSeconds(60));
            await harness.ProduceAsync();
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (worker.RecordsRead < Payments && DateTime.UtcNow < deadline) await Task.Delay(50);
            Assert.Equal(Payments, worker.RecordsRead);
            await stop.CancelAsync();
            await running;
        }

        const string CompactedTopic = "flowwatch.state.compacted";
        harness.Broker.CreateTopic(CompactedTopic, DeliveryHarness.Partitions);
        var config = new ConsumerConfig { BootstrapServers = harness.Broker.BootstrapServers };
        for (var partition = 0; partition < DeliveryHarness.Partitions; partition++)
        {
            var records = ReadAll(harness, harness.Options.StateTopic, partition);
            Assert.Contains(records, r => r.Key.StartsWith("I/", StringComparison.Ordinal) && r.Value is null);
            Assert.Contains(records, r => r.Key.StartsWith("K/", StringComparison.Ordinal) && r.Value is null);
            var compacted = Compact(records);
            Assert.True(compacted.Count < records.Count / 2, $"partition {partition}: {compacted.Count} of {records.Count} records left");
            // A marker stays exactly as long as a record of its checkpoint does, or it is the latest.
            var latest = compacted.Where(r => r.Key.StartsWith("K/", StringComparison.Ordinal)).Max(r => r.Checkpoint);
            var needed = compacted.Where(r => r.Key[0] is 'E' or 'I').Select(r => r.Checkpoint).Append(latest).ToHashSet();
            var markers = compacted.Where(r => r.Key.StartsWith("K/", StringComparison.Ordinal)).Select(r => r.Checkpoint).ToHashSet();
            Assert.Equal(needed.Order(), markers.Order());
            Write(harness, CompactedTopic, partition, compacted);

            var whole = new FlowEngine(harness.Reference, rules, models: harness.Models);
            var fromWhole = StateStore.Restore(config, harness.Options.StateTopic, harness.Options.PaymentsTopic, partition, whole);
            var restored = new FlowEngine(harness.Reference, rules, models: harness.Models);
            var fromCompacted = StateStore.Restore(config, CompactedTopic, harness.Options.PaymentsTopic, partition, restored);
            Assert.Equal(0, fromWhole.Replayed);   // the worker stopped with a checkpoint
            Assert.Equal(fromWhole.ResumeAt, fromCompacted.ResumeAt);
            Assert.Equal(PaymentsEnd(harness, partition), fromWhole.ResumeAt);
            var expected = whole.Shards.SelectMany(s => s.Entities).ToList();
            Assert.NotEmpty(expected);
            Assert.Equal(expected.Count, restored.Shards.Sum(s => s.EntityCount));
            foreach (var entity in expected)
            {
                var actual = restored.FindEntity(entity.EntityId);
                Assert.True(actual is not null, $"entity {entity.EntityId} lost by compaction");
                Assert.Equal(StateCodec.Encode(entity), StateCodec.Encode(actual));
            }
            harness.Log($"partition {partition}: {records.Count} records, {compacted.Count} after compaction, {markers.Count} markers, {expected.Count} entities");
        }
    }

    private static long PaymentsEnd(DeliveryHarness harness, int partition)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = harness.Broker.BootstrapServers, GroupId = "ends" }).Build();
        return consumer.QueryWatermarkOffsets(new TopicPartition(harness.Options.PaymentsTopic, new Partition(partition)), TimeSpan.FromSeconds(10)).High.Value;
    }

    private static List<StateRecord> ReadAll(DeliveryHarness harness, string topic, int partition)
    {
        using var consumer = new ConsumerBuilder<string?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = harness.Broker.BootstrapServers,
            GroupId = "state-reader",
            EnablePartitionEof = true,
            IsolationLevel = IsolationLevel.ReadCommitted,
        }).Build();
        consumer.Assign(new TopicPartitionOffset(topic, new Partition(partition), Offset.Beginning));
        var records = new List<StateRecord>();
        while (consumer.Consume(TimeSpan.FromSeconds(10)) is { IsPartitionEOF: false } record)
        {
            var checkpoint = record.Message.Headers?.TryGetLastBytes(CheckpointHeader, out var number) == true ? BinaryPrimitives.ReadInt64LittleEndian(number) : (long?)null;
            records.Add(new StateRecord(record.Message.Key!, record.Message.Value, checkpoint));
        }
        consumer.Close();
        return records;
    }

    /// <summary>What the log cleaner leaves in the end: the newest record of each key, in log order, and no deleted key.</summary>
    private static List<StateRecord> Compact(List<StateRecord> records)
    {
        var newest = new Dictionary<string, int>();
        for (var i = 0; i < records.Count; i++) newest[records[i].Key] = i;
        return [.. records.Where((record, i) => newest[record.Key] == i && record.Value is not null)];
    }

    private static void Write(DeliveryHarness harness, string topic, int partition, List<StateRecord> records)
    {
        using var producer = new ProducerBuilder<string, byte[]?>(new ProducerConfig { BootstrapServers = harness.Broker.BootstrapServers }).Build();
        foreach (var record in records)
        {
            var headers = new Headers();
            if (record.Checkpoint is { } checkpoint)
            {
                var number = new byte[sizeof(long)];
                BinaryPrimitives.WriteInt64LittleEndian(number, checkpoint);
                headers.Add(CheckpointHeader, number);
            }
            producer.Produce(new TopicPartition(topic, new Partition(partition)), new Message<string, byte[]?> { Key = record.Key, Value = record.Value, Headers = headers });
        }
        Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
    }

    private sealed record StateRecord(string Key, byte[]? Value, long? Checkpoint);
}
