using System.Globalization;
using FlowWatch.Worker.Aggregates;

namespace FlowWatch.Integration.Tests.Aggregates;

/// <summary>Replays into a real ClickHouse server and a real DuckDB file, checked against sums computed independently.</summary>
[Collection(SharedClickHouse.Name)]
public sealed class AggregateSinkTests(ClickHouseServer clickHouse) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flowwatch-aggregates-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string> Sinks => ["clickhouse", "duckdb"];

    private async Task<IAggregateSink> Open(string kind, string name = "flows")
    {
        var options = kind == "clickhouse"
            ? new AggregateOptions { ClickHouse = clickHouse.NewDatabase() }
            : new AggregateOptions { DuckDb = Path.Combine(_dir, name + ".duckdb") };
        return (await options.OpenSinkAsync(CancellationToken.None))!;
    }

    private static async Task<string> Scalar(IAggregateSink sink, string sql) => (await sink.QueryAsync(sql, CancellationToken.None)).Single().Single();

    [Theory]
    [MemberData(nameof(Sinks))]
    public async Task Replay_GeneratedWeek_TotalsEqualTheIndependentSumsAndAlertsTheAlertFile(string kind)
    {
        var input = AggregateInput.Synthetic(_dir, events: 12_000);
        await using var sink = await Open(kind);
        var alertsPath = Path.Combine(_dir, "alerts.jsonl");

        var replay = input.ReplayInto(sink, alertsPath);

        Assert.Equal(input.Events, replay.Counters.Accepted);
        Assert.Equal(input.Events.ToString(CultureInfo.InvariantCulture), await Scalar(sink, "SELECT sum(events) FROM payments_minute"));
        Assert.Equal(QueryValues.Text(input.AmountCny), await Scalar(sink, "SELECT sum(amount_cny) FROM payments_minute"));
        await AssertRollUpsHold(sink, input);
        var alertLines = File.ReadAllLines(alertsPath).Length;
        Assert.True(alertLines > 0);
        Assert.Equal(alertLines.ToString(CultureInfo.InvariantCulture), await Scalar(sink, "SELECT count(*) FROM alerts"));
        Assert.Equal(replay.Counters.Alerts.ToString(CultureInfo.InvariantCulture), await Scalar(sink, "SELECT count(DISTINCT alert_id) FROM alerts"));
    }

    [Fact]
    public async Task Replay_OneBatchOfMoreThan50000Rows_IsSplitAcrossParallelInsertsAndStillExact()
    {
        var input = AggregateInput.Synthetic(_dir, events: 60_000, seed: 3);
        await using var sink = await Open("clickhouse");

        input.ReplayInto(sink, Path.Combine(_dir, "alerts.jsonl"), batchRecords: 100_000);

        Assert.Equal(input.Events.ToString(CultureInfo.InvariantCulture), await Scalar(sink, "SELECT sum(events) FROM payments_minute"));
        Assert.Equal(QueryValues.Text(input.AmountCny), await Scalar(sink, "SELECT sum(amount_cny) FROM payments_hourly"));
        Assert.Equal(QueryValues.Text(input.AmountCny), await Scalar(sink, "SELECT sum(amount_cny) FROM corridor_daily"));
        Assert.True(long.Parse(await Scalar(sink, "SELECT count(*) FROM payments_minute_rows"), CultureInfo.InvariantCulture) > 50_000);
    }

    [Fact]
    public async Task Replay_ServerThatCutsInsertsIntoSmallBlocks_RollUpsStayExact()
    {
        var input = AggregateInput.Synthetic(_dir, events: 12_000, seed: 5);
        // As a server configured with small insert blocks would: every insert of more than 1,000 rows in several blocks.
        await using var sink = (await new AggregateOptions { ClickHouse = clickHouse.NewDatabase()
            + ";set_max_insert_block_size=1000;set_min_insert_block_size_rows=1000;set_min_insert_block_size_bytes=1000" }
            .OpenSinkAsync(CancellationToken.None))!;

        input.ReplayInto(sink, Path.Combine(_dir, "alerts.jsonl"));

        await AssertRollUpsHold(sink, input);
    }

    [Theory]
    [MemberData(nameof(Sinks))]
    public async Task Write_TheSameBatchTwiceInOneWrite_CountsItOnceInEveryView(string kind)
    {
        await using var sink = await Open(kind);
        var minute = new DateTimeOffset(2026, 3, 2, 9, 30, 0, TimeSpan.FromHours(8)).UtcTicks;
        var batch = new FlowWatch.Core.Aggregates.AggregateBatch("payments/0@0-2",
            [new(EntityId: "E1", MinuteTicks: minute, AccountKind: FlowWatch.Core.Contracts.AccountKind.EFE, Channel: FlowWatch.Core.Contracts.Channel.SecondLineSameName,
                Direction: FlowWatch.Core.Contracts.Direction.Out, Currency: "CNY", Events: 3, Amount: 1500.5m, AmountCny: 1500.5m)],
            [new(MinuteTicks: minute, AccountKind: FlowWatch.Core.Contracts.AccountKind.EFE, CpKind: FlowWatch.Core.Contracts.AccountKind.DOMESTIC, CpCountry: "CN",
                Currency: "CNY", Direction: FlowWatch.Core.Contracts.Direction.Out, Events: 3, AmountCny: 1500.5m)],
            []);

        // As a feed whose consumer group rebalanced reads a batch twice before one write.
        await sink.WriteAsync(new SinkBatch([batch, batch], []), CancellationToken.None);

        foreach (var view in new[] { "payments_minute", "payments_hourly", "payments_daily", "corridor_minute", "corridor_hourly", "corridor_daily" })
        {
            Assert.Equal("3", await Scalar(sink, $"SELECT sum(events) FROM {view}"));
        }
    }

    [Theory]
    [MemberData(nameof(Sinks))]
    public async Task Write_PaymentInTheSummersOf1986To1991_CountsInItsUtcPlus8MinuteAndDay(string kind)
    {
        // RULES.md §1: Shanghai is UTC+8. The tz database's Asia/Shanghai kept daylight saving time (UTC+9) in
        // 1986–1991, within the times FlowWatch accepts, where 23:30 at UTC+8 would show as 00:30 the next day.
        await using var sink = await Open(kind);
        var minute = new DateTimeOffset(1988, 7, 1, 23, 30, 0, TimeSpan.FromHours(8)).UtcTicks;
        var batch = new FlowWatch.Core.Aggregates.AggregateBatch("payments/0@0-1",
            [new(EntityId: "E1", MinuteTicks: minute, AccountKind: FlowWatch.Core.Contracts.AccountKind.NRA, Channel: FlowWatch.Core.Contracts.Channel.CrossBorder,
                Direction: FlowWatch.Core.Contracts.Direction.In, Currency: "CNY", Events: 1, Amount: 2_000_000m, AmountCny: 2_000_000m)],
            [], []);

        await sink.WriteAsync(new SinkBatch([batch], []), CancellationToken.None);

        Assert.Equal("1988-07-01 23:30:00", await Scalar(sink, "SELECT minute FROM payments_minute"));
        Assert.Equal("1988-07-01 23:00:00", await Scalar(sink, "SELECT hour FROM payments_hourly"));
        Assert.Equal("1988-07-01", await Scalar(sink, "SELECT day FROM payments_daily"));
    }

    [Theory]
    [MemberData(nameof(Sinks))]
    public async Task Write_PaymentInTheFirstMinuteAccepted_IsFoundByItsDay(string kind)
    {
        // 1970-01-01T00:00:00Z, the first instant FlowWatch accepts, is 0 in Unix time: ClickHouse 18.16 shows it as
        // 0000-00-00 00:00:00 (docs/ANALYST-GUIDE.md), but the value and its day compare as 1970-01-01.
        await using var sink = await Open(kind);
        var batch = new FlowWatch.Core.Aggregates.AggregateBatch("payments/0@0-1",
            [new(EntityId: "E1", MinuteTicks: DateTime.UnixEpoch.Ticks, AccountKind: FlowWatch.Core.Contracts.AccountKind.NRA,
                Channel: FlowWatch.Core.Contracts.Channel.CrossBorder, Direction: FlowWatch.Core.Contracts.Direction.In, Currency: "CNY",
                Events: 1, Amount: 10m, AmountCny: 10m)],
            [], []);

        await sink.WriteAsync(new SinkBatch([batch], []), CancellationToken.None);

        foreach (var view in new[] { "payments_minute", "payments_hourly", "payments_daily" })
        {
            Assert.Equal("1", await Scalar(sink, $"SELECT sum(events) FROM {view} WHERE day = '1970-01-01'"));
        }
        string[] shown = kind == "duckdb" ? ["1970-01-01 08:00:00"] : ["1970-01-01 08:00:00", "0000-00-00 00:00:00"];
        Assert.Contains(await Scalar(sink, "SELECT minute FROM payments_minute"), shown);
    }

    [Theory]
    [MemberData(nameof(Sinks))]
    public async Task Query_TextWithBackslashesAndTabsAndEmptyValues_ComesBackAsWritten(string kind)
    {
        await using var sink = await Open(kind);
        var minute = new DateTimeOffset(2026, 3, 2, 9, 30, 0, TimeSpan.FromHours(8)).UtcTicks;
        // A corridor without a counterparty country (empty), and an alert whose message holds a backslash before a t,
        // two backslashes, a tab and a line break: ClickHouse sends each of these escaped.
        var batch = new FlowWatch.Core.Aggregates.AggregateBatch("payments/0@0-0", [],
            [new(MinuteTicks: minute, AccountKind: FlowWatch.Core.Contracts.AccountKind.EFE, CpKind: FlowWatch.Core.Contracts.AccountKind.DOMESTIC, CpCountry: "",
                Currency: "CNY", Direction: FlowWatch.Core.Contracts.Direction.Out, Events: 1, AmountCny: 10m)],
            []);
        const string message = "paid to C:\\temp\\new \\\\share\tfor\nGOODS_TRADE";
        var alert = new FlowWatch.Core.Contracts.Alert
        {
            AlertId = "a1", Rule = "LARGE_VALUE_REPORT", Severity = FlowWatch.Core.Contracts.Severity.I, EntityId = "E1", Account = "EFE0001",
            TxnId = "T1", Ts = new DateTimeOffset(minute, TimeSpan.Zero), DetectedAt = new DateTimeOffset(minute, TimeSpan.Zero), Message = message,
            Metrics = new FlowWatch.Core.Contracts.AlertMetrics(), Refs = [],
        };

        await sink.WriteAsync(new SinkBatch([batch], [alert]), CancellationToken.None);

        Assert.Equal([[""]], await sink.QueryAsync("SELECT cp_country FROM corridor_minute", CancellationToken.None));
        Assert.Equal([["", "1"]], await sink.QueryAsync("SELECT cp_country, events FROM corridor_minute", CancellationToken.None));
        Assert.Equal([[message]], await sink.QueryAsync("SELECT message FROM alerts", CancellationToken.None));
    }

    /// <summary>The hourly and daily roll-ups of payments and corridors hold every event and yuan of the input.</summary>
    private static async Task AssertRollUpsHold(IAggregateSink sink, AggregateInput input)
    {
        var total = input.Events.ToString(CultureInfo.InvariantCulture);
        var cny = QueryValues.Text(input.AmountCny);
        Assert.Equal(total, await Scalar(sink, "SELECT sum(events) FROM payments_hourly"));
        Assert.Equal(cny, await Scalar(sink, "SELECT sum(amount_cny) FROM payments_daily"));
        Assert.Equal(total, await Scalar(sink, "SELECT sum(events) FROM corridor_hourly"));
        Assert.Equal(cny, await Scalar(sink, "SELECT sum(amount_cny) FROM corridor_daily"));
    }

    [Theory]
    [MemberData(nameof(Sinks))]
    public async Task Replay_SameInputTwice_LeavesEveryGuideAnswerUnchanged(string kind)
    {
        var input = AggregateInput.Synthetic(_dir, events: 6_000);
        await using var sink = await Open(kind);
        input.ReplayInto(sink, Path.Combine(_dir, "first.jsonl"));
        var first = await AnalystGuide.Answers(sink);

        input.ReplayInto(sink, Path.Combine(_dir, "second.jsonl"));
        await sink.MigrateAsync(CancellationToken.None);   // the schema is safe to apply again, too

        Assert.Equal(first, await AnalystGuide.Answers(sink));
        Assert.Equal(input.Events.ToString(CultureInfo.InvariantCulture), await Scalar(sink, "SELECT sum(events) FROM payments_daily"));
    }

    [Theory]
    [MemberData(nameof(Sinks))]
    public async Task Replay_SameFileWithAnotherBatchSize_CountsItsFlowsTwice(string kind)
    {
        // docs/ANALYST-GUIDE.md: batches are named by their line ranges, so other ranges are other batches.
        var samples = AggregateInput.Samples();
        await using var sink = await Open(kind);

        samples.ReplayInto(sink, Path.Combine(_dir, "first.jsonl"));
        Assert.Equal("42", await Scalar(sink, "SELECT sum(events) FROM payments_daily"));
        var alerts = await Scalar(sink, "SELECT count(*) FROM alerts");
        samples.ReplayInto(sink, Path.Combine(_dir, "second.jsonl"), batchRecords: 10);

        Assert.Equal("84", await Scalar(sink, "SELECT sum(events) FROM payments_daily"));
        Assert.Equal(alerts, await Scalar(sink, "SELECT count(*) FROM alerts"));   // alerts are keyed by their own ids
    }

    [Theory]
    [MemberData(nameof(Sinks))]
    public async Task Replay_SameFileWithACorrectedRate_DuckDbKeepsTheOldValuesClickHouseShowsTheNew(string kind)
    {
        var samples = AggregateInput.Samples();
        var corrected = Path.Combine(_dir, "reference-usd-7.2.json");
        var reference = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(samples.ReferencePath))!;
        reference["fxRates"]!["USD"] = 7.2m;
        File.WriteAllText(corrected, reference.ToJsonString());
        await using var sink = await Open(kind);
        const string usdOnMarch4 = "SELECT sum(amount_cny) FROM payments_daily WHERE currency = 'USD' AND day = '2026-03-04'";

        samples.ReplayInto(sink, Path.Combine(_dir, "first.jsonl"));
        Assert.Equal("142000", await Scalar(sink, usdOnMarch4));   // 20,000 USD at 7.1
        (samples with { ReferencePath = corrected }).ReplayInto(sink, Path.Combine(_dir, "second.jsonl"));

        Assert.Equal(kind == "duckdb" ? "142000" : "144000", await Scalar(sink, usdOnMarch4));
        Assert.Equal(kind == "duckdb" ? "142000" : "144000", await Scalar(sink,
            "SELECT sum(amount_cny) FROM payments_hourly WHERE currency = 'USD' AND day = '2026-03-04'"));
    }

    [Theory]
    [MemberData(nameof(Sinks))]
    public async Task Replay_TwoFilesOfOneYear_KeepsThePositionOfTheReplayWithMorePaymentsOfTheEntity(string kind)
    {
        // samples/events.jsonl: lines 1-4 are E-HQ-001's first four penetration payments (N = 9,700,000.5), the rest
        // hold one more (100,000 out), its fifth of the year but the first of a replay of that part alone.
        var lines = File.ReadAllLines(AggregateInput.Samples().EventsPath);
        var parts = new[] { lines[..4], lines[4..] }.Select((part, i) =>
        {
            var path = Path.Combine(_dir, $"part{i}.jsonl");
            File.WriteAllLines(path, part);
            return AggregateInput.Samples() with { EventsPath = path };
        }).ToList();
        await using var sink = await Open(kind);

        parts[0].ReplayInto(sink, Path.Combine(_dir, "first.jsonl"));
        parts[1].ReplayInto(sink, Path.Combine(_dir, "second.jsonl"));

        Assert.Equal("9700000.5", await Scalar(sink, "SELECT net_inflow FROM penetration_positions WHERE entity_id = 'E-HQ-001'"));
        Assert.Equal("42", await Scalar(sink, "SELECT sum(events) FROM payments_daily"));
    }

    [Theory]
    [MemberData(nameof(Sinks))]
    public async Task GuideQuestion3_EntityWithACapOf0_IsListedAfterTheRankedOnesWithoutUtilisation(string kind)
    {
        var rows = await QuotaLeaderboard(kind, equityOfHq002: "0");

        Assert.Equal(["E-HQ-001", "E-HQ-002"], rows.Select(r => r[0]));
        Assert.Equal(["E-HQ-002", "2026", "300000", "0", "0", "\\N", "\\N"], rows[^1]);   // both caps 0
    }

    /// <summary>
    /// A position that leans out of the zone is ranked by its outflow cap: E-HQ-002 (equity 1,000,000; caps 500,000 each
    /// way once the samples' control record halves the factor) at a net inflow of −4,700,000 uses 9.4 times it, above
    /// E-HQ-001's 1.96 of its inflow cap.
    /// </summary>
    [Theory]
    [MemberData(nameof(Sinks))]
    public async Task GuideQuestion3_APositionLeaningOut_IsRankedByItsOutflowUtilisation(string kind)
    {
        var rows = await QuotaLeaderboard(kind, equityOfHq002: "1000000",
            """{"txnId":"Q3-IN","ts":"2026-03-05T10:00:00+08:00","account":"EFE0002","direction":"IN","amount":"5000000","currency":"CNY","cpKind":"DOMESTIC","cpAccount":"DOM-HQ-002","cpEntityId":"E-HQ-002","purpose":"GOODS_TRADE"}""");

        Assert.Equal(["E-HQ-002", "E-HQ-001"], rows.Select(r => r[0]));
        Assert.Equal(["-4700000", "500000", "500000", "-9.4", "9.4"], rows[0][2..]);
    }

    /// <summary>The guide's quota leaderboard over the samples, with E-HQ-002's equity set and more payments after them.</summary>
    private async Task<IReadOnlyList<string[]>> QuotaLeaderboard(string kind, string equityOfHq002, params string[] morePayments)
    {
        var samples = AggregateInput.Samples();
        var reference = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(samples.ReferencePath))!;
        reference["entities"]!.AsArray().Single(e => (string?)e!["entityId"] == "E-HQ-002")!["ownersEquityPrevYear"] = equityOfHq002;
        var referencePath = Path.Combine(_dir, "reference-equity.json");
        File.WriteAllText(referencePath, reference.ToJsonString());
        var eventsPath = Path.Combine(_dir, "events-more.jsonl");
        File.WriteAllLines(eventsPath, [.. File.ReadAllLines(samples.EventsPath), .. morePayments]);
        await using var sink = await Open(kind);
        (samples with { ReferencePath = referencePath, EventsPath = eventsPath }).ReplayInto(sink, Path.Combine(_dir, "alerts.jsonl"));
        return await sink.QueryAsync(AnalystGuide.Queries().Single(q => q.Contains("FROM penetration_positions", StringComparison.Ordinal)),
            CancellationToken.None);
    }

    /// <summary>
    /// The guide's reading of `metrics` for each database gives a USD-equivalent of 28 significant digits to its 10th
    /// decimal, where a double would keep about 16 (115,352,112.67605634 and no more).
    /// </summary>
    [Theory]
    [MemberData(nameof(Sinks))]
    public async Task GuideMetricsQuery_OfEachDatabase_ReadsATaxFilingsUsdEquivalentExactly(string kind)
    {
        // 900,000,000 HKD at 0.91 is 819,000,000 CNY, 115,352,112.676056338028169014084507… USD at 7.10.
        var samples = AggregateInput.Samples();
        var eventsPath = Path.Combine(_dir, "events-tax.jsonl");
        File.WriteAllLines(eventsPath, [.. File.ReadAllLines(samples.EventsPath),
            """{"txnId":"TAX-1","ts":"2026-03-05T10:00:00+08:00","account":"FTE3001","direction":"OUT","amount":"900000000","currency":"HKD","cpKind":"OFFSHORE","cpAccount":"HK-TAX","cpCountry":"HK","purpose":"SERVICE_TRADE"}"""]);
        await using var sink = await Open(kind);
        (samples with { EventsPath = eventsPath }).ReplayInto(sink, Path.Combine(_dir, "alerts.jsonl"));

        var rows = await sink.QueryAsync(AnalystGuide.QueryFor(kind), CancellationToken.None);

        var taxFiling = Assert.Single(rows, row => row[0] == "TAX-1");
        Assert.Equal(115_352_112.6760563380m, decimal.Parse(taxFiling[1], CultureInfo.InvariantCulture));
    }

    [Theory]
    [MemberData(nameof(Sinks))]
    public async Task GuideQuestion7_WithTheGuidesFilter_NetsToEachPenetrationPosition(string kind)
    {
        // Same-name second-line payments the quota does not count: an FTE account's (FTE is not in penetrationKinds)
        // and one in USD.
        var events = Path.Combine(_dir, "events.jsonl");
        File.WriteAllLines(events, [.. File.ReadAllLines(AggregateInput.Samples().EventsPath),
            """{"txnId":"Q7-1","ts":"2026-03-11T09:00:00+08:00","account":"FTE3001","direction":"OUT","amount":"700000","currency":"CNY","cpKind":"DOMESTIC","cpEntityId":"E-TJ-003"}""",
            """{"txnId":"Q7-2","ts":"2026-03-11T10:00:00+08:00","account":"EFE0001","direction":"OUT","amount":"1000","currency":"USD","cpKind":"DOMESTIC","cpAccount":"DOM-HQ-001"}"""]);
        await using var sink = await Open(kind);
        (AggregateInput.Samples() with { EventsPath = events }).ReplayInto(sink, Path.Combine(_dir, "alerts.jsonl"));
        var question = AnalystGuide.Queries().Single(q => q.Contains("channel = 'SECOND_LINE_SAME_NAME'", StringComparison.Ordinal));
        var filtered = question.Replace("WHERE channel = 'SECOND_LINE_SAME_NAME'",
            "WHERE channel = 'SECOND_LINE_SAME_NAME' AND currency = 'CNY' AND account_kind = 'EFE'", StringComparison.Ordinal);
        Assert.NotEqual(question, filtered);

        var positions = (await sink.QueryAsync("SELECT entity_id, net_inflow FROM penetration_positions ORDER BY entity_id", CancellationToken.None))
            .Select(r => $"{r[0]} {r[1]}");

        Assert.Equal(["E-HQ-001 9800000.5", "E-HQ-002 300000"], positions);
        Assert.Equal(positions, await Net(filtered));
        Assert.NotEqual(positions, await Net(question));

        // Σ OUT − Σ IN of the question's rows per entity, as "entity net".
        async Task<IEnumerable<string>> Net(string sql) => (await sink.QueryAsync(sql, CancellationToken.None))
            .GroupBy(r => r[1], StringComparer.Ordinal)
            .Select(g => $"{g.Key} {QueryValues.Text(g.Sum(r => (r[2] == "OUT" ? 1 : -1) * decimal.Parse(r[4], CultureInfo.InvariantCulture)))}")
            .OrderBy(line => line, StringComparer.Ordinal);
    }

    [Fact]
    public async Task GuideQueries_OnBothDatabases_GiveTheSameAnswersAndEachFindsSomething()
    {
        var queries = AnalystGuide.Queries();
        Assert.True(queries.Count >= 10, $"the guide has {queries.Count} queries");
        var inputs = new[] { AggregateInput.Samples(), AggregateInput.Synthetic(_dir, events: 12_000) };
        var answered = new bool[queries.Count];
        for (var i = 0; i < inputs.Length; i++)
        {
            await using var house = await Open("clickhouse");
            await using var duck = await Open("duckdb", $"input{i}");
            inputs[i].ReplayInto(house, Path.Combine(_dir, $"house{i}.jsonl"));
            inputs[i].ReplayInto(duck, Path.Combine(_dir, $"duck{i}.jsonl"));
            var houseAnswers = await AnalystGuide.Answers(house);
            var duckAnswers = await AnalystGuide.Answers(duck);
            for (var q = 0; q < queries.Count; q++)
            {
                Assert.True(houseAnswers[q] == duckAnswers[q],
                    $"query {q + 1} differs on input {i}:\n{queries[q]}\nClickHouse:\n{houseAnswers[q]}\nDuckDB:\n{duckAnswers[q]}");
                answered[q] |= houseAnswers[q].Length > 0;
            }
        }
        for (var q = 0; q < queries.Count; q++) Assert.True(answered[q], $"query {q + 1} found nothing on any input:\n{queries[q]}");
    }

    [Fact]
    public async Task Positions_AfterReplay_HoldTheNewestPositionWithCapsAndUtilisation()
    {
        await using var sink = await Open("duckdb");
        AggregateInput.Samples().ReplayInto(sink, Path.Combine(_dir, "alerts.jsonl"), batchRecords: 3);

        var rows = await sink.QueryAsync(
            "SELECT entity_id, year, net_inflow, inflow_cap, outflow_cap, inflow_utilisation, outflow_utilisation FROM penetration_positions ORDER BY entity_id",
            CancellationToken.None);

        // samples/events.jsonl: E-HQ-001 (equity 10,000,000) moves 5,000,000 + 3,000,000 + 2,500,000.50 out of the zone
        // and 800,000 back; a control record then halves the macro-prudential factor and 100,000 more goes out:
        // N = 9,800,000.50 against the caps in force for that last payment, 5,000,000 each way.
        // Utilisations 1.9600001 and -1.9600001 read 1.960001 and -1.960001: rounded up beyond the cap, down below it.
        // E-HQ-002 has no equity on file, so no cap and no utilisation.
        Assert.Contains(rows, r => r[0] == "E-HQ-002" && r[3] == "\\N" && r[5] == "\\N");
        var hq1 = Assert.Single(rows, r => r[0] == "E-HQ-001");
        Assert.Equal(["E-HQ-001", "2026", "9800000.5", "5000000", "5000000", "1.960001", "-1.960001"], hq1);
    }
}
