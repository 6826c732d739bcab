using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Confluent.Kafka;
using FlowWatch.Core.Engine;
using FlowWatch.Core.Reference;
using FlowWatch.Simulator;
using FlowWatch.Worker.Aggregates;
using FlowWatch.Worker.Cli;
using FlowWatch.Worker.Configuration;
using FlowWatch.Worker.Dashboard;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FlowWatch.Worker.Kafka;

/// <summary>
/// <c>flowwatch bench</c>: the end-to-end harness, producer → broker → worker → alerts topic, all on this machine.
/// Phase 1 produces a fixed number of payments as fast as possible and reports the sustained rate at which the
/// worker processed them (transactions, saved state and alerts included) after its first two seconds, and the rate
/// from its start beside it. Phase 2 produces at a fixed rate, first for
/// two seconds of warm-up that are not counted, and reports event-to-alert latency from the event's time (set to the
/// wall clock when it is produced) twice: to the alert's arrival at a read_committed consumer, and to the return of
/// the commit of the alert's transaction. The embedded broker hands a read_committed consumer records of transactions
/// still open, so on it an alert arrives before its commit; on a Kafka broker it cannot arrive before. With
/// <c>--dashboard</c>, both phases run with the dashboard served and a client on it as an open page would be: the live
/// stream followed, the stats read every second, an entity view and a metrics scrape every five seconds.
/// </summary>
public static class BenchCommand
{
    public const string Usage = "flowwatch bench [--events N] [--entities E] [--seconds S] [--rate R] [--checkpoint-ms M] [--dashboard] [--json] | bench (--clickhouse C | --duckdb F | --aggregates G) [--events N]";

    private const int MaxLead = 20_000;

    /// <summary>
    /// Seconds of each phase's load before it is measured: a worker's first transactions after its start take a few
    /// hundred milliseconds, and its code runs unoptimized at first, which is not its steady state.
    /// </summary>
    private const int WarmUpSeconds = 2;

    /// <summary>The txnId prefix of the warm-up's payments, whose alerts are not counted.</summary>
    private const string WarmUpPrefix = "W";
    private const int Partitions = 3;

