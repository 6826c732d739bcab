namespace FlowWatch.Worker.Cli;

/// <summary>
/// A service of <c>run</c>'s host stopped it with an error of no kind the command line knows (the worker logs its own
/// as event 1009, with the stack trace): <c>run</c> cannot go on, and ends with exit code 3 and the error's message.
/// </summary>
public sealed class ServiceStoppedException(Exception error)
    : Exception("stopped by an unexpected error: " + string.Join("; ", error is AggregateException all ? all.InnerExceptions.Select(e => e.Message) : [error.Message]), error);
