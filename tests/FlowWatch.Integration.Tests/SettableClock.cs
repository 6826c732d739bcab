namespace FlowWatch.Integration.Tests;

/// <summary>A clock whose time of day is what it is told; its steady timestamps and timers are the system's.</summary>
internal sealed class SettableClock(DateTimeOffset now) : TimeProvider
{
    private readonly Lock _lock = new();
    private DateTimeOffset _now = now;

    public DateTimeOffset Now
    {
        get
        {
            lock (_lock) return _now;
        }
        set
        {
            lock (_lock) _now = value;
        }
    }

    public override DateTimeOffset GetUtcNow() => Now;
}