    public static async Task<int> RunAsync(Arguments args, TextWriter stdout)
    {
        var events = args.WholeNumber("--events", 1_000_000, 1_000, 20_000_000);
        var (clickHouse, duckDb) = args.AggregateSink();
        if (clickHouse is not null || duckDb is not null)
        {
            // The sink alone takes --events only: the harness's options (--json among them) would be passed over.
            args.EnsureAllRead();
            // Validated as replay's are: one sink, a well-formed connection string.
            var options = FlowWatchConfiguration.Aggregates(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build(), clickHouse, duckDb);
            stdout.WriteLine(await SinkBench.RunAsync(options, events, stdout));
            return CommandLine.Success;
        }
        var entities = args.WholeNumber("--entities", 10_000, 1, 1_000_000);
        var seconds = args.WholeNumber("--seconds", 20, 1, 3_600);
        var rate = args.WholeNumber("--rate", 20_000, 100, 1_000_000);
        var checkpoint = TimeSpan.FromMilliseconds(args.WholeNumber("--checkpoint-ms", (int)new KafkaOptions().CheckpointInterval.TotalMilliseconds, 1, 600_000));
        var json = args.Switch("--json");
        var dashboard = args.Switch("--dashboard");
        args.EnsureAllRead();
        var progress = json ? TextWriter.Null : stdout;

        var traffic = new SyntheticPayments(entities, seed: 21);
        var reference = ReferenceDataLoader.Parse(System.Text.Encoding.UTF8.GetBytes(traffic.ReferenceJson()));
        var streamed = new StreamedCount();
        // The worker's and the Kafka clients' warnings and errors go to stderr, as replay's do, away from the figures.
        using var logging = CommandLogging.Create();
        var log = logging.CreateLogger(typeof(BenchCommand).FullName!);
        var throughput = await MeasureThroughput(traffic, reference, events, checkpoint, dashboard ? streamed : null, progress, log);
        var sustained = throughput.Sustained ?? throughput.WholeRun;
        var (latency, committed, cores, collections) = await MeasureLatency(traffic, reference, rate, seconds, LatencyWarmUpSeconds(entities, rate), checkpoint,
            dashboard ? streamed : null, progress, log);

        // The JSON's sustained figures are null when there was no sustained phase, never the from-start ones.
        var result = new BenchResult(events, entities, throughput.Sustained?.EventsPerSecond, rate, seconds, latency.Percentile(0.50), latency.Percentile(0.99),
            latency.Percentile(0.999), latency.Count, Environment.ProcessorCount, dashboard, streamed.Value, throughput.Sustained?.CpuMicrosecondsPerEvent, cores,
            committed.Percentile(0.50), committed.Percentile(0.99), committed.Percentile(0.999),
            throughput.WarmUpEvents, throughput.WholeRun.EventsPerSecond, throughput.WholeRun.CpuMicrosecondsPerEvent,
            collections.Count, collections.Gen1, collections.Gen2, collections.Paused.TotalMilliseconds, collections.Allocated);
        if (json)
        {
            stdout.WriteLine(JsonSerializer.Serialize(result, BenchJsonContext.Default.BenchResult));
        }
        else
        {
            var inv = CultureInfo.InvariantCulture;
            stdout.WriteLine(string.Create(inv, $"| phase | figure |"));
            stdout.WriteLine("|---|---|");
            var counted = throughput.Sustained is null
                ? $"all read within the {WarmUpSeconds} s warm-up, so counted from the start"
                : $"after {throughput.WarmUpEvents:N0} read in the first {WarmUpSeconds} s";
            stdout.WriteLine(string.Create(inv, $"| sustained throughput ({events:N0} payments of {entities:N0} entities, as fast as possible; {counted}) | {sustained.EventsPerSecond:N0} events/s, {sustained.CpuMicrosecondsPerEvent:0.0} µs CPU per event |"));
            stdout.WriteLine(string.Create(inv, $"| the same payments from the worker's start | {throughput.WholeRun.EventsPerSecond:N0} events/s, {throughput.WholeRun.CpuMicrosecondsPerEvent:0.0} µs CPU per event |"));
            stdout.WriteLine(string.Create(inv, $"| event-to-alert latency at {rate:N0} events/s for {seconds} s, {latency.Count:N0} alerts, to arrival | p50 {result.P50Ms:0.0} ms, p99 {result.P99Ms:0.0} ms, p999 {result.P999Ms:0.0} ms; {cores:0.00} cores busy |"));
            stdout.WriteLine(string.Create(inv, $"| the same alerts, to their transaction's commit | p50 {result.P50CommittedMs:0.0} ms, p99 {result.P99CommittedMs:0.0} ms, p999 {result.P999CommittedMs:0.0} ms |"));
            stdout.WriteLine(string.Create(inv, $"| garbage collections in those {seconds} s (the whole process: producer, broker and worker) | {collections.Count:N0} ({collections.Gen1:N0} of generation 1, {collections.Gen2:N0} of generation 2), paused {collections.Paused.TotalMilliseconds:N0} ms in all, {collections.MeanPauseMs:0.0} ms on average; {collections.Allocated / (double)(rate * seconds):N0} bytes allocated per payment |"));
            if (dashboard) stdout.WriteLine(string.Create(inv, $"| dashboard served, one client following it | {streamed.Value:N0} alerts streamed |"));
        }
        return CommandLine.Success;
    }

    private static async Task<ThroughputFigures> MeasureThroughput(SyntheticPayments traffic, ReferenceData reference, int events,
        TimeSpan checkpoint, StreamedCount? dashboard, TextWriter progress, ILogger log)
    {
        progress.WriteLine($"generating {events:N0} payments...");
        var payments = traffic.KeyedEvents(events, new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.FromHours(8)), TimeSpan.FromMilliseconds(20), "T");
        using var broker = StartBroker(checkpoint, out var options);
        await using var run = await BenchWorker.StartAsync(options, reference, dashboard, log);
        var worker = run.Worker;

