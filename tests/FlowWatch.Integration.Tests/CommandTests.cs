using FlowWatch.Core.Engine;
using FlowWatch.Training;
using FlowWatch.Worker.Aggregates;
using FlowWatch.Worker.Cli;
using FlowWatch.Worker.Kafka;
using static FlowWatch.Testing.CommandRunner;

namespace FlowWatch.Integration.Tests;

/// <summary>The streaming commands end to end in this process.</summary>
public sealed class CommandTests
{
    [Fact]
    public async Task Demo_ForAFewSeconds_ProcessesEveryPaymentPrintsASummaryAndFillsDuckDb()
    {
        var duckDb = Path.Combine(Directory.CreateTempSubdirectory("flowwatch-demo-").FullName, "demo.duckdb");
        // More payments than the first 60 simulated days have (about 54,000): the demo goes on with the next days.
        var (code, output, err) = await Run("demo", "--seconds", "4", "--rate", "20000", "--duckdb", duckDb, "--urls", "http://127.0.0.1:0");

        Assert.True(code == 0, err);
        Assert.Contains("embedded broker at 127.0.0.1:", output, StringComparison.Ordinal);
        Assert.Matches(@"dashboard at http://127\.0\.0\.1:[1-9]\d*/", output);
        var produced = long.Parse(System.Text.RegularExpressions.Regex.Match(output, @"produced ([\d,]+) payments").Groups[1].Value.Replace(",", "", StringComparison.Ordinal), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(produced >= 60_000, output);
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(output, $@"records read\s+{produced:N0}\b"), output);
        Assert.Matches(@"duplicates\s+0\b", output);
        Assert.Matches(@"alerts\s+[1-9]", output);
        Assert.Contains("records/s", output, StringComparison.Ordinal);
        Assert.Contains("SELECT rule, severity", output, StringComparison.Ordinal);
        // The committed models score the demo's payments without being named, and the simulator's episodes of every
        // typology show in the summary's alerts, by a rule meant for each.
        Assert.Matches(@"\n    ML_ANOMALY +(I|II|III) +[1-9]", output);
        Assert.All(FlowWatch.Simulator.Typologies.All, typology => Assert.True(
            QualityReport.RulesFor[typology].Any(rule => System.Text.RegularExpressions.Regex.IsMatch(output, $@"\n    {rule} +(I|II|III) +[1-9]")),
            $"no alert of {string.Join(" or ", QualityReport.RulesFor[typology])} for {typology}:\n{output}"));
        // Its breaches of the compliance rules show too: every rule of RULES.md raised an alert.
        Assert.All(RuleCodes.InOrder, rule => Assert.Matches($@"\n    {rule} +(I|II|III) +[1-9]", output));

        // Every committed payment and alert reached the aggregate tables through the aggregates topic.
        var alerts = System.Text.RegularExpressions.Regex.Match(output, @"\n  alerts\s+([\d,]+)").Groups[1].Value.Replace(",", "", StringComparison.Ordinal);
        await using var sink = new DuckDbSink(duckDb);
        Assert.Equal(produced.ToString(System.Globalization.CultureInfo.InvariantCulture), (await sink.QueryAsync("SELECT sum(events) FROM payments_minute", default)).Single().Single());
        Assert.Equal(alerts, (await sink.QueryAsync("SELECT count(*) FROM alerts", default)).Single().Single());
    }

