using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using FlowWatch.Worker.Aggregates;
using FlowWatch.Worker.Hosting;
using FlowWatch.Worker.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace FlowWatch.Integration.Tests.Aggregates;

/// <summary>The streaming worker writing aggregates through Kafka into a ClickHouse server that goes away and comes back.</summary>
public sealed class StreamingAggregateTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flowwatch-stream-aggregates-").FullName;
    // A server of the test's own (not the shared one), since the test stops and starts it.
    private readonly string _serverDir;

    public StreamingAggregateTests() => _serverDir = Path.Combine(_dir, "clickhouse");

    public void Dispose()
    {
        ClickHouseServer.Stop(_serverDir);
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Run_ClickHouseStoppedFor30Seconds_LosesNothingAndCountsNothingTwice()
    {
        var input = AggregateInput.Synthetic(_dir, events: 6_000, seed: 5);
        var port = ClickHouseServer.Start(_serverDir);
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var kafka = broker.WorkerOptions("outage", partitions: 3, o => o.ReferenceFile = input.ReferencePath);
        var sinkOptions = new AggregateOptions
        {
            ClickHouse = $"Host=127.0.0.1;Port={port};Database=streamed;Timeout=5",
            FlushInterval = TimeSpan.FromMilliseconds(200),
        };
        await using var aggregates = (await AggregatePipeline.StartAsync(kafka, sinkOptions, NullLogger.Instance))!;
        var worker = TestKafka.NewWorker(kafka);
        using var stop = new CancellationTokenSource();
        var running = worker.RunAsync(stop.Token);
        await worker.Ready.WaitAsync(TimeSpan.FromSeconds(30));
        var half = input.Payments.Count / 2;

        Produce(kafka, input.Payments.Take(half));
        await WaitFor(async () => await EventsIn(aggregates.Sink) == half, TimeSpan.FromSeconds(60), "the first half in ClickHouse");

        ClickHouseServer.Stop(_serverDir);
        var outage = Stopwatch.StartNew();
        Produce(kafka, input.Payments.Skip(half));
        await WaitFor(() => Task.FromResult(worker.RecordsRead == input.Payments.Count), TimeSpan.FromSeconds(60), "the worker to read everything");
        await Task.Delay(TimeSpan.FromSeconds(30) - outage.Elapsed);
        Assert.True(aggregates.Writer.Retries > 0, "the sink should have failed while the server was down");
        ClickHouseServer.Start(_serverDir);

        await WaitFor(async () => await EventsIn(aggregates.Sink) == input.Events, TimeSpan.FromSeconds(60), "every event in ClickHouse");
        await WaitFor(async () => await Count(aggregates.Sink, "SELECT count(*) FROM alerts") == worker.Counters.Alerts,
            TimeSpan.FromSeconds(30), "every alert in ClickHouse");
        await stop.CancelAsync();
        await running;

        Assert.Equal(input.Events, worker.Counters.Accepted);
        Assert.Equal(QueryValues.Text(input.AmountCny), (await aggregates.Sink.QueryAsync("SELECT sum(amount_cny) FROM payments_daily", default)).Single().Single());
        Assert.Equal(QueryValues.Text(input.AmountCny), (await aggregates.Sink.QueryAsync("SELECT sum(amount_cny) FROM corridor_minute", default)).Single().Single());
        Assert.Equal(input.Events, await Count(aggregates.Sink, "SELECT sum(events) FROM payments_hourly"));
        Assert.Equal(worker.Counters.Alerts, await Count(aggregates.Sink, "SELECT count(DISTINCT alert_id) FROM alerts"));
    }

    [Fact]
    public async Task Run_ClickHouseDownAtTheStart_StartsAndWritesEverythingOnceItAnswers()
    {
        var input = AggregateInput.Synthetic(_dir, events: 600, seed: 6);
        var port = ClickHouseServer.Start(_serverDir);
        ClickHouseServer.Stop(_serverDir);
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var kafka = broker.WorkerOptions("late-sink", partitions: 1, o => o.ReferenceFile = input.ReferencePath);
        kafka.PublishAggregates = true;   // as run sets it when a sink is configured
        var sinkOptions = new AggregateOptions
        {
            ClickHouse = $"Host=127.0.0.1;Port={port};Database=late;Timeout=5",
            FlushInterval = TimeSpan.FromMilliseconds(200),
        };
        var service = new AggregateService(Options.Create(kafka), Options.Create(sinkOptions), new FeedCounters(), NullLogger<AggregateFeed>.Instance);

        // The sink does not answer: the service starts all the same, and so does the worker, which raises its alerts.
        await service.StartAsync(CancellationToken.None);
        var worker = TestKafka.NewWorker(kafka);
        using var stop = new CancellationTokenSource();
        var running = worker.RunAsync(stop.Token);
        await worker.Ready.WaitAsync(TimeSpan.FromSeconds(30));
        Produce(kafka, input.Payments);
        await WaitFor(() => Task.FromResult(worker.RecordsRead == input.Payments.Count), TimeSpan.FromSeconds(60), "the worker to read everything");
        Assert.True(worker.Counters.Alerts > 0);

        ClickHouseServer.Start(_serverDir);
        await using var server = new ClickHouseSink($"Host=127.0.0.1;Port={port};Database=system;Timeout=5");
        await WaitFor(async () => await Count(server, "SELECT count() FROM system.tables WHERE database = 'late' AND name = 'payments_minute'") == 1
            && await Count(server, "SELECT sum(events) FROM late.payments_minute") == input.Events, TimeSpan.FromSeconds(90), "every event in ClickHouse");
        await stop.CancelAsync();
        await running;
        await service.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Run_BacklogOfOneEntityOverDaysInOneCommit_PublishesItsRowsAndWritesThemAll()
    {
        // One entity paying every minute for five days, all waiting when the worker starts and taken in one commit: 7,200
        // minute rows of the entity and 7,200 of its corridor, which made one message of over 1 MB; the broker refused it,
        // and the worker restarted from its committed state to fail the same way again and again.
        var start = new DateTimeOffset(2026, 3, 2, 0, 0, 0, TimeSpan.FromHours(8));
        var lines = Enumerable.Range(0, 7_200).Select(i => System.Text.Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $$"""{"txnId":"B{{i}}","ts":"{{start.AddMinutes(i):yyyy-MM-ddTHH:mm:sszzz}}","account":"EFE0002","direction":"{{(i % 2 == 0 ? "IN" : "OUT")}}","amount":"100.25","currency":"CNY","cpKind":"OFFSHORE","cpCountry":"HK","purpose":"GOODS_TRADE"}"""))).ToList();
        var port = ClickHouseServer.Start(_serverDir);
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var kafka = broker.WorkerOptions("backlog", partitions: 1, o => o.CommitInterval = TimeSpan.FromSeconds(5));
        var sinkOptions = new AggregateOptions { ClickHouse = $"Host=127.0.0.1;Port={port};Database=backlog", FlushInterval = TimeSpan.FromMilliseconds(200) };
        using (var producer = new ProducerBuilder<Null, byte[]>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers }).Build())
        {
            foreach (var line in lines) producer.Produce(kafka.PaymentsTopic, new Message<Null, byte[]> { Value = line });
            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        }
        await using var aggregates = (await AggregatePipeline.StartAsync(kafka, sinkOptions, NullLogger.Instance))!;
        var worker = TestKafka.NewWorker(kafka);
        using var stop = new CancellationTokenSource();
        var running = worker.RunAsync(stop.Token);

        await WaitFor(async () => await EventsIn(aggregates.Sink) == lines.Count, TimeSpan.FromSeconds(60), "every event in ClickHouse");
        await stop.CancelAsync();
        await running;

        Assert.Equal(lines.Count, worker.Counters.Accepted);
        Assert.Equal("721800", (await aggregates.Sink.QueryAsync("SELECT sum(amount_cny) FROM payments_daily", default)).Single().Single());
        Assert.Equal("721800", (await aggregates.Sink.QueryAsync("SELECT sum(amount_cny) FROM corridor_hourly", default)).Single().Single());
        var days = await aggregates.Sink.QueryAsync("SELECT day, sum(events) FROM payments_daily GROUP BY day ORDER BY day", default);
        Assert.Equal(Enumerable.Range(0, 5).Select(d => $"{start.AddDays(d):yyyy-MM-dd} 1440"), days.Select(r => string.Join(' ', r)));
    }

    [Fact]
    public async Task Run_SinkThatCannotBeUsed_StillStopsTheStart()
    {
        var file = Path.Combine(_dir, "notes.duckdb");
        await File.WriteAllTextAsync(file, "not a database");
        var service = new AggregateService(Options.Create(new KafkaOptions()), Options.Create(new AggregateOptions { DuckDb = file }), new FeedCounters(),
            NullLogger<AggregateFeed>.Instance);

        var error = await Assert.ThrowsAsync<AggregateSinkException>(() => service.StartAsync(CancellationToken.None));

        Assert.False(error.Transient);
    }

    private static void Produce(KafkaOptions kafka, IEnumerable<FlowWatch.Simulator.SyntheticEvent> payments)
    {
        using var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers }).Build();
        foreach (var payment in payments) producer.Produce(kafka.PaymentsTopic, new Message<string, byte[]> { Key = payment.Account, Value = payment.Line });
        Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
    }

    private static async Task<long> EventsIn(IAggregateSink sink)
    {
        try
        {
            return await Count(sink, "SELECT sum(events) FROM payments_minute");
        }
        catch (Exception ex) when (sink.IsTransient(ex))
        {
            return -1;
        }
    }

    private static async Task<long> Count(IAggregateSink sink, string sql)
    {
        var value = (await sink.QueryAsync(sql, default)).Single().Single();
        return value == "\\N" ? 0 : long.Parse(value, CultureInfo.InvariantCulture);
    }

    private static async Task WaitFor(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            if (deadline.Elapsed > timeout) throw new TimeoutException($"waited {timeout.TotalSeconds} s for {what}");
            await Task.Delay(200);
        }
    }
}