        progress.WriteLine("phase 1: producing as fast as possible...");
        var cpu = CpuTime();
        var stopwatch = Stopwatch.StartNew();
        var producing = Task.Run(() =>
        {
            using var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig
            {
                BootstrapServers = options.BootstrapServers, LingerMs = 10, BatchSize = 1_000_000, QueueBufferingMaxMessages = 1_000_000,
            }).LogTo(log, "bench producer").Build();
            long produced = 0;
            foreach (var payment in payments)
            {
                // The embedded broker keeps only a few megabytes per partition: stay within a bounded lead of the
                // worker, so that nothing is trimmed before it is read. The rate measured is the worker's.
                if (++produced % 1_000 == 0)
                {
                    while (produced - worker.RecordsRead > MaxLead) Thread.Sleep(1);
                }
                producer.ProduceWhenQueued(options.PaymentsTopic, new Message<string, byte[]> { Key = payment.Account, Value = payment.Line });
            }
            producer.Flush(TimeSpan.FromMinutes(5));
        });
        // The first seconds are the worker's start (joining the group, code compiled from its first tier to its
        // optimized one), not its sustained rate: the rate counts the payments read after them.
        var warmUp = new ThroughputMark(0, TimeSpan.Zero, cpu);
        while (worker.RecordsRead < events)
        {
            await Task.Delay(10);
            if (warmUp.Read == 0 && stopwatch.Elapsed >= TimeSpan.FromSeconds(WarmUpSeconds)) warmUp = new ThroughputMark(worker.RecordsRead, stopwatch.Elapsed, CpuTime());
        }
        stopwatch.Stop();
        var end = new ThroughputMark(events, stopwatch.Elapsed, CpuTime());
        await producing;
        return new ThroughputFigures(
            // No sustained phase when every payment was read within the warm-up, the moment it ended included.
            Sustained: warmUp.Read is 0 || warmUp.Read >= events ? null : end.RateSince(warmUp),
            WholeRun: end.RateSince(new ThroughputMark(0, TimeSpan.Zero, cpu)),
            WarmUpEvents: warmUp.Read);
    }

    /// <summary>Payments the worker had read at a moment of phase 1, with the wall and processor time then.</summary>
    private readonly record struct ThroughputMark(long Read, TimeSpan Wall, TimeSpan Cpu)
    {
        public Rate RateSince(ThroughputMark start) =>
            new((Read - start.Read) / (Wall - start.Wall).TotalSeconds, (Cpu - start.Cpu).TotalMicroseconds / (Read - start.Read));
    }

    /// <summary>Events/s, and processor time of the whole process (producer, broker, worker, dashboard) per event.</summary>
    private readonly record struct Rate(double EventsPerSecond, double CpuMicrosecondsPerEvent);

    /// <summary>
    /// Phase 1's rates: sustained (after the warm-up; none when every payment was read within it) and over the whole
    /// run from the worker's start.
    /// </summary>
    private readonly record struct ThroughputFigures(Rate? Sustained, Rate WholeRun, long WarmUpEvents);

    /// <summary>
    /// The latency phase's warm-up: <see cref="WarmUpSeconds"/>, or long enough for about two payments per entity when
    /// there are many, so that the measured payments meet entities the worker already holds, as a running worker does,
    /// rather than a heap growing with every first payment (at most two minutes).
    /// </summary>
    private static int LatencyWarmUpSeconds(int entities, int rate) => Math.Clamp((int)Math.Ceiling(2.0 * entities / rate), WarmUpSeconds, 120);

    /// <summary>
    /// Latencies to arrival and to commit, and the cores the whole process kept busy while payments flowed at the
    /// fixed rate.
    /// </summary>
    private static async Task<(LatencyHistogram Arrived, LatencyHistogram Committed, double Cores, Collections Collections)> MeasureLatency(SyntheticPayments traffic,
        ReferenceData reference, int rate, int seconds, int warmUpSeconds, TimeSpan checkpoint, StreamedCount? dashboard, TextWriter progress, ILogger log)
    {
        using var broker = StartBroker(checkpoint, out var options);
        var commits = new CommitTimes();
        await using var run = await BenchWorker.StartAsync(options, reference, dashboard, log, commits.Record);
        var latencies = new LatencyHistogram();
        using var stopReading = new CancellationTokenSource();
        var readerReady = new TaskCompletionSource();
        var reading = Task.Factory.StartNew(() => ReadAlerts(options, latencies, readerReady, log, stopReading.Token), TaskCreationOptions.LongRunning);
        await readerReady.Task.WaitAsync(TimeSpan.FromSeconds(30));

        progress.WriteLine($"phase 2: {rate:N0} payments/s, {warmUpSeconds} s of warm-up, then {seconds} s measured...");
        double cores;
        Collections collections;
        using (var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = options.BootstrapServers, LingerMs = 1 }).LogTo(log, "bench producer").Build())
        {
            const int TicksPerSecond = 100;
            var perTick = Math.Max(1, rate / TicksPerSecond);
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1.0 / TicksPerSecond));
            long sent = 0;
            async Task ProduceFor(int duration, string txnPrefix)
            {
                var deadline = DateTime.UtcNow.AddSeconds(duration);
                while (DateTime.UtcNow < deadline && await timer.WaitForNextTickAsync())
                {
                    // Event time is the wall clock at production, so an alert's lag behind its ts is the latency.
                    foreach (var payment in traffic.KeyedEvents(perTick, DateTimeOffset.UtcNow.ToOffset(TimeSpan.FromHours(8)), TimeSpan.Zero, $"{txnPrefix}{sent:D10}-"))
                    {
                        producer.Produce(options.PaymentsTopic, new Message<string, byte[]> { Key = payment.Account, Value = payment.Line });
                    }
                    sent += perTick;
                }
            }
            await ProduceFor(warmUpSeconds, WarmUpPrefix);
            var cpu = CpuTime();
            var wall = Stopwatch.StartNew();
            var collectionsBefore = Collections.SoFar();
            await ProduceFor(seconds, "L");
            cores = (CpuTime() - cpu) / wall.Elapsed;
            collections = Collections.SoFar() - collectionsBefore;
            producer.Flush(TimeSpan.FromSeconds(30));
        }
        await Task.Delay(2_000);   // the last commits
        await stopReading.CancelAsync();
        await reading;
        return (latencies, commits.Latencies(), cores, collections);
    }

    /// <summary>
    /// The process's garbage collections (a collection of generation 1 or 2 counts in the lower generations too) and
    /// the time they paused it: whether pauses can set the latency's tail.
    /// </summary>
    private readonly record struct Collections(int Count, int Gen1, int Gen2, TimeSpan Paused, long Allocated)
    {
        public double MeanPauseMs => Count == 0 ? 0 : Paused.TotalMilliseconds / Count;

        public static Collections SoFar() =>
            new(GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration(), GC.GetTotalAllocatedBytes());

        public static Collections operator -(Collections after, Collections before) =>
            new(after.Count - before.Count, after.Gen1 - before.Gen1, after.Gen2 - before.Gen2, after.Paused - before.Paused, after.Allocated - before.Allocated);
    }

    private static TimeSpan CpuTime()
    {
        using var process = Process.GetCurrentProcess();
        return process.TotalProcessorTime;
    }

    /// <summary>Reads every alerts partition by assignment (no group to join, so no start-up delay in the figures).</summary>
    private static void ReadAlerts(KafkaOptions options, LatencyHistogram latencies, TaskCompletionSource ready, ILogger log, CancellationToken stop)
    {
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(new ConsumerConfig
        {
            BootstrapServers = options.BootstrapServers,
            GroupId = "bench-alerts",
            IsolationLevel = IsolationLevel.ReadCommitted,
            FetchWaitMaxMs = 5,
        }).LogTo(log, "bench alert reader").Build();
        consumer.Assign(Enumerable.Range(0, Partitions).Select(p => new TopicPartitionOffset(options.AlertsTopic, new Partition(p), Offset.Beginning)));
        consumer.Consume(TimeSpan.FromMilliseconds(100));
        ready.TrySetResult();
        while (!stop.IsCancellationRequested)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(50)) is not { Message.Value: { } value }) continue;
            var arrived = DateTimeOffset.UtcNow;
            if (MeasuredEventTime(value) is { } ts) latencies.Add((arrived - ts).TotalMilliseconds);
        }
        consumer.Close();
    }

    /// <summary>The time of the event an alert is about, or null for an alert of the warm-up.</summary>
    private static DateTimeOffset? MeasuredEventTime(byte[] alertJson)
    {
        using var alert = JsonDocument.Parse(alertJson);
        if (alert.RootElement.GetProperty("txnId").GetString()!.StartsWith(WarmUpPrefix, StringComparison.Ordinal)) return null;
        return alert.RootElement.GetProperty("ts").GetDateTimeOffset();
    }

    private static EmbeddedBroker StartBroker(TimeSpan checkpoint, out KafkaOptions options)
    {
        var broker = EmbeddedBroker.Start(brokers: 1);
        options = new KafkaOptions { BootstrapServers = broker.BootstrapServers, ReferenceFile = "(generated)", GroupId = "bench", CheckpointInterval = checkpoint };
        broker.CreateFlowWatchTopics(options, Partitions);
        return broker;
    }

    /// <summary>A worker running until disposed; with a dashboard, served and followed by a client.</summary>
    private sealed class BenchWorker : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private Task _running = Task.CompletedTask;
        private Task _client = Task.CompletedTask;
        private WebApplication? _dashboard;

        public StreamingWorker Worker { get; private set; } = null!;

        public static async Task<BenchWorker> StartAsync(KafkaOptions options, ReferenceData reference, StreamedCount? dashboard, ILogger log,
            Action<IReadOnlyList<PublishedAlert>>? onCommitted = null)
        {
            var run = new BenchWorker();
            if (dashboard is null)
            {
                run.Worker = new StreamingWorker(options, new RuleSettings(), reference, TimeProvider.System, logger: log, onCommitted: onCommitted);
            }
            else
            {
                // Dashboard settings as configured (FLOWWATCH_ variables too), on a free port.
                var configuration = new ConfigurationBuilder().AddConfiguration(FlowWatchConfiguration.Build(configFile: null)).AddInMemoryCollection(
                    [new($"{DashboardOptions.SectionName}:{nameof(DashboardOptions.Urls)}", "http://127.0.0.1:0")]).Build();
                run._dashboard = await DashboardHosting.StartStandaloneAsync(configuration, services =>
                {
                    var toFeed = services.CommittedAlerts();
                    return new StreamingWorker(options, new RuleSettings(), reference, TimeProvider.System, logger: log, onCommitted: alerts =>
                    {
                        toFeed?.Invoke(alerts);
                        onCommitted?.Invoke(alerts);
                    });
                });
                run.Worker = run._dashboard.Services.GetRequiredService<StreamingWorker>();
            }
            run._running = run.Worker.RunAsync(run._stop.Token);
            await run.Worker.Ready.WaitAsync(TimeSpan.FromSeconds(60));
            if (run._dashboard is not null) run._client = await FollowDashboard(new Uri(run._dashboard.PageUrl()), dashboard!, run._stop.Token);
            return run;
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _running;
            await _client;
            if (_dashboard is not null)
            {
                await _dashboard.StopAsync();
                await _dashboard.DisposeAsync();
            }
            _stop.Dispose();
        }

        /// <summary>
        /// What an open page asks of the dashboard: the live stream, stats each second, an entity and metrics every
        /// five. Opened before the measurement starts (stream connected, each request answered once), as a page
        /// that was open before the load came; answers the task that follows the dashboard until stopped.
        /// </summary>
        private static async Task<Task> FollowDashboard(Uri page, StreamedCount streamed, CancellationToken stop)
        {
            var http = new HttpClient { BaseAddress = page, Timeout = Timeout.InfiniteTimeSpan };
            var stream = await http.GetAsync("api/alerts/stream", HttpCompletionOption.ResponseHeadersRead, stop);
            await Ask(http, tick: 0, stop);
            return Follow(http, stream, streamed, stop);
        }

        private static async Task Follow(HttpClient http, HttpResponseMessage stream, StreamedCount streamed, CancellationToken stop)
        {
            using (http)
            using (stream)
            {
                var reading = Read(stream, streamed, stop);
                using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
                try
                {
                    for (var tick = 1; await timer.WaitForNextTickAsync(stop); tick++) await Ask(http, tick, stop);
                }
                catch (OperationCanceledException)
                {
                    // the phase is over
                }
                await reading;
            }
        }

        private static async Task Ask(HttpClient http, int tick, CancellationToken stop)
        {
            await http.GetStringAsync("api/stats", stop);
            if (tick % 5 != 0) return;
            await http.GetStringAsync("metrics", stop);
            using var entity = await http.GetAsync("api/entities/E000001", stop);
        }

        /// <summary>Counts events by scanning the bytes, so the client adds no garbage to the process it measures.</summary>
        private static async Task Read(HttpResponseMessage stream, StreamedCount streamed, CancellationToken stop)
        {
            try
            {
                await using var body = await stream.Content.ReadAsStreamAsync(stop);
                var buffer = new byte[64 * 1024];
                var previous = (byte)0;
                int read;
                while ((read = await body.ReadAsync(buffer, stop)) > 0)
                {
                    // Each event has one "data:" line; its "\n" + "d" pair marks it.
                    for (var i = 0; i < read; i++)
                    {
                        if (buffer[i] == (byte)'d' && previous == (byte)'\n') streamed.Increment();
                        previous = buffer[i];
                    }
                }
            }
            catch (OperationCanceledException)
            {
                // the phase is over
            }
        }
    }

    /// <summary>
    /// When each commit handed over its alerts. The worker's thread only notes the time; the alerts are read after
    /// the phase, so that measuring adds no work to the commit it measures.
    /// </summary>
    private sealed class CommitTimes
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<(DateTimeOffset At, IReadOnlyList<PublishedAlert> Alerts)> _commits = new();

        public void Record(IReadOnlyList<PublishedAlert> alerts) => _commits.Enqueue((DateTimeOffset.UtcNow, alerts));

        public LatencyHistogram Latencies()
        {
            var latencies = new LatencyHistogram();
            foreach (var (at, alerts) in _commits)
            {
                foreach (var alert in alerts)
                {
                    if (MeasuredEventTime(alert.Json) is { } ts) latencies.Add((at - ts).TotalMilliseconds);
                }
            }
            return latencies;
        }
    }

    private sealed class StreamedCount
    {
        private long _value;

        public long Value => Interlocked.Read(ref _value);

        public void Increment() => Interlocked.Increment(ref _value);
    }

    private sealed class LatencyHistogram
    {
        private readonly List<double> _samples = [];

        public int Count
        {
            get
            {
                lock (_samples) return _samples.Count;
            }
        }

        public void Add(double milliseconds)
        {
            lock (_samples) _samples.Add(milliseconds);
        }

        public double Percentile(double p)
        {
            lock (_samples)
            {
                if (_samples.Count == 0) return double.NaN;
                _samples.Sort();
                return _samples[Math.Min(_samples.Count - 1, (int)Math.Ceiling(p * _samples.Count) - 1)];
            }
        }
    }
}

/// <summary>
/// bench's figures (<c>--json</c>). <see cref="EventsPerSecond"/> and <see cref="CpuMicrosecondsPerEvent"/> are phase 1's
/// sustained figures, after the warm-up; null when every payment was read within it (<see cref="WarmUpEvents"/> 0).
/// The collections, their pauses and the bytes allocated are those of the whole process during the latency phase.
/// </summary>
public sealed record BenchResult(
    int Events, int Entities, double? EventsPerSecond, int Rate, int Seconds, double P50Ms, double P99Ms, double P999Ms, int Alerts, int Cores,
    bool Dashboard, long StreamedAlerts, double? CpuMicrosecondsPerEvent, double CoresAtRate,
    double P50CommittedMs, double P99CommittedMs, double P999CommittedMs, long WarmUpEvents, double EventsPerSecondFromStart,
    double CpuMicrosecondsPerEventFromStart, int Collections, int Gen1Collections, int Gen2Collections, double GcPausedMs,
    long AllocatedBytes);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(BenchResult))]
internal sealed partial class BenchJsonContext : JsonSerializerContext;