    [Fact]
    public async Task Simulate_ToKafka_ProducesTheFilesPaymentsKeyedByAccountInOrder()
    {
        var dir = Directory.CreateTempSubdirectory("flowwatch-simulate-kafka-").FullName;
        using var broker = FlowWatch.Worker.Kafka.EmbeddedBroker.Start(brokers: 1);
        broker.CreateTopic("simulated", partitions: 3);

        var (code, output, err) = await Run("simulate", "--entities", "300", "--days", "8", "--seed", "5",
            "--out", Path.Combine(dir, "events.jsonl"), "--bootstrap-servers", broker.BootstrapServers, "--topic", "simulated",
            "--labels", Path.Combine(dir, "labels.jsonl"), "--reference", Path.Combine(dir, "reference.json"));

        Assert.True(code == 0, err);
        var lines = File.ReadAllLines(Path.Combine(dir, "events.jsonl"));
        Assert.Contains($"produced {lines.Length:N0} payments to topic 'simulated'", output, StringComparison.Ordinal);
        var messages = StreamingWorkerTests.ReadAll(broker.BootstrapServers, "simulated", lines.Length);
        var values = messages.Select(m => System.Text.Encoding.UTF8.GetString(m.Value)).ToList();
        Assert.Equal(lines.Order(StringComparer.Ordinal), values.Order(StringComparer.Ordinal));
        var payments = values.Select(v => System.Text.Json.JsonDocument.Parse(v).RootElement)
            .Select(p => (Account: p.GetProperty("account").GetString()!, Ts: p.GetProperty("ts").GetDateTimeOffset())).ToList();
        Assert.Equal(payments.Select(p => p.Account), messages.Select(m => m.Key));
        // One account's payments come from one partition, in the order of their times.
        Assert.All(payments.GroupBy(p => p.Account), account =>
            Assert.Equal(account.Select(p => p.Ts).Order(), account.Select(p => p.Ts)));
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public async Task Bench_OnAFewThousandPayments_ReportsBothPhasesAsJson()
    {
        var (code, output, err) = await Run("bench", "--events", "3000", "--entities", "500", "--seconds", "1", "--json");

        Assert.True(code == 0, err);
        using var result = System.Text.Json.JsonDocument.Parse(output);
        var figures = result.RootElement;
        double Number(string name) => figures.GetProperty(name).GetDouble();
        Assert.Equal(3000, Number("events"));
        Assert.Equal(500, Number("entities"));
        Assert.InRange(Number("warmUpEvents"), 0, 3000);
        Assert.True(Number("eventsPerSecondFromStart") > 0 && Number("cpuMicrosecondsPerEventFromStart") > 0, output);
        // A run read within the warm-up has no sustained phase: its sustained figures are null, not the from-start ones.
        if (Number("warmUpEvents") == 0)
        {
            Assert.Equal(System.Text.Json.JsonValueKind.Null, figures.GetProperty("eventsPerSecond").ValueKind);
            Assert.Equal(System.Text.Json.JsonValueKind.Null, figures.GetProperty("cpuMicrosecondsPerEvent").ValueKind);
        }
        else
        {
            Assert.True(Number("eventsPerSecond") > 0 && Number("cpuMicrosecondsPerEvent") > 0, output);
        }
        // Payments at 20,000/s for a second raise alerts, and each percentile is at most the next.
        Assert.True(Number("alerts") > 0, output);
        Assert.True(Number("p50Ms") <= Number("p99Ms") && Number("p99Ms") <= Number("p999Ms"), output);
        Assert.True(Number("p50CommittedMs") <= Number("p99CommittedMs") && Number("p99CommittedMs") <= Number("p999CommittedMs"), output);
        // Collections of a higher generation are counted in the lower ones too; a second of payments allocates.
        Assert.True(Number("collections") >= Number("gen1Collections") && Number("gen1Collections") >= Number("gen2Collections"), output);
        Assert.True(Number("gcPausedMs") >= 0 && (Number("collections") > 0 || Number("gcPausedMs") == 0), output);
        Assert.True(Number("allocatedBytes") > 0, output);
    }

    [Theory]
    [InlineData("--json")]
    [InlineData("--dashboard")]
    [InlineData("--seconds", "5")]
    [InlineData("--rate", "1000")]
    [InlineData("--checkpoint-ms", "100")]
    [InlineData("--entities", "100")]
    public async Task Bench_OfTheSinkWithAnOptionOfTheHarness_IsAUsageMistakeNamingIt(params string[] option)
    {
        var duckDb = Path.Combine(Directory.CreateTempSubdirectory("flowwatch-bench-sink-").FullName, "flows.duckdb");

        var (code, output, err) = await Run(["bench", "--duckdb", duckDb, "--events", "1000", .. option]);

        Assert.Equal(CommandLine.UsageError, code);
        Assert.Contains($"unknown option {option[0]}", err, StringComparison.Ordinal);
        Assert.Empty(output);
        Assert.False(File.Exists(duckDb));
    }

    [Fact]
    public async Task Migrate_TwiceOnADuckDbFile_CreatesTheViewsAndChangesNothingTheSecondTime()
    {
        var duckDb = Path.Combine(Directory.CreateTempSubdirectory("flowwatch-migrate-").FullName, "flows.duckdb");

        var first = await Run("migrate", "--duckdb", duckDb);
        var second = await Run("migrate", "--duckdb", duckDb);

        Assert.True(first.Code == 0, first.Err);
        Assert.True(second.Code == 0, second.Err);
        await using var sink = new DuckDbSink(duckDb);
        Assert.Equal("0", (await sink.QueryAsync("SELECT count(*) FROM alerts", default)).Single().Single());
        Assert.Equal(CommandLine.UsageError, (await Run("migrate")).Code);
    }

    [Fact]
    public async Task Run_WithoutBootstrapServersOrReference_RefusesToStartNamingTheKeys()
    {
        var (code, _, err) = await Run("run");

        Assert.Equal(CommandLine.CannotRun, code);
        Assert.Contains("FlowWatch:Kafka:BootstrapServers", err, StringComparison.Ordinal);
        Assert.Contains("FlowWatch:Kafka:ReferenceFile", err, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("TransactionTimeout", "00:00:00", "TransactionTimeout")]
    [InlineData("TransactionTimeout", "00:00:00.999", "TransactionTimeout")]
    [InlineData("TransactionTimeout", "00:15:00.001", "TransactionTimeout")]
    [InlineData("CommitInterval", "10675199.00:00:00", "CommitInterval")]
    [InlineData("BatchInterval", "30.00:00:00", "BatchInterval")]
    [InlineData("StateIdsPerRecord", "100000", "StateIdsPerRecord")]
    [InlineData("StateRecordBytes", "2000000", "StateRecordBytes")]
    [InlineData("CatchUpTimeout", "00:00:10", "CatchUpTimeout")]   // not longer than TransactionTimeout (10 s)
    [InlineData("PaymentsTopic", "bad topic!", "PaymentsTopic")]
    [InlineData("ControlTopic", "..", "ControlTopic")]
    [InlineData("DeadLetterTopic", "payments", "DeadLetterTopic")]
    [InlineData("StateTopic", "alerts", "StateTopic")]
    [InlineData("ControlTopic", "flowwatch.state", "ControlTopic")]
    [InlineData("Client:no.such.property", "1", "Client")]
    [InlineData("Client:linger.ms", "-5", "Client")]
    [InlineData("Client:group.protocol", "consumer", "Client")]   // the worker's consumer sets a session timeout, which this protocol leaves to the broker
    [InlineData("Client:acks", "1", "Client")]   // the worker's producers are idempotent, which takes acks from all replicas
    public async Task Run_KafkaSettingTheClientsWouldRefuse_RefusesToStartNamingTheKey(string key, string value, string named)
    {
        var config = Path.Combine(Directory.CreateTempSubdirectory("flowwatch-config-").FullName, "config.json");
        var path = key.Split(':');
        var setting = path.Length == 1 ? $"\"{key}\":\"{value}\"" : $"\"{path[0]}\":{{\"{path[1]}\":\"{value}\"}}";
        await File.WriteAllTextAsync(config, "{\"FlowWatch\":{\"Kafka\":{\"BootstrapServers\":\"127.0.0.1:9\",\"ReferenceFile\":\"r.json\"," + setting + "}}}");

        var (code, _, err) = await Run("run", "--config", config);

        Assert.Equal(CommandLine.CannotRun, code);
        Assert.Contains($"FlowWatch:Kafka:{named}:", err, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("replay")]
    [InlineData("demo")]
    [InlineData("train")]
    [InlineData("migrate")]
    public async Task AnyCommand_MisspeltSection_RefusesToStartNamingIt(string command)
    {
        var dir = Directory.CreateTempSubdirectory("flowwatch-config-").FullName;
        var config = Path.Combine(dir, "config.json");
        // A backtest with the rules under a misspelt name would otherwise run on the default rules.
        await File.WriteAllTextAsync(config, """{"FlowWatch":{"Rulse":{"DormantDays":90}}}""");
        string[] args = command switch
        {
            "replay" => ["replay", "--reference", Path.Combine(AppContext.BaseDirectory, "samples", "reference.json"),
                "--events", Path.Combine(AppContext.BaseDirectory, "samples", "events.jsonl"), "--alerts", Path.Combine(dir, "alerts.jsonl")],
            "migrate" => ["migrate", "--duckdb", Path.Combine(dir, "a.duckdb")],
            "train" => ["train", "--models", Path.Combine(dir, "models")],
            _ => [command],
        };

        var (code, _, err) = await Run([.. args, "--config", config]);

        Assert.Equal(CommandLine.CannotRun, code);
        Assert.Contains("FlowWatch:Rulse: is not a FlowWatch setting", err, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(dir, "alerts.jsonl")));
    }

    /// <summary>
    /// Named like a data file (.json, .csv, .parquet), a file that is no database was opened by DuckDB as one it never
    /// writes to, and the rows reported written were lost.
    /// </summary>
    [Theory]
    [InlineData("replay", "notes.duckdb")]
    [InlineData("migrate", "notes.duckdb")]
    [InlineData("replay", "notes.json")]
    [InlineData("replay", "notes.csv")]
    [InlineData("migrate", "notes.parquet")]
    public async Task Command_DuckDbFileThatIsNoDatabase_StopsNamingTheFile(string command, string name)
    {
        var dir = Directory.CreateTempSubdirectory("flowwatch-duckdb-").FullName;
        var file = Path.Combine(dir, name);
        const string Content = """{"not": "a database"}""";
        await File.WriteAllTextAsync(file, Content);
        string[] args = command == "replay"
            ? ["replay", "--reference", TestKafka.Samples("reference.json"), "--events", TestKafka.Samples("events.jsonl"),
                "--alerts", Path.Combine(dir, "alerts.jsonl"), "--duckdb", file]
            : ["migrate", "--duckdb", file];

        var (code, _, err) = await Run(args);

        Assert.Equal(CommandLine.CannotRun, code);
        Assert.Contains($"cannot run: opening DuckDB file {file} failed: ", err, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", err, StringComparison.Ordinal);
        Assert.Equal(Content, await File.ReadAllTextAsync(file));
    }

    /// <summary>
    /// A DuckDB file named on the command line that holds rows already (an earlier run's, of the same transaction ids)
    /// is refused, where the two runs' rows would be mixed; the demo's own file is replaced instead.
    /// </summary>
    [Fact]
    public async Task Demo_IntoADatabaseHoldingRowsAlready_RefusesItButReplacesItsOwnFile()
    {
        var dir = Directory.CreateTempSubdirectory("flowwatch-demo-again-").FullName;
        var file = Path.Combine(dir, "analysis.duckdb");
        var replayed = await Run("replay", "--reference", TestKafka.Samples("reference.json"), "--events", TestKafka.Samples("events.jsonl"),
            "--alerts", Path.Combine(dir, "alerts.jsonl"), "--duckdb", file);
        Assert.Equal(0, replayed.Code);

        var (code, _, err) = await Run("demo", "--seconds", "1", "--duckdb", file, "--urls", "http://127.0.0.1:0");

        Assert.Equal(CommandLine.UsageError, code);
        Assert.Matches($@"DuckDB file {System.Text.RegularExpressions.Regex.Escape(file)} holds [1-9]\d* rows of payments_minute already \(an earlier run's\): the demo's would be mixed with them", err);

        var earlier = File.Exists(DemoCommand.DefaultDuckDbFile);
        await File.WriteAllTextAsync(DemoCommand.DefaultDuckDbFile, "an earlier demo's rows");
        var again = await Run("demo", "--seconds", "1", "--urls", "http://127.0.0.1:0");
        Assert.True(again.Code == 0, again.Err);
        Assert.Contains($"replaced the previous demo's {DemoCommand.DefaultDuckDbFile}", again.Out, StringComparison.Ordinal);
        if (!earlier) File.Delete(DemoCommand.DefaultDuckDbFile);
    }

    /// <summary>
    /// Same options, same bytes, with breaches too, from one process to the next (their random sequence once depended
    /// on a hash that .NET seeds afresh in every process).
    /// </summary>
    [Fact]
    public async Task Simulate_WithBreachesInTwoProcesses_WritesTheSameBytes()
    {
        var dir = Directory.CreateTempSubdirectory("flowwatch-simulate-twice-").FullName;
        foreach (var run in new[] { "a", "b" })
        {
            using var command = System.Diagnostics.Process.Start(Executable("simulate", "--entities", "200", "--days", "8", "--seed", "3", "--breach-rate", "0.01",
                "--out", Path.Combine(dir, run + ".jsonl"), "--labels", Path.Combine(dir, run + "-labels.jsonl"), "--reference", Path.Combine(dir, run + ".json")))!;
            var output = command.StandardOutput.ReadToEndAsync();
            var err = await command.StandardError.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(60));
            await command.WaitForExitAsync();
            Assert.True(command.ExitCode == CommandLine.Success, err);
            Assert.Contains("payments breaking a compliance rule", await output, StringComparison.Ordinal);
        }

        foreach (var file in new[] { ".jsonl", "-labels.jsonl", ".json" })
        {
            Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(dir, "a" + file)), await File.ReadAllBytesAsync(Path.Combine(dir, "b" + file)));
        }
    }

