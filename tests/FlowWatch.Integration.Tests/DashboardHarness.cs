using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using FlowWatch.Core.Engine;
using FlowWatch.Core.Reference;
using FlowWatch.Worker.Dashboard;
using FlowWatch.Worker.Kafka;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace FlowWatch.Integration.Tests;

/// <summary>
/// An embedded broker, a streaming worker on it and its dashboard on a free loopback port, with helpers to
/// produce payments that raise alerts of a known severity. Each payment names an entity of its own unless told.
/// </summary>
internal sealed class DashboardHarness : IAsyncDisposable
{
    private readonly EmbeddedBroker _broker;
    private readonly CancellationTokenSource _stop = new();
    private readonly IProducer<string, string> _producer;
    private WebApplication? _app;
    private Task _running = Task.CompletedTask;
    private int _sequence;

    private DashboardHarness(EmbeddedBroker broker, KafkaOptions options)
    {
        _broker = broker;
        Options = options;
        _producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = broker.BootstrapServers, LingerMs = 0 }).Build();
    }

    public KafkaOptions Options { get; }

    public StreamingWorker Worker { get; private set; } = null!;

    public Uri BaseAddress { get; private set; } = null!;

    public HttpClient Client { get; private set; } = null!;

    /// <summary>The feed the dashboard serves alerts from.</summary>
    public AlertFeed Feed => _app!.Services.GetRequiredService<AlertFeed>();

    /// <param name="settings">Configuration on top of a dashboard on 127.0.0.1 port 0, e.g. a token or other URLs.</param>
    /// <param name="partitions">Partitions of each topic.</param>
    /// <param name="beforeStart">Runs once the topics exist, before the dashboard and worker start.</param>
    /// <param name="kafka">Amends the worker's settings once the topics exist: a topic it names anew does not exist yet.</param>
    /// <param name="clock">The dashboard's clock, when not the system's.</param>
    public static async Task<DashboardHarness> StartAsync(IReadOnlyDictionary<string, string?>? settings = null, int partitions = 1,
        Action<DashboardHarness>? beforeStart = null, Action<KafkaOptions>? kafka = null, TimeProvider? clock = null)
    {
        var broker = EmbeddedBroker.Start(brokers: 1);
        var options = broker.WorkerOptions("dashboard", partitions);
        kafka?.Invoke(options);
        var harness = new DashboardHarness(broker, options);
        try
        {
            beforeStart?.Invoke(harness);
            await harness.StartDashboard(Configuration(settings), clock);
            return harness;
        }
        catch
        {
            await harness.DisposeAsync();
            throw;
        }
    }

    public static IConfiguration Configuration(IReadOnlyDictionary<string, string?>? settings) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [$"{DashboardOptions.SectionName}:Urls"] = "http://127.0.0.1:0" })
            .AddInMemoryCollection(settings ?? new Dictionary<string, string?>())
            .Build();

    private async Task StartDashboard(IConfiguration configuration, TimeProvider? clock)
    {
        var reference = ReferenceDataLoader.LoadFile(Options.ReferenceFile);
        _app = await DashboardHosting.StartStandaloneAsync(configuration, services =>
            new StreamingWorker(Options, new RuleSettings(), reference, TimeProvider.System, onCommitted: services.CommittedAlerts()), clock: clock);
        Worker = _app.Services.GetRequiredService<StreamingWorker>();
        _running = Worker.RunAsync(_stop.Token);
        await Worker.Ready.WaitAsync(TimeSpan.FromSeconds(60));
        BaseAddress = new Uri(_app.Urls.First().Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal) + "/");
        Client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>A fresh entity id, so a test can tell its alerts from the others'.</summary>
    public string NewEntity(string prefix) => $"{prefix}-{Interlocked.Increment(ref _sequence)}-{Guid.NewGuid():N}"[..24];

    /// <summary>Raises SANCTIONED_PARTY (III): the counterparty is on the sanctions list.</summary>
    public static string Sanctioned(string entityId, string txnId, string amount = "1000") =>
        Payment(txnId, entityId, "FTE9001", "IN", amount, "\"cpKind\":\"OFFSHORE\",\"cpAccount\":\"X-1\",\"cpName\":\"Northern Star Shipping\",\"cpCountry\":\"HK\"");

    /// <summary>Raises CASH_ON_ZONE_ACCOUNT (II): cash on a zone account.</summary>
    public static string Cash(string entityId, string txnId) =>
        Payment(txnId, entityId, "FTE9002", "OUT", "1000", "\"cpKind\":\"DOMESTIC\",\"cpAccount\":\"CASH-DESK\",\"method\":\"CASH\"");

    /// <summary>Raises HIGH_RISK_JURISDICTION (I): a counterparty in a country under increased monitoring.</summary>
    public static string HighRisk(string entityId, string txnId) =>
        Payment(txnId, entityId, "FTE9003", "IN", "1000", "\"cpKind\":\"OFFSHORE\",\"cpAccount\":\"VN-1\",\"cpCountry\":\"VN\",\"purpose\":\"GOODS_TRADE\"");

    /// <summary>A same-name transfer of EFE0001 (entity E-HQ-001, owner's equity 10,000,000) into the domestic territory.</summary>
    public static string Penetration(string txnId, decimal amount) =>
        $$"""{"txnId":"{{txnId}}","ts":"{{Now()}}","account":"EFE0001","direction":"OUT","amount":"{{amount.ToString(CultureInfo.InvariantCulture)}}","currency":"CNY","cpKind":"DOMESTIC","cpAccount":"DOM-HQ-001","purpose":"GOODS_TRADE"}""";

    private static string Payment(string txnId, string entityId, string account, string direction, string amount, string counterparty) =>
        $$"""{"txnId":"{{txnId}}","ts":"{{Now()}}","account":"{{account}}","entityId":"{{entityId}}","direction":"{{direction}}","amount":"{{amount}}","currency":"CNY",{{counterparty}}}""";

    private static string Now() => DateTimeOffset.UtcNow.ToOffset(TimeSpan.FromHours(8)).ToString("yyyy-MM-ddTHH:mm:ss.fffzzz", CultureInfo.InvariantCulture);

    public void Produce(params string[] payments)
    {
        foreach (var payment in payments)
        {
            var key = payment.StartsWith('{') ? JsonNode.Parse(payment)!["account"]!.GetValue<string>() : "unreadable";
            _producer.Produce(Options.PaymentsTopic, new Message<string, string> { Key = key, Value = payment });
        }
        _producer.Flush(TimeSpan.FromSeconds(10));
    }

    /// <summary>Writes alerts (their JSON) to the alerts topic as another worker of the group would, keyed by entity.</summary>
    public void ProduceAlerts(IEnumerable<string> alerts)
    {
        foreach (var alert in alerts)
        {
            _producer.Produce(Options.AlertsTopic, new Message<string, string> { Key = JsonNode.Parse(alert)!["entityId"]!.GetValue<string>(), Value = alert });
        }
        _producer.Flush(TimeSpan.FromSeconds(10));
    }

    /// <summary>Writes an alert to one partition of the alerts topic with the timestamp <paramref name="at"/>.</summary>
    public void ProduceAlert(string alert, int partition, DateTimeOffset at)
    {
        _producer.Produce(new TopicPartition(Options.AlertsTopic, partition), new Message<string, string>
        {
            Key = JsonNode.Parse(alert)!["entityId"]!.GetValue<string>(), Value = alert, Timestamp = new Timestamp(at),
        });
        _producer.Flush(TimeSpan.FromSeconds(10));
    }

    /// <summary>Polls <c>/api/alerts</c> until the entity has <paramref name="count"/> alerts, or 30 s pass.</summary>
    public async Task<JsonArray> AlertsOf(string entityId, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var page = await Client.GetFromJsonAsync<JsonObject>($"api/alerts?entity={Uri.EscapeDataString(entityId)}");
            var alerts = page!["alerts"]!.AsArray();
            if (alerts.Count >= count || DateTime.UtcNow > deadline) return alerts;
            await Task.Delay(50);
        }
    }

    /// <summary>Stops the dashboard's application as a shutdown does; <see cref="DisposeAsync"/> does the rest.</summary>
    public Task StopDashboardAsync() => _app!.StopAsync();

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _running;
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        Client?.Dispose();
        _producer.Dispose();
        _broker.Dispose();
        _stop.Dispose();
    }
}
