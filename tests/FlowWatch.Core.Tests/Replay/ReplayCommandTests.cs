using System.Text;
using System.Text.Json;
using FlowWatch.Worker.Cli;
using static FlowWatch.Testing.CommandRunner;

namespace FlowWatch.Core.Tests.Replay;

/// <summary>The <c>replay</c> command end to end on files: outputs, dead letters, summary and exit codes.</summary>
public sealed class ReplayCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flowwatch-replay-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>The README's quick-start sample, copied beside the tests.</summary>
    private static string Samples(string file) => Path.Combine(AppContext.BaseDirectory, "samples", file);

    private string PathOf(string name) => Path.Combine(_dir, name);

    [Fact]
    public async Task Replay_SameInputTwice_WritesByteIdenticalAlertFiles()
    {
        var first = await Run("replay", "--reference", Samples("reference.json"), "--events", Samples("events.jsonl"), "--alerts", PathOf("a1.jsonl"), "--dead-letters", PathOf("d1.jsonl"));
        var second = await Run("replay", "--reference", Samples("reference.json"), "--events", Samples("events.jsonl"), "--alerts", PathOf("a2.jsonl"), "--dead-letters", PathOf("d2.jsonl"), "--shards", "4");

        Assert.Equal(0, first.Code);
        Assert.Equal(0, second.Code);
        var alerts = File.ReadAllBytes(PathOf("a1.jsonl"));
        Assert.NotEmpty(alerts);
        Assert.Equal(alerts, File.ReadAllBytes(PathOf("a2.jsonl")));
        Assert.Equal(File.ReadAllBytes(PathOf("d1.jsonl")), File.ReadAllBytes(PathOf("d2.jsonl")));
    }

    [Fact]
    public async Task Replay_Sample_WritesEveryAlertFieldOfTheContract()
    {
        var (code, _, _) = await Run("replay", "--reference", Samples("reference.json"), "--events", Samples("events.jsonl"), "--alerts", PathOf("a.jsonl"));

        Assert.Equal(0, code);
        var lines = File.ReadAllLines(PathOf("a.jsonl"));
        Assert.NotEmpty(lines);
        foreach (var line in lines)
        {
            using var alert = JsonDocument.Parse(line);
            var root = alert.RootElement;
            foreach (var field in new[] { "alertId", "rule", "severity", "entityId", "account", "txnId", "ts", "detectedAt", "message", "metrics", "refs" })
            {
                Assert.True(root.TryGetProperty(field, out _), $"alert lacks '{field}': {line}");
            }
            Assert.Contains(root.GetProperty("severity").GetString(), new[] { "I", "II", "III" });
            Assert.Matches("^[0-9a-f]{32}$", root.GetProperty("alertId").GetString());
            Assert.NotEmpty(root.GetProperty("refs").EnumerateArray());
        }
    }

    [Fact]
    public async Task Replay_BadLines_GoToDeadLettersWithLineNumberRawTextAndReason()
    {
        var events = PathOf("events.jsonl");
        var good = """{"txnId":"T1","ts":"2026-03-01T10:00:00+08:00","account":"FTE0001","entityId":"E1","direction":"IN","amount":"100","currency":"CNY","cpKind":"OFFSHORE"}""";
        await File.WriteAllTextAsync(events, string.Join("\n", good, "{broken", "", """{"txnId":"T2","ts":"nope"}""", good.Replace("\"T1\"", "\"T3\"", StringComparison.Ordinal)) + "\n");
        await File.WriteAllBytesAsync(PathOf("bin.jsonl"), [0xFF, 0xFE, (byte)'{', (byte)'\n']);

        var (code, output, _) = await Run("replay", "--reference", Samples("reference.json"), "--events", events, "--alerts", PathOf("a.jsonl"), "--dead-letters", PathOf("d.jsonl"));
        var binary = await Run("replay", "--reference", Samples("reference.json"), "--events", PathOf("bin.jsonl"), "--alerts", PathOf("a2.jsonl"), "--dead-letters", PathOf("d2.jsonl"));

        Assert.Equal(0, code);
        var deadLetters = File.ReadAllLines(PathOf("d.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal([2L, 4L], deadLetters.Select(d => d.GetProperty("line").GetInt64()));
        Assert.Equal("{broken", deadLetters[0].GetProperty("raw").GetString());
        Assert.StartsWith("malformed JSON", deadLetters[0].GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("ts:", deadLetters[1].GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Matches(@"records read\s+4\b", output);
        Assert.Matches(@"accepted\s+2\b", output);
        Assert.Matches(@"dead letters\s+2\b", output);
        Assert.Contains("records/s", output, StringComparison.Ordinal);

        Assert.Equal(0, binary.Code);
        var raw = JsonDocument.Parse(File.ReadAllLines(PathOf("d2.jsonl")).Single()).RootElement;
        Assert.Equal([0xFF, 0xFE, (byte)'{'], Convert.FromBase64String(raw.GetProperty("rawBase64").GetString()!));
    }

    /// <summary>A duplicate that is another payment reusing an id, or a field passed over, is ignored, and the summary says where and which.</summary>
    [Fact]
    public async Task Replay_DifferingDuplicatesAndUnknownFields_AreNamedInTheSummary()
    {
        var events = PathOf("events.jsonl");
        var good = """{"txnId":"T1","ts":"2026-03-01T10:00:00+08:00","account":"FTE0001","entityId":"E1","direction":"IN","amount":"100","currency":"CNY","cpKind":"OFFSHORE"}""";
        var other = good.Replace("\"100\"", "\"9000000\"", StringComparison.Ordinal);
        var misspelt = good.Replace("\"T1\"", "\"T2\"", StringComparison.Ordinal).Replace("{", """{"metod":"CASH",""", StringComparison.Ordinal);
        await File.WriteAllTextAsync(events, string.Join("\n", good, good, other, misspelt, other) + "\n");

        var (code, output, _) = await Run("replay", "--reference", Samples("reference.json"), "--events", events, "--alerts", PathOf("a.jsonl"));

        Assert.Equal(0, code);
        Assert.Matches(@"duplicates\s+3\b", output);
        Assert.Matches(@"differing from the payment accepted with their txnId\s+2: lines 3, 5\r?\n", output);
        Assert.Matches(@"payments with fields the event contract does not define, passed over\s+1: metod\r?\n", output);
    }

    [Fact]
    public void Summary_MoreDifferingDuplicatesThanItsLines_SaysThereAreMore()
    {
        var counters = new FlowWatch.Core.Engine.EngineCounters { DifferingDuplicates = 12 };
        var output = new StringWriter();

        FlowWatch.Worker.Cli.Summary.Print(output, "replay", counters, elapsed: null, new([], [.. Enumerable.Range(1, 10).Select(i => (long)i)]));

        Assert.Contains("    differing from the payment accepted with their txnId                12: lines 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, …", output.ToString().Split(Environment.NewLine));
    }

    /// <summary>A line past the most a line may hold (a file that lost its newlines, say) is a dead letter, not the end of the replay.</summary>
    [Fact]
    public async Task Replay_LineLongerThanALineMayHold_IsADeadLetterAndTheLinesAfterItAreRead()
    {
        var events = PathOf("events.jsonl");
        var good = """{"txnId":"T1","ts":"2026-03-01T10:00:00+08:00","account":"FTE0001","entityId":"E1","direction":"IN","amount":"100","currency":"CNY","cpKind":"OFFSHORE"}""";
        var runaway = new string('x', Worker.Replay.LineReader.DefaultMaxLineBytes + 5);
        await File.WriteAllTextAsync(events, string.Join("\n", good, runaway, good.Replace("\"T1\"", "\"T3\"", StringComparison.Ordinal)) + "\n");

        var (code, output, _) = await Run("replay", "--reference", Samples("reference.json"), "--events", events, "--alerts", PathOf("a.jsonl"), "--dead-letters", PathOf("d.jsonl"));

        Assert.Equal(0, code);
        var deadLetter = JsonDocument.Parse(File.ReadAllLines(PathOf("d.jsonl")).Single()).RootElement;
        Assert.Equal(2L, deadLetter.GetProperty("line").GetInt64());
        Assert.Equal("record: 16,777,221 bytes, more than the 16,777,216 a line may hold; its first 16,777,216 are kept here", deadLetter.GetProperty("reason").GetString());
        Assert.Equal(runaway[..Worker.Replay.LineReader.DefaultMaxLineBytes], deadLetter.GetProperty("raw").GetString());
        Assert.Matches(@"records read\s+3\b", output);
        Assert.Matches(@"accepted\s+2\b", output);
        Assert.Matches(@"dead letters\s+1\b", output);
    }

    [Fact]
    public async Task Replay_MissingEventsFile_ExitsNonZeroSayingWhy()
    {
        var (code, _, err) = await Run("replay", "--reference", Samples("reference.json"), "--events", PathOf("none.jsonl"), "--alerts", PathOf("a.jsonl"));

        Assert.Equal(CommandLine.CannotRun, code);
        Assert.Contains("none.jsonl", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Replay_BrokenReferenceFile_ExitsNonZeroNamingTheField()
    {
        var reference = PathOf("reference.json");
        await File.WriteAllTextAsync(reference, """{"fxRates":{"USD":7.1},"entities":[{"entityId":"E1","ownersEquityPrevYear":"lots"}]}""", Encoding.UTF8);

        var (code, _, err) = await Run("replay", "--reference", reference, "--events", Samples("events.jsonl"), "--alerts", PathOf("a.jsonl"));

        Assert.Equal(CommandLine.CannotRun, code);
        Assert.Contains("entities[0].ownersEquityPrevYear", err, StringComparison.Ordinal);
        Assert.False(File.Exists(PathOf("a.jsonl")));
    }

    /// <summary>A mistyped directory of the DuckDB file is refused, as for every other output, not made.</summary>
    [Fact]
    public async Task Replay_DuckDbFileInADirectoryThatIsNot_CannotRunAndMakesNoDirectory()
    {
        var missing = PathOf("no-such-directory");
        var duckDb = Path.Combine(missing, "flows.duckdb");

        var (code, _, err) = await Run("replay", "--reference", Samples("reference.json"), "--events", Samples("events.jsonl"), "--alerts", PathOf("a.jsonl"),
            "--duckdb", duckDb);

        Assert.Equal(CommandLine.CannotRun, code);
        Assert.Contains($"FlowWatch:Aggregates:DuckDb (--duckdb): '{duckDb}' is in a directory that does not exist", err, StringComparison.Ordinal);
        Assert.False(Directory.Exists(missing));
        Assert.False(File.Exists(PathOf("a.jsonl")));
    }

    [Fact]
    public async Task Replay_DuckDbPathNamingNoFile_CannotRunSayingSo()
    {
        var (code, _, err) = await Run("replay", "--reference", Samples("reference.json"), "--events", Samples("events.jsonl"), "--alerts", PathOf("a.jsonl"),
            "--duckdb", "/");

        Assert.Equal(CommandLine.CannotRun, code);
        Assert.Contains("FlowWatch:Aggregates:DuckDb (--duckdb): '/' names no file", err, StringComparison.Ordinal);
        Assert.False(File.Exists(PathOf("a.jsonl")));
    }

    [Fact]
    public async Task Replay_UnknownOrMissingOption_IsAUsageError()
    {
        var unknown = await Run("replay", "--reference", Samples("reference.json"), "--events", Samples("events.jsonl"), "--alerts", PathOf("a.jsonl"), "--alrets", "x");
        var missing = await Run("replay", "--events", Samples("events.jsonl"));

        Assert.Equal(CommandLine.UsageError, unknown.Code);
        Assert.Contains("--alrets", unknown.Err, StringComparison.Ordinal);
        Assert.Equal(CommandLine.UsageError, missing.Code);
        Assert.Contains("--reference is required", missing.Err, StringComparison.Ordinal);
    }

    /// <summary>An empty value (an unset shell variable, quoted) is a usage mistake naming the option, for paths too.</summary>
    [Theory]
    [InlineData("--reference", "")]
    [InlineData("--events", "")]
    [InlineData("--alerts", "")]
    [InlineData("--dead-letters", "")]
    [InlineData("--duckdb", "")]
    [InlineData("--config", "")]
    [InlineData("--models", "")]
    [InlineData("--alerts", " ")]
    public async Task Replay_EmptyOptionValue_IsAUsageErrorNamingTheOption(string option, string value)
    {
        var options = new Dictionary<string, string>
        {
            ["--reference"] = Samples("reference.json"), ["--events"] = Samples("events.jsonl"), ["--alerts"] = PathOf("a.jsonl"),
            [option] = value,
        };

        var (code, _, err) = await Run(["replay", .. options.SelectMany(o => new[] { o.Key, o.Value })]);

        Assert.Equal(CommandLine.UsageError, code);
        Assert.Contains($"{option} needs a value", err, StringComparison.Ordinal);
        Assert.False(File.Exists(PathOf("a.jsonl")));
    }

    [Fact]
    public async Task Replay_InvalidRuleSettings_ExitsNonZeroNamingTheKey()
    {
        var config = PathOf("bad.json");
        await File.WriteAllTextAsync(config, """{"FlowWatch":{"Rules":{"StructuringBandFraction":1.5}}}""");

        var (code, _, err) = await Run("replay", "--reference", Samples("reference.json"), "--events", Samples("events.jsonl"), "--alerts", PathOf("a.jsonl"), "--config", config);

        Assert.Equal(CommandLine.CannotRun, code);
        Assert.Contains("FlowWatch:Rules:StructuringBandFraction", err, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{\"FlowWatch\": ")]
    public async Task Replay_ConfigFileThatIsNotJson_ExitsNonZeroNamingTheFile(string text)
    {
        var config = PathOf("broken.json");
        await File.WriteAllTextAsync(config, text);

        var (code, _, err) = await Run("replay", "--reference", Samples("reference.json"), "--events", Samples("events.jsonl"), "--alerts", PathOf("a.jsonl"), "--config", config);

        Assert.Equal(CommandLine.CannotRun, code);
        Assert.Contains("broken.json", err, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", err, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--alerts")]
    [InlineData("--dead-letters")]
    public async Task Replay_OutputNamingTheEventsFile_IsAUsageErrorAndLeavesItAlone(string output)
    {
        var events = PathOf("events.jsonl");
        File.Copy(Samples("events.jsonl"), events);
        var before = await File.ReadAllBytesAsync(events);
        string[] args = output == "--alerts"
            ? ["replay", "--reference", Samples("reference.json"), "--events", events, "--alerts", Path.Combine(_dir, ".", "events.jsonl")]
            : ["replay", "--reference", Samples("reference.json"), "--events", events, "--alerts", PathOf("a.jsonl"), "--dead-letters", events];

        var (code, _, err) = await Run(args);

        Assert.Equal(CommandLine.UsageError, code);
        Assert.Contains($"--events and {output} name the same file", err, StringComparison.Ordinal);
        Assert.Equal(before, await File.ReadAllBytesAsync(events));
    }

    /// <summary>A link to the events file, or a path through a link to its directory, is the same file: it was emptied.</summary>
    [Theory]
    [InlineData("--alerts", false)]
    [InlineData("--dead-letters", false)]
    [InlineData("--dead-letters", true)]
    public async Task Replay_OutputLinkedToTheEventsFile_IsAUsageErrorAndLeavesItAlone(string output, bool linkTheDirectory)
    {
        var events = PathOf("events.jsonl");
        File.Copy(Samples("events.jsonl"), events);
        var before = await File.ReadAllBytesAsync(events);
        string linked;
        if (linkTheDirectory)
        {
            Directory.CreateSymbolicLink(PathOf("same-dir"), ".");
            linked = Path.Combine(_dir, "same-dir", "events.jsonl");
        }
        else
        {
            linked = PathOf("linked.jsonl");
            File.CreateSymbolicLink(linked, "events.jsonl");
        }
        string[] args = output == "--alerts"
            ? ["replay", "--reference", Samples("reference.json"), "--events", events, "--alerts", linked]
            : ["replay", "--reference", Samples("reference.json"), "--events", events, "--alerts", PathOf("a.jsonl"), "--dead-letters", linked];

        var (code, _, err) = await Run(args);

        Assert.Equal(CommandLine.UsageError, code);
        Assert.Contains($"--events and {output} name the same file", err, StringComparison.Ordinal);
        Assert.Equal(before, await File.ReadAllBytesAsync(events));
    }

    /// <summary>
    /// An output that is an input under another name (a hard link: a path cannot tell) is refused before anything is
    /// written, naming its option, and the input is left as it was.
    /// </summary>
    [Theory]
    [InlineData("--events", "--alerts")]
    [InlineData("--events", "--dead-letters")]
    [InlineData("--reference", "--alerts")]
    public async Task Replay_OutputHardLinkedToAnInput_IsRefusedAndLeavesItAlone(string input, string output)
    {
        var events = PathOf("events.jsonl");
        var reference = PathOf("reference.json");
        File.Copy(Samples("events.jsonl"), events);
        File.Copy(Samples("reference.json"), reference);
        var linked = PathOf("linked.jsonl");
        await HardLink(input == "--events" ? events : reference, linked);
        var before = await File.ReadAllBytesAsync(linked);
        string[] args = output == "--alerts"
            ? ["replay", "--reference", reference, "--events", events, "--alerts", linked]
            : ["replay", "--reference", reference, "--events", events, "--alerts", PathOf("a.jsonl"), "--dead-letters", linked];

        var (code, _, err) = await Run(args);

        Assert.Equal(CommandLine.CannotRun, code);
        Assert.Contains($"{output} {linked}: the file is in use", err, StringComparison.Ordinal);
        Assert.Equal(before, await File.ReadAllBytesAsync(linked));
    }

    [Theory]
    [InlineData("--reference", "cannot read '{0}': it is a directory, not a file")]
    [InlineData("--events", "events file '{0}' is a directory, not a file")]
    [InlineData("--alerts", "--alerts {0}: it is a directory, not a file")]
    [InlineData("--dead-letters", "--dead-letters {0}: it is a directory, not a file")]
    public async Task Replay_DirectoryWhereAFileBelongs_StopsSayingSo(string option, string message)
    {
        var directory = PathOf("a-directory");
        Directory.CreateDirectory(directory);
        var files = new Dictionary<string, string>
        {
            ["--reference"] = Samples("reference.json"), ["--events"] = Samples("events.jsonl"),
            ["--alerts"] = PathOf("a.jsonl"), ["--dead-letters"] = PathOf("d.jsonl"),
        };
        files[option] = directory;

        var (code, _, err) = await Run(["replay", .. files.SelectMany(f => new[] { f.Key, f.Value })]);

        Assert.Equal(CommandLine.CannotRun, code);
        Assert.Contains(string.Format(System.Globalization.CultureInfo.InvariantCulture, message, directory), err, StringComparison.Ordinal);
    }

    private static async Task HardLink(string target, string link)
    {
        using var ln = System.Diagnostics.Process.Start("ln", [target, link]);
        await ln.WaitForExitAsync();
        Assert.Equal(0, ln.ExitCode);
    }

    /// <summary>One output that cannot be created leaves the others as they were, and the message names its option.</summary>
    [Fact]
    public async Task Replay_DeadLettersThatCannotBeCreated_LeavesTheAlertsFileThereAsItWas()
    {
        var alerts = PathOf("a.jsonl");
        await File.WriteAllTextAsync(alerts, "earlier alerts\n");
        var deadLetters = PathOf(Path.Combine("no-such-directory", "d.jsonl"));

        var (code, _, err) = await Run("replay", "--reference", Samples("reference.json"), "--events", Samples("events.jsonl"),
            "--alerts", alerts, "--dead-letters", deadLetters);

        Assert.Equal(CommandLine.CannotRun, code);
        Assert.Contains($"--dead-letters {deadLetters}: ", err, StringComparison.Ordinal);
        Assert.Equal("earlier alerts\n", await File.ReadAllTextAsync(alerts));
    }

    [Fact]
    public async Task Replay_DeadLettersNamingTheAlertsFile_IsAUsageError()
    {
        var (code, _, err) = await Run("replay", "--reference", Samples("reference.json"), "--events", Samples("events.jsonl"),
            "--alerts", PathOf("out.jsonl"), "--dead-letters", PathOf("out.jsonl"));

        Assert.Equal(CommandLine.UsageError, code);
        Assert.Contains("--alerts and --dead-letters name the same file", err, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n")]        // a first line holding only the mark is a blank line
    [InlineData(" \t\r\n")]
    public async Task Replay_FileStartingWithAByteOrderMark_LosesNoEvent(string firstLine)
    {
        var events = PathOf("events.jsonl");
        await File.WriteAllBytesAsync(events, [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(firstLine), .. await File.ReadAllBytesAsync(Samples("events.jsonl"))]);

        var plain = await Run("replay", "--reference", Samples("reference.json"), "--events", Samples("events.jsonl"), "--alerts", PathOf("a1.jsonl"), "--dead-letters", PathOf("d1.jsonl"));
        var marked = await Run("replay", "--reference", Samples("reference.json"), "--events", events, "--alerts", PathOf("a2.jsonl"), "--dead-letters", PathOf("d2.jsonl"));

        Assert.Equal(0, marked.Code);
        Assert.Equal(await File.ReadAllBytesAsync(PathOf("a1.jsonl")), await File.ReadAllBytesAsync(PathOf("a2.jsonl")));
        Assert.Equal((await File.ReadAllLinesAsync(PathOf("d1.jsonl"))).Length, (await File.ReadAllLinesAsync(PathOf("d2.jsonl"))).Length);
    }

    [Fact]
    public async Task Migrate_MalformedClickHouseConnectionString_ExitsNonZeroSayingWhy()
    {
        var (code, _, err) = await Run("migrate", "--clickhouse", "garbage");

        Assert.Equal(CommandLine.CannotRun, code);
        Assert.Contains("FlowWatch:Aggregates:ClickHouse (--clickhouse): is not a connection string", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Replay_ClickHouseThatDoesNotAnswerAtStart_ExitsWith3BeforeReadingAnEvent()
    {
        // The tables are created at start, before any write that retries: nothing listens on port 1.
        var (code, output, err) = await Run("replay", "--reference", Samples("reference.json"), "--events", Samples("events.jsonl"),
            "--alerts", PathOf("a.jsonl"), "--clickhouse", "Host=127.0.0.1;Port=1");

        Assert.Equal(CommandLine.CannotRun, code);
        Assert.Contains("creating the aggregate tables in ClickHouse at 127.0.0.1:1", err, StringComparison.Ordinal);
        Assert.DoesNotContain("records read", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Replay_AggregatesNamingAFileWhosePathHoldsAnEqualsSign_WritesThatDuckDbFile()
    {
        // A partition-style directory: the path holds '=' but names no ClickHouse server.
        var file = Path.Combine(PathOf("day=2026-03-02"), "flows.duckdb");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);

        var (code, output, err) = await Run("replay", "--reference", Samples("reference.json"), "--events", Samples("events.jsonl"),
            "--alerts", PathOf("a.jsonl"), "--aggregates", file);

        Assert.True(code == 0, err);
        Assert.Contains($"DuckDB file {file}", output, StringComparison.Ordinal);
        Assert.True(File.Exists(file));
    }

    [Fact]
    public async Task Replay_AggregatesNamingAFile_WritesTheSameTablesAsDuckDb()
    {
        var viaDuckDb = await Run("replay", "--reference", Samples("reference.json"), "--events", Samples("events.jsonl"), "--alerts", PathOf("a1.jsonl"), "--duckdb", PathOf("one.duckdb"));
        var viaAggregates = await Run("replay", "--reference", Samples("reference.json"), "--events", Samples("events.jsonl"), "--alerts", PathOf("a2.jsonl"), "--aggregates", PathOf("two.duckdb"));

        Assert.True(viaDuckDb.Code == 0, viaDuckDb.Err);
        Assert.True(viaAggregates.Code == 0, viaAggregates.Err);
        Assert.Contains("rows written to DuckDB", viaAggregates.Out, StringComparison.Ordinal);
        Assert.Equal(System.Text.RegularExpressions.Regex.Match(viaDuckDb.Out, @"aggregates\s+([\d,]+) rows").Groups[1].Value,
            System.Text.RegularExpressions.Regex.Match(viaAggregates.Out, @"aggregates\s+([\d,]+) rows").Groups[1].Value);
    }

    [Fact]
    public async Task Replay_TwoSinks_IsAUsageError()
    {
        var (code, _, err) = await Run("replay", "--reference", Samples("reference.json"), "--events", Samples("events.jsonl"), "--alerts", PathOf("a.jsonl"),
            "--duckdb", PathOf("one.duckdb"), "--aggregates", "Host=127.0.0.1");

        Assert.Equal(CommandLine.UsageError, code);
        Assert.Contains("give one", err, StringComparison.Ordinal);
    }
}