    [Fact]
    public async Task Demo_UrlThatIsNoUrl_RefusedBeforeAnythingStarts()
    {
        var (code, output, err) = await Run("demo", "--seconds", "1", "--urls", "garbage");

        Assert.Equal(CommandLine.CannotRun, code);
        Assert.Contains("FlowWatch:Dashboard:Urls (--urls): 'garbage' is not http://host:port", err, StringComparison.Ordinal);
        Assert.DoesNotContain("embedded broker", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_Check_ValidatesAndExitsWithoutContactingTheBroker()
    {
        var reference = Path.Combine(AppContext.BaseDirectory, "samples", "reference.json");

        // Nothing listens on port 9; a start would wait for it.
        var valid = await Run("run", "--check", "--bootstrap-servers", "127.0.0.1:9", "--reference", reference).WaitAsync(TimeSpan.FromSeconds(60));
        var broken = await Run("run", "--check", "--bootstrap-servers", "127.0.0.1:9", "--reference", "missing.json");

        Assert.Equal((CommandLine.Success, "run: settings, reference data and models are valid"), (valid.Code, valid.Out.Trim()));
        Assert.Equal(CommandLine.CannotRun, broken.Code);
        Assert.Contains("missing.json", broken.Err, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"Kafka\":{\"CommitInterval\":\"abc\"}", "FlowWatch:Kafka:CommitInterval")]
    [InlineData("\"Kafka\":{\"CommitIntervall\":\"00:00:01\"}", "CommitIntervall")]
    [InlineData("\"Rules\":{\"DormantDay\":90}", "DormantDay")]
    [InlineData("\"Kafka\":{\"PublishAggregates\":true}", "PublishAggregates")]
    [InlineData("\"Rules\":{\"DormantDays\":\"ninety\"}", "FlowWatch:Rules:DormantDays")]
    [InlineData("\"Aggregates\":{\"MaxRows\":\"lots\"}", "FlowWatch:Aggregates:MaxRows")]
    [InlineData("\"Dashboard\":{\"Enabled\":\"maybe\"}", "FlowWatch:Dashboard:Enabled")]
    [InlineData("\"Dashboard\":{\"RecentAlert\":500}", "RecentAlert")]
    [InlineData("\"Dashboard\":{\"Enabled\":false,\"RecentAlert\":500}", "RecentAlert")]
    [InlineData("\"Dashbaord\":{\"Token\":\"0123456789abcdef\"}", "FlowWatch:Dashbaord")]
    [InlineData("\"Models\":{\"Dir\":\"models\"}", "FlowWatch:Models:Dir")]
    [InlineData("\"Models\":{\"Directory\":{\"Path\":\"models\"}}", "FlowWatch:Models:Directory:Path")]
    [InlineData("\"Models\":\"models\"", "FlowWatch:Models:")]
    [InlineData("\"Dashboard\":false", "FlowWatch:Dashboard:")]
    [InlineData("\"Kafka\":{\"InstanceId\":\"worker 1\"}", "FlowWatch:Kafka:InstanceId: 'worker 1' is not a Kafka group instance id")]
    [InlineData("\"Kafka\":{\"InstanceId\":\"pods/worker-1\"}", "FlowWatch:Kafka:InstanceId: 'pods/worker-1' is not a Kafka group instance id")]
    public async Task Run_MisspeltKeyOrValueOfTheWrongType_RefusesToStartNamingIt(string section, string named)
    {
        var config = Path.Combine(Directory.CreateTempSubdirectory("flowwatch-config-").FullName, "config.json");
        // The reference file does not exist: a setting passed over would end the start there, with another reason.
        await File.WriteAllTextAsync(config, "{\"FlowWatch\":{" + section + "}}");

        var (code, _, err) = await Run("run", "--config", config, "--bootstrap-servers", "127.0.0.1:9", "--reference", "r.json");

        Assert.Equal(CommandLine.CannotRun, code);
        Assert.Contains(named, err, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", err, StringComparison.Ordinal);
    }

    /// <summary>
    /// A monitored account's holder misspelt in reference data (E-SAN-06 for E-SAN-006, a sanctioned entity) leaves its
    /// payments unscreened as that entity's: allowed, since a payment may name any entity, and said at start, by
    /// --check and by replay.
    /// </summary>
    [Fact]
    public async Task RunCheckAndReplay_MonitoredAccountWithAHolderWithoutRecord_SayWhichAccountAndHolder()
    {
        var dir = Directory.CreateTempSubdirectory("flowwatch-holders-").FullName;
        var reference = Path.Combine(dir, "reference.json");
        var sample = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "samples", "reference.json"));
        await File.WriteAllTextAsync(reference, System.Text.RegularExpressions.Regex.Replace(sample,
            "(\"account\":\\s*\"OSA6001\"[^}]*\"entityId\":\\s*\")E-SAN-006\"", "${1}E-SAN-06\""));
        Assert.Contains("E-SAN-06\"", await File.ReadAllTextAsync(reference), StringComparison.Ordinal);
        const string Said = "reference data: monitored accounts name holders that have no entity record (1), so their payments are judged as an unknown entity's " +
                            "(not screened as a sanctioned entity, no penetration cap); a misspelt entityId? OSA**** of 'E-SAN-06'";

        foreach (var args in new[]
        {
            new[] { "run", "--check", "--bootstrap-servers", "127.0.0.1:9", "--reference", reference },
            ["replay", "--reference", reference, "--events", Path.Combine(AppContext.BaseDirectory, "samples", "events.jsonl"), "--alerts", Path.Combine(dir, "a.jsonl")],
        })
        {
            using var command = System.Diagnostics.Process.Start(Executable(args))!;
            var output = command.StandardOutput.ReadToEndAsync();
            var err = await command.StandardError.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(60));
            await command.WaitForExitAsync();

            Assert.True(command.ExitCode == CommandLine.Success, err);
            Assert.Contains(Said, await output + err, StringComparison.Ordinal);
        }
    }

