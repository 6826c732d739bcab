using Microsoft.Extensions.Options;

namespace FlowWatch.Worker.Dashboard;

/// <summary>
/// The live alert streams open now, at most <see cref="DashboardOptions.MaxStreams"/>: each holds a connection for as long
/// as its page is open, so without a bound anyone who can reach the dashboard could hold as many as they like.
/// </summary>
public sealed class LiveStreams(IOptions<DashboardOptions> options)
{
    private int _open;

    /// <summary>Takes a place for a new stream; false when every place is taken.</summary>
    public bool TryOpen()
    {
        if (Interlocked.Increment(ref _open) <= options.Value.MaxStreams) return true;
        Interlocked.Decrement(ref _open);
        return false;
    }

    /// <summary>Gives back the place of a stream that ended.</summary>
    public void Close() => Interlocked.Decrement(ref _open);
}
