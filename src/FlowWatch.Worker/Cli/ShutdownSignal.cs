using System.Runtime.InteropServices;

namespace FlowWatch.Worker.Cli;

/// <summary>A cancellation token that fires on Ctrl-C, SIGINT or SIGTERM, for graceful shutdown.</summary>
public sealed class ShutdownSignal : IDisposable
{
    private readonly CancellationTokenSource _source = new();
    private readonly PosixSignalRegistration[] _registrations;

    public ShutdownSignal()
    {
        _registrations =
        [
            PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop),
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop),
        ];
    }

    public CancellationToken Token => _source.Token;

    private void Stop(PosixSignalContext context)
    {
        context.Cancel = true;   // shut down ourselves instead of being killed
        _source.Cancel();
    }

    public void Dispose()
    {
        foreach (var registration in _registrations) registration.Dispose();
        _source.Dispose();
    }
}
