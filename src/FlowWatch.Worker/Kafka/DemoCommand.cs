using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Reference;
using FlowWatch.Simulator;
using FlowWatch.Worker.Aggregates;
using FlowWatch.Worker.Cli;
using FlowWatch.Worker.Configuration;
using FlowWatch.Worker.Dashboard;
using FlowWatch.Worker.Models;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FlowWatch.Worker.Kafka;

/// <summary>
/// <c>flowwatch demo</c>: everything on one machine. An embedded Kafka-protocol broker, the labelled simulator's
/// payments (ordinary traffic with injected episodes of every typology), the streaming worker scoring them with the
/// committed models, the alerts printed as they come, the dashboard served and the aggregates written to DuckDB;
/// a summary at the end.
/// </summary>
public static class DemoCommand
{
    public const string Usage =
        "flowwatch demo [--seconds N] [--rate EVENTS_PER_SECOND] [--seed S] [--duckdb FILE | --clickhouse CONNECTION | --aggregates G] [--urls U] [--config C] [--models DIR]";

    /// <summary>Where the demo's aggregates go unless told otherwise.</summary>
    public const string DefaultDuckDbFile = "flowwatch-demo.duckdb";

    private const int Entities = 300;

    private const int MaxPrintedPerSecond = 15;

    /// <summary>The fewest days the demo simulates (the simulator's default).</summary>
    private const int MinDays = 14;

    /// <summary>
    /// The most days a demo of a given length simulates: 300 entities make some 95,000 payments in them, more than 45 s
    /// at the default rate; a longer run goes on into the days after today.
    /// </summary>
    private const int MaxDays = 130;

    /// <summary>
    /// Payments a simulated entity makes a day, on average over its weeks, a little under what the simulator's 300
    /// entities make (2.45–2.7, by seed), so that a demo's days are not used up before it ends and it stays in the past.
    /// </summary>
    private const double PaymentsPerEntityDay = 2.3;

