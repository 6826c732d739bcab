using FlowWatch.Worker.Cli;
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
