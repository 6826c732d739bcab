namespace FlowWatch.Core.Tests;

/// <summary>A clock that moves only when told; its timers fire as it passes their time.</summary>
internal sealed class ManualTime : TimeProvider
{
    private readonly List<ManualTimer> _timers = [];
    private long _ticks = 1_000_000;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public int TimersScheduled => _timers.Count(t => t.Due is not null);

    public override long GetTimestamp() => _ticks;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, () => callback(state));
        timer.Change(dueTime, period);
        _timers.Add(timer);
        return timer;
    }

    /// <summary>Moves the clock a tick at a time past each due timer, firing it at its time.</summary>
    public void Advance(TimeSpan by)
    {
        var end = _ticks + by.Ticks;
        while (_timers.Where(t => t.Due <= end).OrderBy(t => t.Due).FirstOrDefault() is { } next)
        {
            _ticks = next.Due!.Value;
            next.Due = null;
            next.Fire();
        }
        _ticks = end;
    }

    private sealed class ManualTimer(ManualTime time, Action fire) : ITimer
    {
        public long? Due { get; set; }

        public void Fire() => fire();

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            Assert.Equal(Timeout.InfiniteTimeSpan, period);
            Due = dueTime == Timeout.InfiniteTimeSpan ? null : time._ticks + dueTime.Ticks;
            return true;
        }

        public void Dispose() => Due = null;

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