    public static async Task<int> RunAsync(Arguments args, TextWriter stdout)
    {
        // Left out, it runs until stopped; 0 is refused, not taken as "for ever", which a script meaning "at once" would not expect.
        var seconds = args.WholeNumber("--seconds", 0, 1, 86_400);
        var rate = args.WholeNumber("--rate", 2_000, 1, 1_000_000);
        var (clickHouse, duckDb) = args.AggregateSink();
        if (clickHouse is null) duckDb ??= DefaultDuckDbFile;
        var seed = args.WholeNumber("--seed", 1, 0, int.MaxValue);
        var configuration = FlowWatchConfiguration.Build(args.Optional("--config"));
        var modelsDirectory = args.Optional("--models") ?? configuration[ModelWatcher.DirectoryKey];
        var urls = args.Optional("--urls");
        args.EnsureAllRead();
        if (urls is not null) configuration = Override(configuration, $"{DashboardOptions.SectionName}:{nameof(DashboardOptions.Urls)}", urls);
        var rules = FlowWatchSections.Rules.Read(configuration);
        // After the first stretch of simulated days, the next ones run on past today, published by today's clock.
        rules.FutureEventBound = TimeSpan.MaxValue;
        var aggregateOptions = FlowWatchConfiguration.Aggregates(configuration, clickHouse, duckDb);
        _ = FlowWatchSections.Dashboard.Read(configuration);   // checked before the broker starts, as the other settings are

        var simulationOptions = SimulationOptionsFor(seconds, rate, seed, DateTimeOffset.UtcNow);
        var simulation = LabelledSimulation.Generate(simulationOptions);
        var reference = ReferenceDataLoader.Parse(simulation.ReferenceBytes());
        using var logging = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true));
        using var models = ModelWatcher.Start(modelsDirectory, logging.CreateLogger<ModelWatcher>(), watch: true);
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var options = new KafkaOptions { BootstrapServers = broker.BootstrapServers, ReferenceFile = "(generated)" };
        broker.CreateFlowWatchTopics(options, partitions: 3);
        stdout.WriteLine($"flowwatch demo: embedded broker at {broker.BootstrapServers}, {rate:N0} payments/s" +
                         (seconds > 0 ? $" for {seconds} s" : " until Ctrl-C"));

        if (duckDb == DefaultDuckDbFile && File.Exists(DefaultDuckDbFile))
        {
            // The demo's own file holds the previous demo's rows, whose transaction ids this run reuses.
            File.Delete(DefaultDuckDbFile);
            File.Delete(DefaultDuckDbFile + ".wal");
            stdout.WriteLine($"replaced the previous demo's {DefaultDuckDbFile}");
        }
        var feedCounters = new FeedCounters();
        await using var aggregates = await AggregatePipeline.StartAsync(options, aggregateOptions, logging.CreateLogger<AggregateFeed>(), feedCounters);
        await RefuseRowsAlreadyThere(aggregates!.Sink);
        stdout.WriteLine($"aggregates go to {aggregates.Sink.Description}");
        var printer = new AlertPrinter(stdout, reference.Accounts);
        // Without --urls, a taken default port gives way to a free one: the URL printed is the one to open.
        // Alerts are printed once committed, as the alerts topic's readers and the dashboard see them.
        await using var dashboard = await DashboardHosting.StartStandaloneAsync(configuration, services =>
        {
            var toDashboard = services.CommittedAlerts();
            return new StreamingWorker(options, rules, reference, TimeProvider.System, models: models.Models, onCommitted: alerts =>
            {
                toDashboard?.Invoke(alerts);
                printer.Print(alerts);
            });
        }, anyFreePort: urls is null, feed: feedCounters);
        var worker = dashboard.Services.GetRequiredService<StreamingWorker>();
        stdout.WriteLine($"flowwatch demo: dashboard at {dashboard.PageUrl()}");
        using var shutdown = new ShutdownSignal();
        using var stopWorker = new CancellationTokenSource();
        var running = worker.RunAsync(stopWorker.Token);
        await worker.Ready.WaitAsync(TimeSpan.FromSeconds(30));

        var stopwatch = Stopwatch.StartNew();
        using var stopTraffic = CancellationTokenSource.CreateLinkedTokenSource(shutdown.Token);
        if (seconds > 0) stopTraffic.CancelAfter(TimeSpan.FromSeconds(seconds));
        var produced = await Produce(round => round == 0 ? simulation.Payments : NextDays(simulationOptions, round), options, rate,
            logging.CreateLogger(typeof(DemoCommand).FullName!), stopTraffic.Token);

        // Let the worker catch up with what was produced, for as long as it keeps reading (a busy machine slows it), then
        // stop it.
        var (lastRead, lastProgress) = (-1L, DateTime.UtcNow);
        while (worker.RecordsRead < produced && DateTime.UtcNow - lastProgress < TimeSpan.FromSeconds(15))
        {
            if (worker.RecordsRead != lastRead) (lastRead, lastProgress) = (worker.RecordsRead, DateTime.UtcNow);
            await Task.Delay(50);
        }
        stopWorker.Cancel();
        await running;
        await aggregates.WaitUntilWrittenAsync(stalledFor: TimeSpan.FromSeconds(15));
        await dashboard.StopAsync();
        stopwatch.Stop();
        printer.Finish();

        stdout.WriteLine();
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"produced {produced:N0} payments"));
        Summary.Print(stdout, "demo", worker.Counters, stopwatch.Elapsed);
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  aggregates       {aggregates.Writer.RowsWritten,12:N0} rows written to {aggregates.Sink.Description}"));
        stdout.WriteLine();
        stdout.WriteLine("query the aggregates (docs/ANALYST-GUIDE.md has more), e.g. alerts per rule and severity:");
        stdout.WriteLine("  " + DemoQuery);
        if (duckDb is not null) stdout.WriteLine($"  with the DuckDB CLI: duckdb {duckDb} \"{DemoQuery}\"");
        return CommandLine.Success;
    }

    /// <summary>
    /// The simulation behind a demo of <paramref name="seconds"/> (0: until stopped) at <paramref name="rate"/> payments
    /// a second: enough simulated days for the run (at <see cref="PaymentsPerEntityDay"/>), at most
    /// <see cref="MaxDays"/>, episodes from the fourth day, ending yesterday. At least <see cref="MinDays"/>, whatever the
    /// run's length: with fewer, some seeds leave too few of the 300 entities with the history that bursts and outsized
    /// amounts need, and the simulator refuses them.
    /// </summary>
    internal static SimulationOptions SimulationOptionsFor(int seconds, int rate, int seed, DateTimeOffset now)
    {
        var days = seconds == 0 ? 60 : Math.Clamp((int)Math.Ceiling(seconds * (double)rate / (Entities * PaymentsPerEntityDay)) + 1, MinDays, MaxDays);
        return new SimulationOptions
        {
            // Breaches too, so that every rule of RULES.md §2 shows, where the models' training traffic keeps them.
            Entities = Entities, Days = days, Seed = seed, EpisodeRate = 0.03, BreachRate = 0.002, TxnPrefix = "D",
            Start = SimulationStart(now, days),
        };
    }

    /// <summary>
    /// Midnight in Shanghai <paramref name="days"/> days before today's (in Shanghai, at <paramref name="now"/>): the
    /// simulator's days are Shanghai days, so that its office hours fall in Shanghai's.
    /// </summary>
    internal static DateTimeOffset SimulationStart(DateTimeOffset now, int days)
    {
        var shanghai = TimeSpan.FromHours(8);
        return new DateTimeOffset(now.ToOffset(shanghai).Date.AddDays(-days), shanghai);
    }

    /// <summary>
    /// A sink the demo did not make for itself that holds rows already (an earlier demo's, of the same transaction ids)
    /// would show the two runs' payments and alerts mixed: refused, with the remedy.
    /// </summary>
    private static async Task RefuseRowsAlreadyThere(IAggregateSink sink)
    {
        foreach (var table in new[] { "payments_minute", "alerts" })
        {
            var rows = (await sink.QueryAsync($"SELECT count(*) FROM {table}", CancellationToken.None)).Single().Single();
            if (rows != "0")
            {
                throw new UsageException($"{sink.Description} holds {rows} rows of {table} already (an earlier run's): the demo's would be mixed with them; name another file or database, or empty it");
            }
        }
    }

    private const string DemoQuery = "SELECT rule, severity, count(*) AS alerts FROM alerts GROUP BY rule, severity ORDER BY alerts DESC";

    private static IConfiguration Override(IConfiguration configuration, string key, string value) =>
        new ConfigurationBuilder().AddConfiguration(configuration).AddInMemoryCollection([new(key, value)]).Build();

    /// <summary>
    /// The payments of the <paramref name="round"/>-th stretch of days after the first: the same entities (the seed
    /// draws them before any day), their days following on, their transaction ids new, episodes from the first day.
    /// </summary>
    internal static IReadOnlyList<SimulatedPayment> NextDays(SimulationOptions first, int round) =>
        LabelledSimulation.Generate(first with
        {
            Start = first.Start.AddDays((double)round * first.Days),
            TxnPrefix = string.Create(CultureInfo.InvariantCulture, $"{first.TxnPrefix}{round}."),
            WarmupDays = 0,
        }).Payments;

    /// <summary>
    /// Produces the simulated payments in event-time order at a steady rate, round after round of simulated days (the
    /// next one built while the current one is produced), until time is up; answers how many the broker took.
    /// </summary>
    private static async Task<long> Produce(Func<int, IReadOnlyList<SimulatedPayment>> rounds, KafkaOptions options, int rate, ILogger log,
        CancellationToken stop)
    {
        using var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = options.BootstrapServers, LingerMs = 5 })
            .LogTo(log, "demo producer").Build();
        long produced = 0, delivered = 0;
        void Delivered(DeliveryReport<string, byte[]> report)
        {
            if (!report.Error.IsError) Interlocked.Increment(ref delivered);
        }
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        var clock = Stopwatch.StartNew();
        try
        {
            var payments = rounds(0);
            var next = Task.Run(() => rounds(1), stop);
            var round = 0;
            var inRound = 0;
            while (await timer.WaitForNextTickAsync(stop))
            {
                // As many as are due by now: a tick that came late (a busy machine) does not lower the rate.
                for (var due = (long)(clock.Elapsed.TotalSeconds * rate); produced < due; inRound++, produced++)
                {
                    if (inRound == payments.Count)
                    {
                        payments = await next;
                        round++;
                        inRound = 0;
                        var following = round + 1;
                        next = Task.Run(() => rounds(following), stop);
                    }
                    // Keyed by account, so each entity's payments stay in order in one partition.
                    var payment = payments[inRound];
                    producer.ProduceWhenQueued(options.PaymentsTopic, new Message<string, byte[]> { Key = payment.Account, Value = payment.Line }, Delivered);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // the demo's time is up, or Ctrl-C
        }
        // Every queued payment delivered, however long a busy machine takes, as long as deliveries keep coming: the
        // worker is then waited for until it has read exactly these.
        for (var before = -1L; producer.Flush(TimeSpan.FromSeconds(5)) > 0 && Interlocked.Read(ref delivered) != before;)
        {
            before = Interlocked.Read(ref delivered);
        }
        return Interlocked.Read(ref delivered);
    }

    /// <summary>Prints committed alerts as they come, at most a few a second so the terminal stays readable, account numbers masked.</summary>
    private sealed class AlertPrinter(TextWriter output, IReadOnlyDictionary<string, AccountInfo> accounts)
    {
        private readonly Lock _gate = new();
        private long _second;
        private int _printed;
        private int _skipped;

        /// <summary>Says the alerts of the last second left out, so that the lines printed add up to the summary's count.</summary>
        public void Finish()
        {
            lock (_gate) SaySkipped();
        }

        private void SaySkipped()
        {
            if (_skipped > 0) output.WriteLine($"  … and {_skipped} more alerts in that second");
            _skipped = 0;
        }

        public void Print(IReadOnlyList<PublishedAlert> alerts)
        {
            foreach (var alert in alerts) Print(alert);
        }

        private void Print(PublishedAlert published)
        {
            lock (_gate)
            {
                var second = Environment.TickCount64 / 1000;
                if (second != _second)
                {
                    SaySkipped();
                    _second = second;
                    _printed = 0;
                }
                if (_printed++ >= MaxPrintedPerSecond)
                {
                    _skipped++;
                    return;
                }
                var alert = PublishedAlert.Read(published.Json);
                var message = AccountMask.Redact(alert.Message, alert.Account, accounts.ContainsKey);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{alert.Ts:HH:mm:ss} {alert.Severity,-3} {alert.Rule,-24} {alert.EntityId,-8} {message}"));
            }
        }
    }
}
