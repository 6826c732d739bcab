using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Reference;
using FlowWatch.Simulator;
using FlowWatch.Worker.Cli;
using FlowWatch.Worker.Configuration;
using FlowWatch.Worker.Dashboard;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace FlowWatch.Worker.Kafka;

/// <summary>
/// <c>flowwatch demo</c>: everything on one machine. An embedded Kafka-protocol broker, a traffic generator
/// producing payments (mostly compliant, with a sprinkling of violations), the streaming worker, and the alerts
/// printed as they come, the dashboard served; a summary at the end.
/// </summary>
public static class DemoCommand
{
    public const string Usage = "flowwatch demo [--seconds N] [--rate EVENTS_PER_SECOND] [--config C] [--urls U]";

    private const int MaxPrintedPerSecond = 15;

    public static async Task<int> RunAsync(Arguments args, TextWriter stdout)
    {
        var seconds = args.WholeNumber("--seconds", 0, 0, 86_400);
        var rate = args.WholeNumber("--rate", 2_000, 1, 1_000_000);
        var configuration = FlowWatchConfiguration.Build(args.Optional("--config"));
        var urls = args.Optional("--urls");
        args.EnsureAllRead();
        var rules = FlowWatchConfiguration.Rules(configuration);

        var traffic = new SyntheticPayments(entities: 2_000, seed: Environment.TickCount, violationRate: 0.01);
        var reference = ReferenceDataLoader.Parse(System.Text.Encoding.UTF8.GetBytes(traffic.ReferenceJson()));
        using var broker = EmbeddedBroker.Start(brokers: 1);
        var options = new KafkaOptions { BootstrapServers = broker.BootstrapServers, ReferenceFile = "(generated)" };
        broker.CreateFlowWatchTopics(options, partitions: 3);
        stdout.WriteLine($"flowwatch demo: embedded broker at {broker.BootstrapServers}, {rate:N0} payments/s" +
                         (seconds > 0 ? $" for {seconds} s" : " until Ctrl-C"));

        var printer = new AlertPrinter(stdout);
        if (urls is not null) configuration = Override(configuration, $"{DashboardOptions.SectionName}:{nameof(DashboardOptions.Urls)}", urls);
        // Without --urls, a taken default port gives way to a free one: the URL printed is the one to open.
        await using var dashboard = await DashboardHosting.StartStandaloneAsync(configuration, services => new StreamingWorker(
            options, rules, reference, TimeProvider.System, printer.Print, onCommitted: services.GetRequiredService<AlertFeed>().Publish), anyFreePort: urls is null);
        var worker = dashboard.Services.GetRequiredService<StreamingWorker>();
        stdout.WriteLine($"flowwatch demo: dashboard at {dashboard.PageUrl()}");
        using var shutdown = new ShutdownSignal();
        using var stopWorker = new CancellationTokenSource();
        var running = worker.RunAsync(stopWorker.Token);
        await worker.Ready.WaitAsync(TimeSpan.FromSeconds(30));

        var stopwatch = Stopwatch.StartNew();
        using var stopTraffic = CancellationTokenSource.CreateLinkedTokenSource(shutdown.Token);
        if (seconds > 0) stopTraffic.CancelAfter(TimeSpan.FromSeconds(seconds));
        var produced = await Produce(traffic, options, rate, stopTraffic.Token);

        // Let the worker catch up with what was produced, then stop it.
        var drainDeadline = DateTime.UtcNow.AddSeconds(15);
        while (worker.RecordsRead < produced && DateTime.UtcNow < drainDeadline) await Task.Delay(50);
        stopWorker.Cancel();
        await running;
        await dashboard.StopAsync();
        stopwatch.Stop();

        stdout.WriteLine();
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"produced {produced:N0} payments"));
        Summary.Print(stdout, "demo", worker.Counters, stopwatch.Elapsed);
        return CommandLine.Success;
    }

    private static IConfiguration Override(IConfiguration configuration, string key, string value) =>
        new ConfigurationBuilder().AddConfiguration(configuration).AddInMemoryCollection([new(key, value)]).Build();

    /// <summary>Produces payments at a steady rate, with event times that follow the wall clock.</summary>
    private static async Task<long> Produce(SyntheticPayments traffic, KafkaOptions options, int rate, CancellationToken stop)
    {
        using var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = options.BootstrapServers, LingerMs = 5 }).Build();
        var tick = TimeSpan.FromMilliseconds(50);
        var perTick = Math.Max(1, rate / 20);
        var started = DateTimeOffset.UtcNow.ToOffset(TimeSpan.FromHours(8));
        long produced = 0;
        using var timer = new PeriodicTimer(tick);
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                var now = started + TimeSpan.FromSeconds((double)produced / rate);
                foreach (var payment in traffic.KeyedEvents(perTick, now, TimeSpan.FromSeconds(1.0 / rate), $"D{produced:D10}-"))
                {
                    // Keyed by account, so each entity's payments stay in order in one partition.
                    producer.Produce(options.PaymentsTopic, new Message<string, byte[]> { Key = payment.Account, Value = payment.Line });
                }
                produced += perTick;
            }
        }
        catch (OperationCanceledException)
        {
            // the demo's time is up, or Ctrl-C
        }
        producer.Flush(TimeSpan.FromSeconds(10));
        return produced;
    }

    /// <summary>Prints alerts as they come, at most a few a second so the terminal stays readable, account numbers masked.</summary>
    private sealed class AlertPrinter(TextWriter output)
    {
        private readonly Lock _gate = new();
        private long _second;
        private int _printed;
        private int _skipped;

        public void Print(Alert alert)
        {
            lock (_gate)
            {
                var second = Environment.TickCount64 / 1000;
                if (second != _second)
                {
                    if (_skipped > 0) output.WriteLine($"  … and {_skipped} more alerts in that second");
                    _second = second;
                    _printed = 0;
                    _skipped = 0;
                }
                if (_printed++ >= MaxPrintedPerSecond)
                {
                    _skipped++;
                    return;
                }
                var message = AccountMask.Redact(alert.Message, alert.Account);
                output.WriteLine($"{alert.Ts:HH:mm:ss} {alert.Severity,-3} {alert.Rule,-24} {alert.EntityId,-8} {message}");
            }
        }
    }
}