    /// <summary>The host's logging refused it as it was built: run, --check too, ended with a stack trace and no exit code of its own.</summary>
    [Fact]
    public async Task Run_Check_LogLevelThatIsNone_RefusesNamingTheKey()
    {
        var config = Path.Combine(Directory.CreateTempSubdirectory("flowwatch-config-").FullName, "config.json");
        await File.WriteAllTextAsync(config, """{"Logging":{"LogLevel":{"Default":"Chatty"}}}""");

        var (code, _, err) = await Run("run", "--check", "--config", config, "--bootstrap-servers", "127.0.0.1:9",
            "--reference", Path.Combine(AppContext.BaseDirectory, "samples", "reference.json"));

        Assert.Equal(CommandLine.CannotRun, code);
        Assert.Contains("Logging:LogLevel:Default: 'Chatty' is not a log level", err, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", err, StringComparison.Ordinal);

        // The host reads sources of its own too: an environment variable without FlowWatch's prefix.
        var start = Executable("run", "--check", "--bootstrap-servers", "127.0.0.1:9", "--reference", Path.Combine(AppContext.BaseDirectory, "samples", "reference.json"));
        start.Environment["Logging__LogLevel__FlowWatch__Kafka"] = "Loud";
        using var run = System.Diagnostics.Process.Start(start)!;
        var output = run.StandardOutput.ReadToEndAsync();
        var hostErr = await run.StandardError.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(60));
        await run.WaitForExitAsync();
        Assert.Equal(CommandLine.CannotRun, run.ExitCode);
        Assert.Contains("Logging:LogLevel:FlowWatch:Kafka: 'Loud' is not a log level", hostErr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", hostErr + await output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_WithClientProperties_LogsNothingAboutTheBrokerItChecksThemWith()
    {
        // The reference file is missing: run stops right after checking the settings.
        var start = Executable("run", "--bootstrap-servers", "kafka1.bank.example:9093", "--reference", "missing.json");
        start.Environment["FLOWWATCH_FlowWatch__Kafka__Client__linger.ms"] = "5";
        using var run = System.Diagnostics.Process.Start(start)!;
        var output = run.StandardOutput.ReadToEndAsync();
        var err = await run.StandardError.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(60));
        await run.WaitForExitAsync();

        // The client that checks the properties is never used: its failing connections are not the operator's cluster.
        Assert.Equal(CommandLine.CannotRun, run.ExitCode);
        Assert.DoesNotContain("127.0.0.1:9", err + await output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_DashboardPortTaken_ExitsWithTheReasonAndNoStackTrace()
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        var start = Executable("run", "--bootstrap-servers", "127.0.0.1:9",
            "--reference", Path.Combine(AppContext.BaseDirectory, "samples", "reference.json"), "--urls", $"http://127.0.0.1:{port}");
        using var run = System.Diagnostics.Process.Start(start)!;
        var output = run.StandardOutput.ReadToEndAsync();
        var err = await run.StandardError.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(60));
        await run.WaitForExitAsync();

        Assert.Equal(CommandLine.CannotRun, run.ExitCode);
        Assert.Contains($"http://127.0.0.1:{port}: address already in use", err, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", err + await output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_SigtermWhileReadingTheReferenceData_StopsCleanlyWithExitCode0()
    {
        // A reference file that is a pipe: run waits in opening it until the test writes it, before its host runs.
        var reference = Path.Combine(Directory.CreateTempSubdirectory("flowwatch-early-stop-").FullName, "reference.json");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", [reference])) await mkfifo.WaitForExitAsync();
        var start = Executable("run", "--bootstrap-servers", "127.0.0.1:9",
            "--reference", reference, "--urls", "http://127.0.0.1:0");
        using var run = System.Diagnostics.Process.Start(start)!;
        try
        {
            var output = run.StandardOutput.ReadToEndAsync();
            var err = run.StandardError.ReadToEndAsync();
            // Opening the pipe to write returns once run has opened it to read.
            try
            {
                await using var writer = new FileStream(reference, FileMode.Open, FileAccess.Write);
                using (var kill = System.Diagnostics.Process.Start("kill", ["-TERM", run.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) await kill.WaitForExitAsync();
                await Task.Delay(500);
                await writer.WriteAsync(await File.ReadAllBytesAsync(Path.Combine(AppContext.BaseDirectory, "samples", "reference.json")));
            }
            catch (IOException)
            {
                // the pipe broke: run is gone, and its exit code says how
            }
            await run.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));

            Assert.True(run.ExitCode == 0, $"exit code {run.ExitCode}: {await err}");
            Assert.DoesNotContain("consuming", await output, StringComparison.Ordinal);
        }
        finally
        {
            if (!run.HasExited) run.Kill();
        }
    }

    [Theory]
    [InlineData("FLOWWATCH_Logging__LogLevel__Microsoft.AspNetCore.Hosting.Diagnostics")]
    [InlineData("FLOWWATCH_Logging__Console__LogLevel__Microsoft.AspNetCore.Hosting")]
    [InlineData("FLOWWATCH_Logging__Console__LogLevel__Default")]
    public async Task Run_RequestLoggingTurnedOn_NeverLogsTheDashboardToken(string setting)
    {
        const string Token = "s3cret-token-0123456789abcdef";
        int port;
        using (var free = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            free.Start();
            port = ((System.Net.IPEndPoint)free.LocalEndpoint).Port;
        }
        var start = Executable("run", "--bootstrap-servers", "127.0.0.1:9",
            "--reference", Path.Combine(AppContext.BaseDirectory, "samples", "reference.json"), "--urls", $"http://127.0.0.1:{port}");
        start.Environment["FLOWWATCH_FlowWatch__Dashboard__Token"] = Token;
        start.Environment[setting] = "Information";
        using var run = System.Diagnostics.Process.Start(start)!;
        try
        {
            var output = run.StandardOutput.ReadToEndAsync();
            var err = run.StandardError.ReadToEndAsync();
            using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
            var deadline = DateTime.UtcNow.AddSeconds(30);
            HttpResponseMessage? answer = null;
            while (answer is null && DateTime.UtcNow < deadline)
            {
                try
                {
                    answer = await client.GetAsync(new Uri($"http://127.0.0.1:{port}/?access_token={Token}"));
                }
                catch (HttpRequestException)
                {
                    await Task.Delay(200);   // not listening yet
                }
            }
            Assert.Equal(System.Net.HttpStatusCode.SeeOther, answer?.StatusCode);
            using (var kill = System.Diagnostics.Process.Start("kill", ["-TERM", run.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) await kill.WaitForExitAsync();
            await run.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));

            Assert.DoesNotContain(Token, await output + await err, StringComparison.Ordinal);
        }
        finally
        {
            if (!run.HasExited) run.Kill();
        }
    }

    [Theory]
    [InlineData("TransactionTimeout", "00:00:01")]
    [InlineData("TransactionTimeout", "00:15:00")]
    [InlineData("StateIdsPerRecord", "35000")]
    [InlineData("StateRecordBytes", "900000")]
    [InlineData("Client:linger.ms", "5")]
    public void Validate_KafkaSettingsAtTheirBounds_AreTaken(string key, string value)
    {
        var options = new FlowWatch.Worker.Kafka.KafkaOptions { BootstrapServers = "127.0.0.1:9", ReferenceFile = "r.json" };
        switch (key)
        {
            case "TransactionTimeout":
                options.TransactionTimeout = TimeSpan.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
                options.CatchUpTimeout = TimeSpan.FromHours(1);   // which must be longer
                break;
            case "StateIdsPerRecord": options.StateIdsPerRecord = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
            case "StateRecordBytes": options.StateRecordBytes = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
            default: options.Client[key.Split(':')[1]] = value; break;
        }

        Assert.Empty(options.Validate());
    }
}

/// <summary><c>flowwatch broker</c> serves other processes until it is stopped.</summary>
public sealed class BrokerCommandTests
{
    [Fact]
    public async Task Broker_AsItsOwnProcess_PrintsBootstrapServersServesClientsAndStopsOnSigterm()
    {
        var start = Executable("broker", "--partitions", "2");
        using var broker = System.Diagnostics.Process.Start(start)!;
        try
        {
            var bootstrap = await broker.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Matches(@"^127\.0\.0\.1:\d+$", bootstrap);

            using var producer = new Confluent.Kafka.ProducerBuilder<Confluent.Kafka.Null, string>(new Confluent.Kafka.ProducerConfig { BootstrapServers = bootstrap }).Build();
            var delivered = await producer.ProduceAsync("payments", new Confluent.Kafka.Message<Confluent.Kafka.Null, string> { Value = "{}" });
            Assert.Equal(Confluent.Kafka.PersistenceStatus.Persisted, delivered.Status);

            await DeliveryHarness.StopGracefully(broker);
            Assert.Equal(0, broker.ExitCode);
        }
        finally
        {
            if (!broker.HasExited) broker.Kill();
        }
    }

    [Fact]
    public async Task Broker_StoppedAndResumed_ServesClientsAgain()
    {
        var start = Executable("broker", "--partitions", "1");
        using var broker = System.Diagnostics.Process.Start(start)!;
        try
        {
            var bootstrap = await broker.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
            // Which thread takes a SIGCONT varies: twenty pauses give the cluster's thread its chances to.
            foreach (var signal in Enumerable.Repeat(new[] { "-STOP", "-CONT" }, 20).SelectMany(pair => pair))
            {
                using var kill = System.Diagnostics.Process.Start("kill", [signal, broker.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
                await kill.WaitForExitAsync();
                await Task.Delay(100);
            }

            using var producer = new Confluent.Kafka.ProducerBuilder<Confluent.Kafka.Null, string>(
                new Confluent.Kafka.ProducerConfig { BootstrapServers = bootstrap, MessageTimeoutMs = 10_000 }).Build();
            var delivered = await producer.ProduceAsync("payments", new Confluent.Kafka.Message<Confluent.Kafka.Null, string> { Value = "{}" });
            Assert.Equal(Confluent.Kafka.PersistenceStatus.Persisted, delivered.Status);
        }
        finally
        {
            if (!broker.HasExited) broker.Kill();
        }
    }
}
