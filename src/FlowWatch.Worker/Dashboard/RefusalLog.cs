using FlowWatch.Worker.Kafka;
using Microsoft.Extensions.Logging;

namespace FlowWatch.Worker.Dashboard;

/// <summary>
/// Which refused requests the dashboard logs one by one: the first <see cref="PerWindow"/> of each minute, and then,
/// once the minute is over, how many more came. Anyone who can reach the dashboard can send bad requests as fast as
/// they like: each logged would flood the log and bury what came before it.
/// </summary>
internal sealed class RefusalLog(ILogger logger, Func<DateTime>? clock = null)
{
    public const int PerWindow = 10;
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    private readonly Func<DateTime> _clock = clock ?? (() => SteadyClock.Now);
    private readonly Lock _lock = new();
    private DateTime? _windowStart;
    private int _logged;
    private int _unlogged;

    /// <summary>Whether to log this refusal; first logs how many went unlogged in the minute before, if any did.</summary>
    public bool Admit()
    {
        var now = _clock();
        int unlogged = 0;
        bool admitted;
        lock (_lock)
        {
            if (_windowStart is not { } start || now - start >= Window)
            {
                (unlogged, _windowStart, _logged, _unlogged) = (_unlogged, now, 0, 0);
            }
            admitted = _logged < PerWindow;
            if (admitted) _logged++;
            else if (_unlogged++ == 0) ScheduleReport(_windowStart!.Value + Window - now);
        }
        if (unlogged > 0) DashboardLog.RefusalsUnlogged(logger, unlogged, PerWindow);
        return admitted;
    }

    /// <summary>
    /// Once the minute is over, logs how many of its refusals went unlogged, if any did, and starts afresh; before its
    /// end, does nothing. A burst of bad requests followed by silence is reported so, not only when another comes.
    /// </summary>
    public void ReportEndedMinute()
    {
        int unlogged;
        lock (_lock)
        {
            if (_windowStart is not { } start || _clock() - start < Window || _unlogged == 0) return;
            (unlogged, _windowStart, _logged, _unlogged) = (_unlogged, null, 0, 0);
        }
        DashboardLog.RefusalsUnlogged(logger, unlogged, PerWindow);
    }

    /// <summary>Reports the minute's unlogged refusals when it ends, even if no refusal comes after it.</summary>
    private void ScheduleReport(TimeSpan left)
    {
        // A second late, so that the minute is surely over by the clock the window is measured on.
        var due = (left > TimeSpan.Zero ? left : TimeSpan.Zero) + TimeSpan.FromSeconds(1);
        _ = Task.Delay(due).ContinueWith(_ => ReportEndedMinute(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
    }
}
