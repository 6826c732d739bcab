using System.Diagnostics;
using FlowWatch.Worker.Cli;

namespace FlowWatch.Testing;

/// <summary>Runs a <c>flowwatch</c> command in the test's process, as the executable would, and captures what it prints.</summary>
internal static class CommandRunner
{
    public static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await CommandLine.RunAsync(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>A <c>flowwatch</c> command as a process of its own, as deployed, with its output and errors read by the test.</summary>
    public static ProcessStartInfo Executable(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "flowwatch.dll"));
        foreach (var arg in args) start.ArgumentList.Add(arg);
        return start;
    }
}
