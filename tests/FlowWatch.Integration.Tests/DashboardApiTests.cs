using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using FlowWatch.Core.Contracts;
using FlowWatch.Worker.Cli;
using FlowWatch.Worker.Configuration;
using FlowWatch.Worker.Dashboard;

namespace FlowWatch.Integration.Tests;

/// <summary>One worker and dashboard for the API tests that need no settings of their own.</summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    internal DashboardHarness Harness { get; private set; } = null!;

    public async Task InitializeAsync() => Harness = await DashboardHarness.StartAsync();

    public async Task DisposeAsync() => await Harness.DisposeAsync();
}

/// <summary>
/// Runs alone: metrics listeners select instruments by meter name across the process, so another dashboard in
/// this test process would mix its counters into /metrics.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SoleDashboard
{
    public const string Name = "one dashboard in the process";
}

/// <summary>The dashboard's HTTP API over a real worker and broker: every endpoint, the live stream's resume, headers.</summary>
[Collection(SoleDashboard.Name)]
public sealed class DashboardApiTests(DashboardFixture fixture) : IClassFixture<DashboardFixture>
{
    private DashboardHarness Harness => fixture.Harness;

    [Fact]
    public async Task Alerts_AfterTheirTransactionCommits_ListedNewestFirstAndFilteredBySeverityRuleAndEntity()
    {
        var entity = Harness.NewEntity("A");
        Harness.Produce(DashboardHarness.HighRisk(entity, entity + "-1"), DashboardHarness.Cash(entity, entity + "-2"), DashboardHarness.Sanctioned(entity, entity + "-3"));

        var alerts = await Harness.AlertsOf(entity, 3);

        Assert.Equal(["III", "II", "I"], alerts.Select(a => a!["alert"]!["severity"]!.GetValue<string>()));
        var ids = alerts.Select(a => a!["id"]!.GetValue<long>()).ToList();
        Assert.Equal(ids.OrderDescending(), ids);
        Assert.Equal(["Northern Star Shipping"], Severity("III").Select(a => a!["alert"]!["metrics"]!["counterparty"]!.GetValue<string>()).Distinct());
        Assert.All(Severity("I,II"), a => Assert.NotEqual("III", a!["alert"]!["severity"]!.GetValue<string>()));
        var byRule = await Get($"api/alerts?rule=CASH_ON_ZONE_ACCOUNT&entity={entity}");
        Assert.Equal("CASH_ON_ZONE_ACCOUNT", Assert.Single(byRule["alerts"]!.AsArray())!["alert"]!["rule"]!.GetValue<string>());
        Assert.Single((await Get($"api/alerts?limit=1&entity={entity}"))["alerts"]!.AsArray());
        Assert.Null(alerts[0]!["alert"]!["metrics"]!["cap"]);   // absent fields stay absent, as on the alerts topic

        IEnumerable<JsonNode?> Severity(string severities) =>
            Get($"api/alerts?severity={severities}&entity={entity}").GetAwaiter().GetResult()["alerts"]!.AsArray();
    }

