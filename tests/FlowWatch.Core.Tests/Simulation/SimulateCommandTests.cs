using System.Text.Json;
using FlowWatch.Core.Tests.Models;
using FlowWatch.Simulator;
using FlowWatch.Worker.Cli;
using static FlowWatch.Testing.CommandRunner;

namespace FlowWatch.Core.Tests.Simulation;

/// <summary><c>simulate</c> then <c>replay</c> with the committed models, end to end on files.</summary>
public sealed class SimulateCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flowwatch-simulate-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string PathOf(string name) => Path.Combine(_dir, name);

    [Fact]
    public async Task Simulate_ThenReplayWithTheModels_WritesLabelsAndRaisesTheScoredRules()
    {
        var simulated = await Run("simulate", "--entities", "300", "--days", "8", "--seed", "3", "--episode-rate", "0.02",
            "--out", PathOf("events.jsonl"), "--labels", PathOf("labels.jsonl"), "--reference", PathOf("reference.json"));
        var replayed = await Run("replay", "--reference", PathOf("reference.json"), "--events", PathOf("events.jsonl"),
            "--alerts", PathOf("alerts.jsonl"), "--dead-letters", PathOf("dead.jsonl"), "--models", TrainedModelsFixture.CommittedModels());

        Assert.Equal(0, simulated.Code);
        Assert.Equal(0, replayed.Code);
        Assert.Contains("episodes", simulated.Out, StringComparison.Ordinal);
        Assert.Contains("models ", replayed.Out, StringComparison.Ordinal);
        var labels = LabelledSimulation.ReadLabels(PathOf("labels.jsonl"));
        Assert.Equal(Typologies.All.Order(), labels.Select(l => l.Typology).Distinct().Order());
        Assert.Equal(0, new FileInfo(PathOf("dead.jsonl")).Length);
        var rules = File.ReadLines(PathOf("alerts.jsonl")).Select(line => JsonDocument.Parse(line).RootElement.GetProperty("rule").GetString()).ToHashSet();
        Assert.Superset(new HashSet<string?> { "HIGH_FREQUENCY", "AMOUNT_ANOMALY", "ML_ANOMALY" }, rules);
    }

    /// <summary>Breaches are labelled by the rule they break, counted on the console, and raise that rule in a replay.</summary>
    [Fact]
    public async Task Simulate_WithBreaches_LabelsEachByTheRuleItBreaksAndReplayRaisesIt()
    {
        var simulated = await Run("simulate", "--entities", "300", "--days", "8", "--seed", "3", "--breach-rate", "0.005",
            "--out", PathOf("events.jsonl"), "--labels", PathOf("labels.jsonl"), "--reference", PathOf("reference.json"));
        var replayed = await Run("replay", "--reference", PathOf("reference.json"), "--events", PathOf("events.jsonl"),
            "--alerts", PathOf("alerts.jsonl"), "--dead-letters", PathOf("dead.jsonl"), "--models", TrainedModelsFixture.CommittedModels());

        Assert.Equal((0, 0), (simulated.Code, replayed.Code));
        var breaches = LabelledSimulation.ReadLabels(PathOf("labels.jsonl")).Where(l => !Typologies.All.Contains(l.Typology)).ToList();
        Assert.Contains($"{breaches.Count:N0} payments breaking a compliance rule", simulated.Out, StringComparison.Ordinal);
        var raised = File.ReadLines(PathOf("alerts.jsonl")).Select(line => JsonDocument.Parse(line).RootElement)
            .Select(alert => (alert.GetProperty("txnId").GetString(), alert.GetProperty("rule").GetString())).ToHashSet();
        Assert.All(breaches, breach => Assert.Contains((breach.TxnIds.Single(), breach.Typology), raised));
        Assert.Equal(LabelledSimulation.BreachRules.Order(), breaches.Select(b => b.Typology).Distinct().Order());
    }

    [Fact]
    public async Task Simulate_WithoutLabelsPath_IsAUsageError()
    {
        var result = await Run("simulate", "--out", PathOf("events.jsonl"), "--reference", PathOf("reference.json"));

        Assert.Equal(CommandLine.UsageError, result.Code);
        Assert.Contains("--labels", result.Err, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--out or --bootstrap-servers is required")]
    [InlineData("--topic needs --bootstrap-servers", "--topic", "payments")]
    public async Task Simulate_WithoutWhereThePaymentsGo_IsAUsageError(string message, params string[] more)
    {
        var result = await Run(["simulate", "--labels", PathOf("labels.jsonl"), "--reference", PathOf("reference.json"), .. more]);

        Assert.Equal(CommandLine.UsageError, result.Code);
        Assert.Contains(message, result.Err, StringComparison.Ordinal);
        Assert.False(File.Exists(PathOf("labels.jsonl")));
    }

    [Theory]
    [InlineData("--labels")]
    [InlineData("--reference")]
    public async Task Simulate_OutputThatCannotBeCreated_StopsNamingItsOptionAndWritesNoOtherFile(string option)
    {
        // A directory that does not exist: no file can be created in it, whoever runs the test.
        var unwritable = PathOf(Path.Combine("no-such-directory", "file.json"));
        string[] outputs = option == "--labels"
            ? ["--labels", unwritable, "--reference", PathOf("reference.json")]
            : ["--labels", PathOf("labels.jsonl"), "--reference", unwritable];

        var result = await Run(["simulate", "--entities", "300", "--days", "8", "--seed", "3", "--out", PathOf("events.jsonl"), .. outputs]);

        Assert.Equal(CommandLine.CannotRun, result.Code);
        Assert.Contains($"{option} {unwritable}: ", result.Err, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_dir));
    }

    /// <summary>Files there already are left as they were, not emptied, when another output cannot be created.</summary>
    [Fact]
    public async Task Simulate_OutputThatCannotBeCreated_LeavesTheFilesThereAlreadyAsTheyWere()
    {
        await File.WriteAllTextAsync(PathOf("events.jsonl"), "earlier payments\n");
        await File.WriteAllTextAsync(PathOf("labels.jsonl"), "earlier labels\n");

        var result = await Run(["simulate", "--entities", "300", "--days", "8", "--seed", "3", "--out", PathOf("events.jsonl"),
            "--labels", PathOf("labels.jsonl"), "--reference", PathOf(Path.Combine("no-such-directory", "file.json"))]);

        Assert.Equal(CommandLine.CannotRun, result.Code);
        Assert.Equal("earlier payments\n", await File.ReadAllTextAsync(PathOf("events.jsonl")));
        Assert.Equal("earlier labels\n", await File.ReadAllTextAsync(PathOf("labels.jsonl")));
    }

    [Theory]
    [InlineData("--entities", "1000000", "--days", "3650", "--entities × --days × --activity must be at most 1,000,000")]
    [InlineData("--entities", "50", "--activity", "20", "fewer than the 2 due; simulate more entities")]
    [InlineData("--entities", "1000", "--episode-rate", "0.1", "--episode-rate must be a number from 0 to 0.05")]
    [InlineData("--entities", "1000", "--breach-rate", "0.06", "--breach-rate must be a number from 0 to 0.05")]
    public async Task Simulate_OptionsItCannotBuild_IsAUsageErrorSayingWhy(string option1, string value1, string option2, string value2, string message)
    {
        var result = await Run("simulate", option1, value1, option2, value2,
            "--out", PathOf("events.jsonl"), "--labels", PathOf("labels.jsonl"), "--reference", PathOf("reference.json"));

        Assert.Equal(CommandLine.UsageError, result.Code);
        Assert.Contains(message, result.Err, StringComparison.Ordinal);
        Assert.False(File.Exists(PathOf("events.jsonl")));
    }
}
