using FlowWatch.Worker.Cli;
using FlowWatch.Worker.Replay;
using static FlowWatch.Testing.CommandRunner;

namespace FlowWatch.Core.Tests.Cli;

public sealed class HelpTests
{
    [Theory]
    [InlineData("replay", "flowwatch replay --reference R")]
    [InlineData("run", "flowwatch run [--config C]")]
    [InlineData("demo", "flowwatch demo [--seconds N]")]
    [InlineData("simulate", "flowwatch simulate")]
    [InlineData("train", "flowwatch train [--seed S]")]
    [InlineData("bench", "flowwatch bench [--events N]")]
    [InlineData("migrate", "flowwatch migrate [")]
    [InlineData("broker", "flowwatch broker [")]
    public async Task Command_WithHelp_PrintsItsUsageAndDoesNothingElse(string command, string usage)
    {
        // Beside other options too, which are not checked: a --help is asked before anything is run.
        foreach (var help in new[] { "--help", "-h" })
        {
            var (code, output, err) = await Run(command, "--events", "missing.jsonl", help);

            Assert.Equal(CommandLine.Success, code);
            Assert.StartsWith("usage: " + usage, output, StringComparison.Ordinal);
            Assert.DoesNotContain("commands:", output, StringComparison.Ordinal);
            Assert.Empty(err);
        }
    }

    /// <summary>A known command's mistake comes with that command's usage, not with every command's.</summary>
    [Fact]
    public async Task Command_UsageMistake_SaysItWithTheCommandsOwnUsage()
    {
        var (code, output, err) = await Run("replay", "--events", "e.jsonl");

        Assert.Equal(CommandLine.UsageError, code);
        Assert.Empty(output);
        Assert.Equal(["flowwatch: --reference is required", "usage: " + ReplayCommand.Usage, "(flowwatch replay --help says more)"],
            err.TrimEnd().Split(Environment.NewLine));
    }

    [Theory]
    [InlineData("--reference=r.json", "write --reference and its value as two arguments, not --reference=r.json")]
    [InlineData("--REFERENCE", "unknown option --REFERENCE: options are written in lower case, --reference")]
    [InlineData("--Alerts", "unknown option --Alerts: options are written in lower case, --alerts")]
    public async Task Replay_OptionWrittenOtherwise_NamedAsWritten(string option, string said)
    {
        string[] args = option switch
        {
            "--Alerts" => ["replay", "--reference", "r.json", "--events", "e.jsonl", "--alerts", "a.jsonl", option, "b.jsonl"],
            _ when option.Contains('=', StringComparison.Ordinal) => ["replay", option, "--events", "e.jsonl", "--alerts", "a.jsonl"],
            _ => ["replay", option, "r.json", "--events", "e.jsonl", "--alerts", "a.jsonl"],
        };

        var (code, _, err) = await Run(args);

        Assert.Equal(CommandLine.UsageError, code);
        Assert.StartsWith($"flowwatch: {said}{Environment.NewLine}", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Demo_ZeroSeconds_IsAUsageMistake()
    {
        // Left out, --seconds means until stopped; 0 ran for ever too, which a script meaning "at once" would not expect.
        var (code, _, err) = await Run("demo", "--seconds", "0");

        Assert.Equal(CommandLine.UsageError, code);
        Assert.StartsWith($"flowwatch: --seconds must be a whole number from 1 to 86400{Environment.NewLine}", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownCommand_WithHelp_IsAUsageMistakeWithTheWholeHelp()
    {
        var (code, _, err) = await Run("reply", "--help");

        Assert.Equal(CommandLine.UsageError, code);
        Assert.Contains("unknown command 'reply'", err, StringComparison.Ordinal);
        Assert.Contains("commands:", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoCommand_IsAUsageMistakeWithTheWholeHelpOnStderr()
    {
        var (code, output, err) = await Run();

        Assert.Equal(CommandLine.UsageError, code);
        Assert.Empty(output);
        Assert.StartsWith("usage: flowwatch <command>", err, StringComparison.Ordinal);
        Assert.Contains("commands:", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_PrintsTheWholeHelpOnStdout()
    {
        var (code, output, err) = await Run("--help");

        Assert.Equal(CommandLine.Success, code);
        Assert.StartsWith("usage: flowwatch <command>", output, StringComparison.Ordinal);
        Assert.Empty(err);
    }
}