    [Theory]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=1001", "limit")]
    [InlineData("limit=abc", "limit")]
    [InlineData("limit=5.0", "limit")]
    [InlineData("limit=99999999999", "limit")]
    [InlineData("limit=-1", "limit")]
    [InlineData("severity=IV", "severity")]
    [InlineData("severity=1", "severity")]
    [InlineData("limit=5&limit=6", "limit")]
    [InlineData("rule=FAN_IN&rule=FAN_OUT", "rule")]
    [InlineData("severity=I,,II", "severity")]
    [InlineData("rule=FAN-IN", "rule")]
    [InlineData("rule=fan_in", "rule")]
    public async Task Alerts_WithABadQuery_AnswersBadRequestNamingTheParameter(string query, string parameter)
    {
        using var response = await Harness.Client.GetAsync($"api/alerts?{query}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.StartsWith(parameter + " must be", (await response.Content.ReadFromJsonAsync<JsonObject>())!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    /// <summary>A misspelt parameter was passed over: entityId= for entity= showed every entity's alerts as if filtered.</summary>
    [Theory]
    [InlineData("api/alerts?entityId=E-HQ-001&limit=1", "entityId is not a parameter of /api/alerts (it takes limit, severity, rule, entity)")]
    [InlineData("api/alerts?limit=1&bogus=1", "bogus is not a parameter of /api/alerts (it takes limit, severity, rule, entity)")]
    [InlineData("api/alerts/stream?since=5", "since is not a parameter of /api/alerts/stream (it takes after)")]
    [InlineData("api/entities?entity=E-HQ-001", "entity is not a parameter of /api/entities (it takes id)")]
    [InlineData("api/entities/E-HQ-001?year=2026", "year is not a parameter of /api/entities/E-HQ-001 (it takes none)")]
    [InlineData("api/stats?verbose=1", "verbose is not a parameter of /api/stats (it takes none)")]
    public async Task Api_WithAParameterItDoesNotTake_AnswersBadRequestNamingIt(string path, string detail)
    {
        using var response = await Harness.Client.GetAsync(path, HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(detail, (await response.Content.ReadFromJsonAsync<JsonObject>())!["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task Alerts_ParametersInAnyLetterCase_AreTheParametersTheyName()
    {
        using var response = await Harness.Client.GetAsync("api/alerts?LIMIT=1&Severity=III");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("after=-1")]
    [InlineData("after=abc")]
    [InlineData("after=1.5")]
    [InlineData("after=1&after=2")]
    public async Task Stream_WithABadQuery_AnswersBadRequestNamingTheParameter(string query)
    {
        using var response = await Harness.Client.GetAsync($"api/alerts/stream?{query}", HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.StartsWith("after must be", (await response.Content.ReadFromJsonAsync<JsonObject>())!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stream_WithLastEventId_ResumesWithTheAlertsAfterItThenFollowsNewOnes()
    {
        var entity = Harness.NewEntity("S");
        Harness.Produce(DashboardHarness.HighRisk(entity, entity + "-1"), DashboardHarness.Cash(entity, entity + "-2"), DashboardHarness.Sanctioned(entity, entity + "-3"));
        var ids = (await Harness.AlertsOf(entity, 3)).Select(a => a!["id"]!.GetValue<long>()).Order().ToList();

        using var request = new HttpRequestMessage(HttpMethod.Get, "api/alerts/stream");
        request.Headers.Add("Last-Event-ID", ids[0].ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var response = await Harness.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var resumed = new List<(long Id, JsonNode Alert)>();
        while (!resumed.Any(e => e.Id == ids[2])) resumed.Add(await NextEvent(reader));

        Assert.Equal(ids[0] + 1, resumed[0].Id);
        Assert.Equal([ids[1], ids[2]], resumed.Where(e => e.Alert["entityId"]!.GetValue<string>() == entity).Select(e => e.Id));
        Assert.Equal(resumed.Select(e => e.Id).Order(), resumed.Select(e => e.Id));

        var later = Harness.NewEntity("S");
        Harness.Produce(DashboardHarness.Sanctioned(later, later + "-1"));
        (long Id, JsonNode Alert) next;
        do next = await NextEvent(reader); while (next.Alert["entityId"]!.GetValue<string>() != later);
        Assert.Equal("SANCTIONED_PARTY", next.Alert["rule"]!.GetValue<string>());
    }

    [Fact]
    public async Task Stream_WithAnIdFromAnEarlierProcess_SaysAGapCameThenSendsTheAlertsHeld()
    {
        var entity = Harness.NewEntity("G");
        Harness.Produce(DashboardHarness.Cash(entity, entity + "-1"));
        var id = (await Harness.AlertsOf(entity, 1)).Single()!["id"]!.GetValue<long>();

        // Ids start higher in every process: an id of one started a second before this one is below all of these.
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/alerts/stream");
        request.Headers.Add("Last-Event-ID", "1");
        using var response = await Harness.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var lines = new List<string>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!lines.Contains($"id: {id}")) lines.Add(await reader.ReadLineAsync(timeout.Token) ?? throw new EndOfStreamException());

        Assert.Equal(["retry: 1000", "", "event: gap", "data: {}", ""], lines.Take(5));
        Assert.True(id > 1_700_000_000_000_000, $"{id} is not an id of a feed started after 2023");
    }

    [Fact]
    public async Task Stream_WithoutLastEventId_StartsAfterTheNewestAlert()
    {
        var entity = Harness.NewEntity("N");
        Harness.Produce(DashboardHarness.Cash(entity, entity + "-1"));
        await Harness.AlertsOf(entity, 1);

        using var response = await Harness.Client.GetAsync("api/alerts/stream", HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var fresh = Harness.NewEntity("N");
        Harness.Produce(DashboardHarness.Cash(fresh, fresh + "-1"));

        var first = await NextEvent(reader);
        Assert.NotEqual(entity, first.Alert["entityId"]!.GetValue<string>());
    }

    [Fact]
    public async Task Entity_AfterSameNamePenetration_ShowsPositionCapsUtilisationFlowsAndRecentAlerts()
    {
        var txn = Harness.NewEntity("P");
        Harness.Produce(DashboardHarness.Penetration(txn + "-1", 5_000_000m), DashboardHarness.Penetration(txn + "-2", 3_000_000m));
        JsonObject view;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        do view = await Get("api/entities/E-HQ-001");
        while (view["entity"]!["events"]!.GetValue<long>() < 2 && DateTime.UtcNow < deadline);

        var entity = view["entity"]!;
        Assert.Equal("Hengqin Precision Tools Co.", entity["name"]!.GetValue<string>());
        var quota = entity["penetration"]!;
        Assert.Equal(8_000_000m, quota["netInflow"]!.GetValue<decimal>());
        Assert.Equal(10_000_000m, quota["inflowCap"]!.GetValue<decimal>());
        Assert.Equal(0.8m, quota["inflowUtilisation"]!.GetValue<decimal>());
        Assert.Equal(0.8m, quota["warnUtilisation"]!.GetValue<decimal>());
        Assert.Equal(0m, quota["outflowUtilisation"]!.GetValue<decimal>());
        var hours = entity["last24h"]!.AsArray();
        Assert.Equal(24, hours.Count);
        Assert.Equal(8_000_000m, hours.Sum(h => h!["outflowCny"]!.GetValue<decimal>()));
        Assert.Equal(0m, hours.Sum(h => h!["inflowCny"]!.GetValue<decimal>()));
        Assert.Contains(view["recentAlerts"]!.AsArray(), a => a!["alert"]!["rule"]!.GetValue<string>() == "PENETRATION_CAP_WARN");
    }

    [Theory]
    [InlineData("a/b")]
    [InlineData("..")]
    [InlineData(".")]
    [InlineData("../../api/stats")]
    [InlineData("E 100%")]
    public async Task Entity_WhoseIdAPathCannotHold_FoundByQuery(string id)
    {
        var entity = id;
        Harness.Produce(DashboardHarness.Cash(entity, Harness.NewEntity("Q") + "-1"));
        await Harness.AlertsOf(entity, 1);

        var view = await Get("api/entities?id=" + Uri.EscapeDataString(entity));

        Assert.Equal(entity, view["entity"]!["entityId"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("api/entities")]
    [InlineData("api/entities?id=")]
    [InlineData("api/entities?id=E-HQ-001&id=E-HQ-002")]
    public async Task Entity_QueryWithoutOneId_AnswersBadRequest(string path)
    {
        using var response = await Harness.Client.GetAsync(path);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Entity_Unknown_AnswersNotFound()
    {
        using var response = await Harness.Client.GetAsync("api/entities/NO-SUCH-ENTITY");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Rules_ListEveryRuleTheEngineRaisesInTheCataloguesOrder()
    {
        var rules = await Harness.Client.GetFromJsonAsync<string[]>("api/rules");

        Assert.Equal(FlowWatch.Core.Engine.RuleCodes.InOrder, rules);
    }

    [Fact]
    public async Task Stats_WhileRunning_ReportsRatesTotalsLagAndUptime()
    {
        var entity = Harness.NewEntity("T");
        Harness.Produce(DashboardHarness.Sanctioned(entity, entity + "-1"));
        await Harness.AlertsOf(entity, 1);

        var stats = await Get("api/stats");

        Assert.True(stats["ready"]!.GetValue<bool>());
        Assert.True(stats["events"]!.GetValue<long>() >= 1);
        Assert.True(stats["alerts"]!["III"]!.GetValue<long>() >= 1);
        Assert.True(stats["uptimeSeconds"]!.GetValue<double>() > 0);
        Assert.NotNull(stats["eventsPerSecond"]);
        Assert.NotNull(stats["consumerLag"]);
        Assert.True(stats["ready"]!.GetValue<bool>());
        Assert.Equal("consuming", stats["status"]!.GetValue<string>());
        Assert.NotNull(stats["deadLetters"]);
        Assert.Equal(0, stats["differingDuplicates"]!.GetValue<long>());
        Assert.Equal(0, stats["splitEntities"]!.GetValue<long>());
        Assert.NotNull(stats["referenceConflicts"]);
        Assert.Equal(["I", "II", "III"], stats["alertsPerSecond"]!.AsObject().Select(p => p.Key));
    }

    [Fact]
    public async Task HealthAndReadiness_WithPartitionsAssigned_AnswerOk()
    {
        using var health = await Harness.Client.GetAsync("healthz");
        using var ready = await Harness.Client.GetAsync("readyz");

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("consuming", await ready.Content.ReadAsStringAsync());
    }

    private const string DeadLetters = @"(?m)^flowwatch_dead_letters_total\{[^}]*\} [1-9]";

    [Fact]
    public async Task Metrics_InPrometheusFormat_HaveEventsAlertsLagLatencyCommitsAndDeadLetters()
    {
        var entity = Harness.NewEntity("M");
        Harness.Produce("not json", DashboardHarness.Cash(entity, entity + "-1"));
        await Harness.AlertsOf(entity, 1);

        // The exporter answers a scrape from a short-lived cache: ask until the dead letter and a commit show.
        const string Commits = @"(?m)^flowwatch_commit_duration_seconds_count\{[^}]*\} [1-9]";
        var text = await Harness.Client.GetStringAsync("metrics");
        for (var attempt = 0; attempt < 50 && !(System.Text.RegularExpressions.Regex.IsMatch(text, DeadLetters) && System.Text.RegularExpressions.Regex.IsMatch(text, Commits)); attempt++)
        {
            await Task.Delay(100);
            text = await Harness.Client.GetStringAsync("metrics");
        }

        Assert.Matches(@"(?m)^flowwatch_events_total\{[^}]*\} [1-9]", text);
        Assert.Matches(@"(?m)^flowwatch_alerts_total\{[^}]*rule=""CASH_ON_ZONE_ACCOUNT""[^}]*severity=""II""[^}]*\} [1-9]", text);
        Assert.Matches(DeadLetters, text);
        Assert.Matches(@"(?m)^flowwatch_consumer_lag\{[^}]*\} \d", text);
        Assert.Matches(@"(?m)^flowwatch_state_unsaved\{[^}]*\} \d", text);
        Assert.Matches(@"(?m)^flowwatch_reference_conflicts_total\{[^}]*\} \d", text);
        Assert.Matches(@"(?m)^flowwatch_differing_duplicates_total\{[^}]*\} \d", text);
        Assert.Matches(@"(?m)^flowwatch_unknown_fields_total\{[^}]*\} \d", text);
        Assert.Matches(@"(?m)^flowwatch_split_entities_total\{[^}]*\} \d", text);
        Assert.Matches(@"(?m)^flowwatch_processing_latency_seconds_bucket\{[^}]*le=""0.1""[^}]*\} \d", text);
        Assert.Matches(@"(?m)^flowwatch_processing_latency_seconds_count\{[^}]*\} [1-9]", text);
        Assert.Matches(Commits, text);
        // Scraped beside other services, its series say whose they are (they said unknown_service:dotnet).
        Assert.Matches(@"(?m)^target_info\{[^}]*service_name=""flowwatch""", text);
    }

    [Theory]
    [InlineData("")]
    [InlineData("api/stats")]
    [InlineData("app.js")]
    public async Task AnyResponse_CarriesSecureHeaders(string path)
    {
        using var response = await Harness.Client.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var csp = Assert.Single(response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'none'", csp, StringComparison.Ordinal);
        Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
        Assert.Equal("DENY", Assert.Single(response.Headers.GetValues("X-Frame-Options")));
        Assert.Equal("no-referrer", Assert.Single(response.Headers.GetValues("Referrer-Policy")));
    }

    [Fact]
    public async Task Request_ForANonLoopbackHostName_IsRefused()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/stats");
        request.Headers.Host = "dashboard.example";

        using var response = await Harness.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    private async Task<JsonObject> Get(string path) => (await Harness.Client.GetFromJsonAsync<JsonObject>(path))!;

    /// <summary>Reads one Server-Sent Event (id and data lines up to a blank line) within 10 s.</summary>
    internal static async Task<(long Id, JsonNode Alert)> NextEvent(StreamReader reader)
    {
        long? id = null;
        string? data = null;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (true)
        {
            var line = await reader.ReadLineAsync(timeout.Token) ?? throw new EndOfStreamException("the stream ended");
            if (line.StartsWith("id: ", StringComparison.Ordinal)) id = long.Parse(line[4..], System.Globalization.CultureInfo.InvariantCulture);
            else if (line.StartsWith("data: ", StringComparison.Ordinal)) data = line[6..];
            else if (line.Length == 0 && data is not null) return (id ?? throw new InvalidDataException("event without id"), JsonNode.Parse(data)!);
        }
    }
}

/// <summary>A stopping dashboard with pages open on its live stream.</summary>
public sealed class DashboardShutdownTests
{
    [Fact]
    public async Task Stop_WithALiveStreamOpen_EndsTheStreamAndStopsWithoutWaitingForIt()
    {
        await using var harness = await DashboardHarness.StartAsync();
        using var response = await harness.Client.GetAsync("api/alerts/stream", HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        Assert.Equal("retry: 1000", await reader.ReadLineAsync());
        Assert.Equal("", await reader.ReadLineAsync());

        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        await harness.StopDashboardAsync();

        // Without the stream ending, the stop waits for it as long as the host's shutdown timeout (30 s).
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(5), $"the stop took {stopwatch.Elapsed}");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        Assert.Equal("", await reader.ReadToEndAsync(timeout.Token));
    }
}

/// <summary>The token rule: loopback without one; any other address only with one, and then every request needs it.</summary>
public sealed class DashboardSecurityTests
{
    private const string Token = "a-long-enough-test-token-0123456789";

    [Fact]
    public async Task Start_OnAllInterfacesWithoutToken_RefusesNamingTheKey()
    {
        var error = await Assert.ThrowsAsync<ConfigurationException>(() =>
            DashboardHarness.StartAsync(new Dictionary<string, string?> { [$"{DashboardOptions.SectionName}:Urls"] = "http://0.0.0.0:0" }));

        Assert.Contains("FlowWatch:Dashboard:Token", error.Message, StringComparison.Ordinal);
        Assert.Contains("http://0.0.0.0:0", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_OnAllInterfacesWithoutToken_ExitsBeforeStarting()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        var code = await CommandLine.RunAsync(["run", "--bootstrap-servers", "127.0.0.1:1", "--reference", TestKafka.Samples("reference.json"),
            "--urls", "http://0.0.0.0:0"], stdout, stderr);

        Assert.Equal(CommandLine.CannotRun, code);
        Assert.Contains("FlowWatch:Dashboard:Token", stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AlertsFromTopic_EveryWorkersAlertsShown_ThoseFromBeforeTheStartListedButNotCounted()
    {
        // Alerts other workers of the group committed: the engine's alerts on the sample stream.
        var others = SampleAlerts();
        await using var harness = await DashboardHarness.StartAsync(
            FromTopic,
            partitions: 2, beforeStart: h => h.ProduceAlerts(others[..3]));

        harness.ProduceAlerts(others[3..5]);
        var own = harness.NewEntity("OWN");
        harness.Produce(DashboardHarness.Sanctioned(own, own + "-1"));

        // This worker's alert comes back from the topic, once: its own hand-over is off.
        Assert.Single(await harness.AlertsOf(own, 1));
        var ids = others[..5].Select(a => JsonNode.Parse(a)!["alertId"]!.GetValue<string>()).ToHashSet();
        var listed = await Listed(harness, atLeast: 6);
        Assert.Equal(6, listed.Count);
        Assert.Subset(listed.Select(e => e!["alert"]!["alertId"]!.GetValue<string>()).ToHashSet(), ids);
        // Since the start: two of the others' and this worker's one.
        Assert.Equal(3, await AlertsSinceStart(harness));
    }

    [Fact]
    public async Task AlertsFromTopic_CommittedAfterTheStartButBeforeTheTopicCouldBeRead_CountedSinceTheStart()
    {
        // The alerts topic does not exist when the dashboard starts: it waits for it, and other workers' first alerts
        // create it in the meantime.
        await using var harness = await DashboardHarness.StartAsync(
            FromTopic,
            kafka: options => options.AlertsTopic = "alerts.created-later");

        harness.ProduceAlerts(SampleAlerts()[..2]);

        var listed = await Listed(harness, atLeast: 2);
        Assert.Equal(2, listed.Count);
        Assert.Equal(2, await AlertsSinceStart(harness));
    }

    [Fact]
    public async Task AlertsFromTopic_EarlierAlertsOfSeveralPartitions_ListedInTheOrderTheyWereWritten()
    {
        var written = SampleAlerts()[..8];
        var first = DateTimeOffset.UtcNow.AddHours(-1);

        // Two workers' alerts, interleaved in time: even ones in partition 0, odd ones in partition 1, each partition
        // written in full before the other.
        await using var harness = await DashboardHarness.StartAsync(
            FromTopic,
            partitions: 2, beforeStart: h =>
            {
                foreach (var i in Enumerable.Range(0, written.Length).OrderBy(i => i % 2)) h.ProduceAlert(written[i], i % 2, first.AddSeconds(i));
            });

        var listed = await Listed(harness, atLeast: written.Length);

        // Newest first, as written.
        Assert.Equal(written.Reverse().Select(a => JsonNode.Parse(a)!["alertId"]!.GetValue<string>()),
            listed.Select(e => e!["alert"]!["alertId"]!.GetValue<string>()));
        Assert.Equal(0, await AlertsSinceStart(harness));
    }

    [Fact]
    public async Task AlertsFromTopic_AnAlertWrittenOverSeveralLines_StreamedAsOneEvent()
    {
        await using var harness = await DashboardHarness.StartAsync(FromTopic, partitions: 1);
        using var response = await harness.Client.GetAsync("api/alerts/stream", HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var alert = JsonNode.Parse(SampleAlerts()[0])!;

        // As another producer may write it: indented, its lines ended by CR LF.
        harness.ProduceAlerts([alert.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }).ReplaceLineEndings("\r\n")]);

        var streamed = await DashboardApiTests.NextEvent(reader);
        Assert.Equal(alert["alertId"]!.GetValue<string>(), streamed.Alert["alertId"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(alert, streamed.Alert));
    }

    [Fact]
    public async Task Stream_MoreThanMaxStreamsOpen_AnswersServiceUnavailableUntilOneCloses()
    {
        await using var harness = await DashboardHarness.StartAsync(new Dictionary<string, string?>
        {
            [$"{DashboardOptions.SectionName}:{nameof(DashboardOptions.MaxStreams)}"] = "2",
        });
        var first = await harness.Client.GetAsync("api/alerts/stream", HttpCompletionOption.ResponseHeadersRead);
        using var second = await harness.Client.GetAsync("api/alerts/stream", HttpCompletionOption.ResponseHeadersRead);

        using (var third = await harness.Client.GetAsync("api/alerts/stream", HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.ServiceUnavailable), (first.StatusCode, second.StatusCode, third.StatusCode));
            Assert.Equal("10", third.Headers.RetryAfter?.Delta?.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        first.Dispose();

        // Its place comes back once the dashboard sees the page gone.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        HttpStatusCode again;
        do
        {
            using var next = await harness.Client.GetAsync("api/alerts/stream", HttpCompletionOption.ResponseHeadersRead);
            again = next.StatusCode;
            if (again != HttpStatusCode.OK) await Task.Delay(200);
        }
        while (again != HttpStatusCode.OK && DateTime.UtcNow < deadline);
        Assert.Equal(HttpStatusCode.OK, again);
    }

    private static readonly Dictionary<string, string?> FromTopic =
        new() { [$"{DashboardOptions.SectionName}:{nameof(DashboardOptions.AlertsFromTopic)}"] = "true" };

    /// <summary>The alerts <c>/api/stats</c> counts since the dashboard started, of every severity.</summary>
    private static async Task<long> AlertsSinceStart(DashboardHarness harness) =>
        (await harness.Client.GetFromJsonAsync<JsonObject>("api/stats"))!["alerts"]!.AsObject().Sum(s => s.Value!.GetValue<long>());

    /// <summary>The engine's alerts on the sample stream, as other workers of a group would have written them.</summary>
    private static string[] SampleAlerts()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("flowwatch-feed-").FullName, "alerts.jsonl");
        FlowWatch.Worker.Replay.ReplayCommand.Replay(FlowWatch.Core.Reference.ReferenceDataLoader.LoadFile(TestKafka.Samples("reference.json")),
            new FlowWatch.Core.Engine.RuleSettings(), 1, TestKafka.Samples("events.jsonl"), file, null);
        return File.ReadAllLines(file);
    }

    /// <summary>Every alert <c>/api/alerts</c> lists, newest first, once it lists at least <paramref name="atLeast"/>, or after a minute.</summary>
    private static async Task<JsonArray> Listed(DashboardHarness harness, int atLeast)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var listed = (await harness.Client.GetFromJsonAsync<JsonObject>("api/alerts?limit=1000"))!["alerts"]!.AsArray();
            if (listed.Count >= atLeast || DateTime.UtcNow > deadline) return listed;
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task Request_OffLoopbackWithToken_NeedsTheBearerTokenOrItsCookie()
    {
        await using var harness = await DashboardHarness.StartAsync(new Dictionary<string, string?>
        {
            [$"{DashboardOptions.SectionName}:Urls"] = "http://0.0.0.0:0",
            [$"{DashboardOptions.SectionName}:Token"] = Token,
        });
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = harness.BaseAddress };

        foreach (var path in new[] { "", "app.js", "api/alerts", "api/alerts/stream", "api/stats", "api/entities/E-HQ-001", "metrics" })
        {
            using var anonymous = await client.GetAsync(path);
            Assert.True(anonymous.StatusCode == HttpStatusCode.Unauthorized, path);
            using var wrong = new HttpRequestMessage(HttpMethod.Get, path) { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", Token + "x") } };
            Assert.True((await client.SendAsync(wrong)).StatusCode == HttpStatusCode.Unauthorized, path);
        }
        // An orchestrator's probes carry no secret: they answer without the token, and say no more than their status.
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("healthz")).StatusCode);
        using var ready = await client.GetAsync("READYZ");
        Assert.Contains(ready.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.ServiceUnavailable });
        Assert.Equal("nosniff", ready.Headers.GetValues("X-Content-Type-Options").Single());
        using var bearer = new HttpRequestMessage(HttpMethod.Get, "api/stats") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", Token) } };
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(bearer)).StatusCode);

        using var login = await client.GetAsync($"?access_token={Token}");
        Assert.Equal(HttpStatusCode.SeeOther, login.StatusCode);
        Assert.Equal("/", login.Headers.Location?.OriginalString);
        var cookie = Assert.Single(login.Headers.GetValues("Set-Cookie"));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=lax", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("secure", cookie, StringComparison.OrdinalIgnoreCase);   // plain HTTP here
        using var withCookie = new HttpRequestMessage(HttpMethod.Get, "api/stats") { Headers = { { "Cookie", cookie.Split(';')[0] } } };
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(withCookie)).StatusCode);

        // Behind the TLS proxy the README asks for off loopback, the cookie is for HTTPS only.
        using var proxied = new HttpRequestMessage(HttpMethod.Get, $"?access_token={Token}") { Headers = { { "X-Forwarded-Proto", "https" } } };
        using var proxiedLogin = await client.SendAsync(proxied);
        Assert.Contains("; secure", Assert.Single(proxiedLogin.Headers.GetValues("Set-Cookie")), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Request_WithTheTokenInItsQuery_SentOnWithoutItToTheSamePathAndQueryWithTheCookie()
    {
        await using var harness = await DashboardHarness.StartAsync(new Dictionary<string, string?> { [$"{DashboardOptions.SectionName}:Token"] = Token });
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = harness.BaseAddress };

        using var login = await client.GetAsync($"api/alerts?limit=5&ACCESS_TOKEN={Token}&entity=E%20HQ&severity=I,II");

        Assert.Equal(HttpStatusCode.SeeOther, login.StatusCode);
        Assert.Equal("/api/alerts?limit=5&entity=E%20HQ&severity=I,II", login.Headers.Location?.OriginalString);
        var cookie = Assert.Single(login.Headers.GetValues("Set-Cookie"));
        // The cookie is a session that lasts SessionHours (12 by default) and holds no token.
        Assert.StartsWith($"{DashboardSecurity.SessionCookieName}=", cookie, StringComparison.Ordinal);
        Assert.Contains("max-age=43200", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(Token, cookie, StringComparison.Ordinal);
        using var followed = new HttpRequestMessage(HttpMethod.Get, login.Headers.Location) { Headers = { { "Cookie", cookie.Split(';')[0] } } };
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(followed)).StatusCode);
        using var page = await client.GetAsync($"?access_token={Token}");
        Assert.Equal("/", page.Headers.Location?.OriginalString);
        // A path that starts with two slashes is not sent on as an address of another site ("//evil.example/x").
        using var offsite = await client.GetAsync(new Uri(harness.BaseAddress.GetLeftPart(UriPartial.Authority) + $"//evil.example/x?access_token={Token}"));
        Assert.Equal(HttpStatusCode.SeeOther, offsite.StatusCode);
        Assert.Equal("/evil.example/x", offsite.Headers.Location?.OriginalString);

        // A wrong token is refused as before, without a cookie, a browser's request for the page too.
        using var wrong = new HttpRequestMessage(HttpMethod.Get, $"?access_token={Token}x") { Headers = { { "Accept", "text/html" } } };
        using var refused = await client.SendAsync(wrong);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.False(refused.Headers.Contains("Set-Cookie"));
    }

    [Fact]
    public async Task Session_AtItsEnd_EndsTheLiveStreamAndIsRefused()
    {
        var clock = new SettableClock(DateTimeOffset.UtcNow);
        await using var harness = await DashboardHarness.StartAsync(new Dictionary<string, string?>
        {
            [$"{DashboardOptions.SectionName}:Token"] = Token,
            [$"{DashboardOptions.SectionName}:SessionHours"] = "2",
        }, clock: clock);
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = harness.BaseAddress };
        using var login = await client.GetAsync($"?access_token={Token}");
        var cookie = Assert.Single(login.Headers.GetValues("Set-Cookie")).Split(';')[0];
        var signedIn = clock.Now;

        // A stream opened a second before the session's end ends with it, though the page is still open.
        clock.Now = signedIn + TimeSpan.FromHours(2) - TimeSpan.FromSeconds(1);
        using var stream = new HttpRequestMessage(HttpMethod.Get, "api/alerts/stream") { Headers = { { "Cookie", cookie } } };
        using var streaming = await client.SendAsync(stream, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, streaming.StatusCode);
        using var ended = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var body = await streaming.Content.ReadAsStringAsync(ended.Token);
        Assert.Equal("retry: 1000\n\n", body);

        // The page, reconnecting, is then refused until it signs in again.
        clock.Now = signedIn + TimeSpan.FromHours(2);
        using var again = new HttpRequestMessage(HttpMethod.Get, "api/alerts/stream") { Headers = { { "Cookie", cookie } } };
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.SendAsync(again)).StatusCode);
        using var relogin = await client.GetAsync($"?access_token={Token}");
        using var renewed = new HttpRequestMessage(HttpMethod.Get, "api/stats") { Headers = { { "Cookie", Assert.Single(relogin.Headers.GetValues("Set-Cookie")).Split(';')[0] } } };
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(renewed)).StatusCode);
    }

    /// <summary>
    /// A reader that stops reading leaves the stream's write waiting for room. The session's end still ends the stream
    /// and gives back its place: with one place (MaxStreams 1), a second stream is refused only until then. The write
    /// used to wait for the reader alone, holding the place, and the application's stop, for good.
    /// </summary>
    [Fact]
    public async Task Session_EndingWhileTheReaderDoesNotRead_EndsTheStreamAndGivesBackItsPlace()
    {
        var clock = new SettableClock(DateTimeOffset.UtcNow);
        await using var harness = await DashboardHarness.StartAsync(new Dictionary<string, string?>
        {
            [$"{DashboardOptions.SectionName}:Token"] = Token,
            [$"{DashboardOptions.SectionName}:SessionHours"] = "1",
            [$"{DashboardOptions.SectionName}:{nameof(DashboardOptions.MaxStreams)}"] = "1",
        }, clock: clock);
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = harness.BaseAddress };
        using var login = await client.GetAsync($"?access_token={Token}");
        var cookie = Assert.Single(login.Headers.GetValues("Set-Cookie")).Split(';')[0];
        // More than the socket buffers and the server's response buffer hold: 16 MiB of alerts.
        var padding = System.Text.Encoding.UTF8.GetBytes("{\"pad\":\"" + new string('x', 64 * 1024) + "\"}");
        var from = harness.Feed.LastId;
        harness.Feed.Publish([.. Enumerable.Range(0, 256).Select(i => new FlowWatch.Worker.Kafka.PublishedAlert(Severity.I, "PADDING", $"E{i}", padding))]);
        // The session ends 3 s from now, by the clock the stream's end is set on.
        clock.Now = clock.Now + TimeSpan.FromHours(1) - TimeSpan.FromSeconds(3);

        using var reader = new Socket(SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        await reader.ConnectAsync(harness.BaseAddress.Host, harness.BaseAddress.Port);
        await reader.SendAsync(Encoding.ASCII.GetBytes(
            $"GET /api/alerts/stream?after={from} HTTP/1.1\r\nHost: {harness.BaseAddress.Authority}\r\nCookie: {cookie}\r\n\r\n"));
        var head = new byte[256];
        var read = await reader.ReceiveAsync(head);
        Assert.StartsWith("HTTP/1.1 200", Encoding.ASCII.GetString(head, 0, read), StringComparison.Ordinal);

        // Not reading any further: the place is taken until the session ends, and then given back.
        using (var second = new HttpRequestMessage(HttpMethod.Get, "api/alerts/stream") { Headers = { { "Cookie", cookie } } })
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.SendAsync(second, HttpCompletionOption.ResponseHeadersRead)).StatusCode);
        }
        using var waited = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            using var next = new HttpRequestMessage(HttpMethod.Get, "api/alerts/stream") { Headers = { { "Cookie", cookie } } };
            using var answer = await client.SendAsync(next, HttpCompletionOption.ResponseHeadersRead, waited.Token);
            if (answer.StatusCode == HttpStatusCode.OK) break;
            Assert.Equal(HttpStatusCode.ServiceUnavailable, answer.StatusCode);
            await Task.Delay(200, waited.Token);
        }
    }

    [Fact]
    public async Task Browser_WithoutTheToken_SentToSignInWhereTheFormPostedFromTheDashboardItselfSetsTheCookie()
    {
        await using var harness = await DashboardHarness.StartAsync(new Dictionary<string, string?> { [$"{DashboardOptions.SectionName}:Token"] = Token });
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = harness.BaseAddress };
        var origin = harness.BaseAddress.GetLeftPart(UriPartial.Authority);

        // A browser asking for a page goes to sign in; the API, asked for anything, still answers 401.
        foreach (var (path, accept, status) in new[]
        {
            ("", "text/html,application/xhtml+xml,*/*;q=0.8", HttpStatusCode.SeeOther),
            ("index.html", "text/html", HttpStatusCode.SeeOther),
            ("api/stats", "text/html", HttpStatusCode.Unauthorized),
            ("api/alerts", "application/json", HttpStatusCode.Unauthorized),
            ("", "*/*", HttpStatusCode.Unauthorized),
        })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path) { Headers = { { "Accept", accept } } };
            using var response = await client.SendAsync(request);
            Assert.True(response.StatusCode == status, $"{path} ({accept}): {response.StatusCode}");
            if (status == HttpStatusCode.SeeOther) Assert.Equal("/signin", response.Headers.Location?.OriginalString);
        }

        // The form: one password field, no script, posted to its own origin only.
        using var form = await client.GetAsync("signin");
        Assert.Equal(HttpStatusCode.OK, form.StatusCode);
        var html = await form.Content.ReadAsStringAsync();
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(html, "<input "));
        Assert.Contains("type=\"password\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        var csp = Assert.Single(form.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("form-action 'self'", csp, StringComparison.Ordinal);
        Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
        Assert.Equal("same-origin", Assert.Single(form.Headers.GetValues("Referrer-Policy")));   // so the browser sends its Origin
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("app.css")).StatusCode);           // its look, without the token

        async Task<HttpResponseMessage> Post(string? from, string token, string? forwardedProto = null)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "signin") { Content = new FormUrlEncodedContent([new("token", token)]) };
            if (from is not null) request.Headers.Add("Origin", from);
            if (forwardedProto is not null) request.Headers.Add("X-Forwarded-Proto", forwardedProto);
            return await client.SendAsync(request);
        }

        // From another site, from nowhere, or from this host over the other scheme: refused, whatever the token.
        foreach (var (from, proto) in new (string?, string?)[] { ("https://evil.example", null), (null, null), ("null", null), (origin, "https") })
        {
            using var foreign = await Post(from, Token, proto);
            Assert.True(foreign.StatusCode == HttpStatusCode.Forbidden, $"{from} {proto}: {foreign.StatusCode}");
            Assert.False(foreign.Headers.Contains("Set-Cookie"));
        }
        using var wrong = await Post(origin, Token + "x");
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.False(wrong.Headers.Contains("Set-Cookie"));
        Assert.Contains("not valid", await wrong.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var signedIn = await Post(origin, Token);
        Assert.Equal(HttpStatusCode.SeeOther, signedIn.StatusCode);
        Assert.Equal("/", signedIn.Headers.Location?.OriginalString);
        var cookie = Assert.Single(signedIn.Headers.GetValues("Set-Cookie"));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=lax", cookie, StringComparison.OrdinalIgnoreCase);
        using var page = new HttpRequestMessage(HttpMethod.Get, "") { Headers = { { "Accept", "text/html" }, { "Cookie", cookie.Split(';')[0] } } };
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(page)).StatusCode);
    }

    /// <summary>
    /// Behind a chain of proxies each forwarding header may hold several values, on one line or several, and a proxy may
    /// write the default port out: the first value is what the browser used, and a default port is the same origin.
    /// </summary>
    [Fact]
    public async Task SignIn_BehindAChainOfProxies_IsTakenFromTheBrowsersOriginWithASecureCookie()
    {
        await using var harness = await DashboardHarness.StartAsync(new Dictionary<string, string?> { [$"{DashboardOptions.SectionName}:Token"] = Token });
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = harness.BaseAddress };

        foreach (var (origin, protos, host, expected) in new (string, string[], string, HttpStatusCode)[]
        {
            ("https://dash.bank.example", ["https"], "dash.bank.example", HttpStatusCode.SeeOther),
            ("https://dash.bank.example", ["https, https"], "dash.bank.example", HttpStatusCode.SeeOther),
            ("https://dash.bank.example", ["https,http"], "dash.bank.example, inner.local", HttpStatusCode.SeeOther),
            ("https://dash.bank.example", ["https", "http"], "dash.bank.example", HttpStatusCode.SeeOther),
            ("https://dash.bank.example", ["https"], "dash.bank.example:443", HttpStatusCode.SeeOther),
            ("https://dash.bank.example:8443", ["https"], "dash.bank.example:8443", HttpStatusCode.SeeOther),
            ("https://dash.bank.example", ["https"], "dash.bank.example:8443", HttpStatusCode.Forbidden),
            ("https://dash.bank.example", ["http, https"], "dash.bank.example", HttpStatusCode.Forbidden),
            ("https://evil.example", ["https"], "dash.bank.example", HttpStatusCode.Forbidden),
            ("https://dash.bank.example/x", ["https"], "dash.bank.example", HttpStatusCode.Forbidden),
        })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "signin") { Content = new FormUrlEncodedContent([new("token", Token)]) };
            request.Headers.Add("Origin", origin);
            foreach (var proto in protos) request.Headers.Add("X-Forwarded-Proto", proto);
            request.Headers.Add("X-Forwarded-Host", host);
            using var response = await client.SendAsync(request);
            var what = $"{origin} via {string.Join(" | ", protos)} for {host}";
            Assert.True(response.StatusCode == expected, $"{what}: {response.StatusCode}");
            if (expected == HttpStatusCode.SeeOther) Assert.Contains("; secure", Assert.Single(response.Headers.GetValues("Set-Cookie")), StringComparison.OrdinalIgnoreCase);
        }
    }

    /// <summary>The token in an address is taken off it on every path, those answered without the token included.</summary>
    [Theory]
    [InlineData("signin")]
    [InlineData("healthz")]
    [InlineData("app.css")]
    public async Task Request_WithTheTokenInItsQuery_OnAPathOpenWithoutIt_IsStillSentOnWithoutIt(string path)
    {
        await using var harness = await DashboardHarness.StartAsync(new Dictionary<string, string?> { [$"{DashboardOptions.SectionName}:Token"] = Token });
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = harness.BaseAddress };

        using var response = await client.GetAsync($"{path}?access_token={Token}");

        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        Assert.Equal("/" + path, response.Headers.Location?.OriginalString);
    }

    /// <summary>A sign-in whose form cannot be read is the client's mistake: 400 or 413, never the server error it was.</summary>
    [Fact]
    public async Task SignIn_FormThatCannotBeRead_IsRefusedAsTheClientsMistakeWithoutACookie()
    {
        await using var harness = await DashboardHarness.StartAsync(new Dictionary<string, string?> { [$"{DashboardOptions.SectionName}:Token"] = Token });
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = harness.BaseAddress };
        var origin = harness.BaseAddress.GetLeftPart(UriPartial.Authority);

        foreach (var (content, status) in new (HttpContent, HttpStatusCode)[]
        {
            (new StringContent("--x\r\nContent-Disposition: form-data; name=\"token\"\r\n\r\n" + Token, System.Text.Encoding.UTF8), HttpStatusCode.BadRequest),
            (new FormUrlEncodedContent([new("token", new string('a', 20_000))]), HttpStatusCode.RequestEntityTooLarge),
        })
        {
            if (status == HttpStatusCode.BadRequest) content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse("multipart/form-data; boundary=x");
            using var request = new HttpRequestMessage(HttpMethod.Post, "signin") { Content = content, Headers = { { "Origin", origin } } };
            using var response = await client.SendAsync(request);
            Assert.Equal(status, response.StatusCode);
            Assert.False(response.Headers.Contains("Set-Cookie"));
        }
    }

    [Theory]
    [InlineData("http://127.0.0.1:8080", "", true)]
    [InlineData("http://localhost:8080", "", true)]
    [InlineData("http://[::1]:8080", "", true)]
    [InlineData("http://0.0.0.0:8080", "", false)]
    [InlineData("http://*:8080", "", false)]
    [InlineData("http://10.1.2.3:8080", "", false)]
    [InlineData("http://loopback:8080", "", false)]          // a name Uri counts as loopback, but Kestrel binds every address for it
    [InlineData("http://my-host:8080", "", false)]
    [InlineData("http://127.0.0.2:8080", "", true)]
    [InlineData("http://127.0.0.1:8080;http://10.1.2.3:8080", "", false)]
    [InlineData("http://10.1.2.3:8080", Token, true)]
    [InlineData("http://10.1.2.3:8080", "short", false)]
    [InlineData("http://10.1.2.3:8080", "                ", false)]         // a header's token is trimmed: it never matches there
    [InlineData("http://10.1.2.3:8080", " a-long-enough-test-token", false)]
    [InlineData("http://10.1.2.3:8080", "a-long-enough\ttest-token", false)]
    [InlineData("http://10.1.2.3:8080", "jeton-d'accès-0123456789", false)]   // a header may not carry "è"
    [InlineData("http://10.1.2.3:8080", "aaaaaaaaaaaaaaaaaaaaaaaa", false)]  // long, but guessed at once
    [InlineData("http://10.1.2.3:8080", "abcdefgabcdefgabcdefg", false)]    // 7 different characters
    [InlineData("http://10.1.2.3:8080", "abcdefghabcdefgh", true)]          // 8, the least taken
    [InlineData("https://127.0.0.1:8443", "", false)]
    [InlineData("not a url", "", false)]
    public void Validate_UrlsAndToken_AllowOnlyLoopbackWithoutToken(string urls, string token, bool valid)
    {
        var problems = new DashboardOptions { Urls = urls, Token = token }.Validate();

        Assert.True(valid == (problems.Count == 0), string.Join("; ", problems));
    }

    [Theory]
    [InlineData("EFE0001234", "EFE***1234")]
    [InlineData("FTE3001", "FTE****")]
    [InlineData("AB", "AB****")]
    public void Mask_AnAccount_KeepsOnlyItsKindAndLastDigits(string account, string masked) =>
        Assert.Equal(masked, AccountMask.Mask(account));
}
