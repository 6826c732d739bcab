using Microsoft.Extensions.Logging;

namespace FlowWatch.Worker.Cli;

/// <summary>Logging of the plain commands (replay, bench): warnings and worse, on standard error.</summary>
public static class CommandLogging
{
    public static ILoggerFactory Create() => LoggerFactory.Create(logging => logging
        .SetMinimumLevel(LogLevel.Warning)
        .AddSimpleConsole(console => console.SingleLine = true)
        .AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace));
}
