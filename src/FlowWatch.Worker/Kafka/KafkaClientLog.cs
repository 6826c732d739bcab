using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace FlowWatch.Worker.Kafka;

/// <summary>
/// librdkafka's log lines and errors of Kafka clients, routed to an <see cref="ILogger"/> (without a log handler
/// librdkafka writes them raw to stderr). A broker out of reach makes each client repeat the same few lines several
/// times a second, or every few seconds as its reconnections back off, so a line already logged (same facility and
/// text, the numbers of librdkafka's closing remark aside: "(after 0ms …)", "(after 3ms …, 1 identical error(s)
/// suppressed)" make the same line another text each time) is not logged again while it keeps coming: one event
/// counts its repeats after <see cref="SummaryInterval"/>, and each next count after twice the interval of the one before, up to
/// <see cref="MaxSummaryInterval"/>, so that a long outage does not fill the log. A timer logs the last count of a
/// line that stopped coming at the end of its interval (the client may have nothing more to say); a line back after
/// <see cref="QuietInterval"/> or more of quiet (a new outage) is logged in full at once, and one quiet that long is
/// forgotten. One instance may serve the clients a worker builds again for each of its sessions, so that a session
/// restarted in an outage does not log the outage's lines in full again. Called on librdkafka's threads.
/// </summary>
public sealed class KafkaClientLog(ILogger logger, string client, TimeProvider? time = null)
{
    public static readonly TimeSpan SummaryInterval = TimeSpan.FromSeconds(10);

    public static readonly TimeSpan MaxSummaryInterval = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Quiet after which a line is a new one: longer than librdkafka's reconnection back-off (10 s at most by default),
    /// which spaces a refused connection's lines about that far apart.
    /// </summary>
    public static readonly TimeSpan QuietInterval = TimeSpan.FromMinutes(1);

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Lock _lock = new();
    private readonly Dictionary<(bool IsError, string Facility, string Shape), Repeats> _recent = [];
    private long _nextSweep = long.MaxValue;
    private long _timerDue = long.MaxValue;
    private ITimer? _timer;

    /// <summary>
    /// A line or error logged in full at <see cref="Since"/>, or counted there, and its repeats since, to be counted
    /// <see cref="Interval"/> (timestamp ticks) after.
    /// </summary>
    private sealed class Repeats(LogLevel level, string text, long since, long interval)
    {
        public LogLevel Level { get; } = level;

        /// <summary>The text logged in full: its repeats may differ from it in their numbers.</summary>
        public string Text { get; } = text;
        public long Since { get; set; } = since;
        public long Interval { get; set; } = interval;
        public long LastSeen { get; set; } = since;
        public int Count { get; set; }

        public long Due => Since + Interval;
    }

    public void Log(LogMessage message) => Write(false, Level(message.Level), message.Facility, message.Message);

    /// <summary>Errors the client recovers from by itself are warnings; a fatal one leaves it unusable (the caller sees it too).</summary>
    public void Error(Error error)
    {
        // "All brokers are down" follows the error that says why (a refused connection, a name that does not resolve).
        if (error.Code != ErrorCode.Local_AllBrokersDown || _lastError is null) _lastError = new Reported(error.Reason, _time.GetTimestamp());
        Write(true, error.IsFatal ? LogLevel.Error : LogLevel.Warning, error.Code.ToString(), error.Reason);
    }

    private volatile Reported? _lastError;

    private sealed record Reported(string Reason, long At);

    /// <summary>
    /// What the clients last reported as wrong, if within <paramref name="recent"/> and since <see cref="ForgetLastError"/>:
    /// the reason of a wait for a broker that a caller's own timeout would only call a timeout; null when nothing was.
    /// librdkafka reports the same error again only after 30 s, so a reason stays this long at most once said.
    /// </summary>
    public string? LastError(TimeSpan recent) =>
        _lastError is { } last && _time.GetElapsedTime(last.At) <= recent ? last.Reason : null;

    public void ForgetLastError() => _lastError = null;

    public static LogLevel Level(SyslogLevel level) => level switch
    {
        SyslogLevel.Emergency or SyslogLevel.Alert or SyslogLevel.Critical => LogLevel.Critical,
        SyslogLevel.Error => LogLevel.Error,
        SyslogLevel.Warning => LogLevel.Warning,
        SyslogLevel.Notice or SyslogLevel.Info => LogLevel.Information,
        _ => LogLevel.Debug,
    };

    private void Write(bool isError, LogLevel level, string facility, string text)
    {
        if (!logger.IsEnabled(level)) return;
        var now = _time.GetTimestamp();
        var key = (isError, facility, WithoutNumbers(text));
        lock (_lock)
        {
            if (now >= _nextSweep) Sweep(now);
            if (_recent.TryGetValue(key, out var repeats) && now - repeats.LastSeen < Ticks(QuietInterval))
            {
                repeats.Count++;
                repeats.LastSeen = now;
                _nextSweep = Math.Min(_nextSweep, repeats.Due);
            }
            else
            {
                // New, or back after a quiet while (a new outage): logged in full at once, whatever interval its counts
                // had grown to; the repeats counted before the quiet come first.
                if (repeats is { Count: > 0 }) LogRepeats(facility, repeats, now);
                var first = new Repeats(level, text, now, Ticks(SummaryInterval));
                _recent[key] = first;
                _nextSweep = Math.Min(_nextSweep, first.Due);
                if (isError) KafkaLog.Error(logger, level, client, facility, text);
                else KafkaLog.Line(logger, level, client, facility, text);
            }
            ArmTimer(now);
        }
    }

    private void OnTimer()
    {
        var now = _time.GetTimestamp();
        lock (_lock)
        {
            _timerDue = long.MaxValue;
            if (now >= _nextSweep) Sweep(now);
            ArmTimer(now);
        }
    }

    /// <summary>Sets the timer for the next sweep, if any; it stops by itself once every line has been quiet for an interval.</summary>
    private void ArmTimer(long now)
    {
        if (_nextSweep == long.MaxValue || _nextSweep == _timerDue) return;
        _timer ??= _time.CreateTimer(_ => OnTimer(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _timerDue = _nextSweep;
        _timer.Change(_time.GetElapsedTime(now, Math.Max(now, _nextSweep)), Timeout.InfiniteTimeSpan);
    }

    /// <summary>Logs the count of each line repeated for an interval and starts counting again; forgets lines that stopped.</summary>
    private void Sweep(long now)
    {
        _nextSweep = long.MaxValue;
        List<(bool, string, string)>? quiet = null;
        foreach (var (key, repeats) in _recent)
        {
            if (now < repeats.Due)
            {
                _nextSweep = Math.Min(_nextSweep, repeats.Due);
                continue;
            }
            if (repeats.Count == 0)
            {
                // Nothing to count: forgotten once quiet for long enough, else looked at again then.
                var forgetAt = repeats.LastSeen + Ticks(QuietInterval);
                if (now >= forgetAt) (quiet ??= []).Add(key);
                else _nextSweep = Math.Min(_nextSweep, forgetAt);
                continue;
            }
            LogRepeats(key.Facility, repeats, now);
            repeats.Since = now;
            repeats.Interval = Math.Min(2 * repeats.Interval, Ticks(MaxSummaryInterval));
            repeats.Count = 0;
            _nextSweep = Math.Min(_nextSweep, repeats.Due);
        }
        foreach (var key in quiet ?? []) _recent.Remove(key);
    }

    private void LogRepeats(string facility, Repeats repeats, long now)
    {
        var seconds = (long)_time.GetElapsedTime(repeats.Since, now).TotalSeconds;
        KafkaLog.Repeated(logger, repeats.Level, client, facility, repeats.Count, seconds, repeats.Text);
    }

    /// <summary>
    /// The text with the numbers of librdkafka's closing remark, "(after 3ms in state CONNECT, 2 identical error(s)
    /// suppressed)", as '#': what makes two lines the same line. The rest stays as written, so that another broker's or
    /// another partition's line is another line.
    /// </summary>
    private static string WithoutNumbers(string text)
    {
        var remark = text.LastIndexOf(" (after ", StringComparison.Ordinal);
        if (remark < 0 || !text.EndsWith(')')) return text;
        var shape = new System.Text.StringBuilder(text.Length).Append(text, 0, remark);
        for (var i = remark; i < text.Length; i++)
        {
            if (!char.IsAsciiDigit(text[i])) shape.Append(text[i]);
            else if (!char.IsAsciiDigit(text[i - 1])) shape.Append('#');
        }
        return shape.ToString();
    }

    private long Ticks(TimeSpan interval) => (long)(interval.TotalSeconds * _time.TimestampFrequency);
}

/// <summary>Routes a client's log and errors to an <see cref="ILogger"/> through a <see cref="KafkaClientLog"/>; one call per builder.</summary>
public static class KafkaClientLogging
{
    public static ProducerBuilder<TKey, TValue> LogTo<TKey, TValue>(this ProducerBuilder<TKey, TValue> builder, ILogger logger, string client) =>
        builder.LogTo(new KafkaClientLog(logger, client));

    /// <summary>Through <paramref name="log"/>, which may have served the clients built before this one.</summary>
    public static ProducerBuilder<TKey, TValue> LogTo<TKey, TValue>(this ProducerBuilder<TKey, TValue> builder, KafkaClientLog log) =>
        builder.SetLogHandler((_, message) => log.Log(message)).SetErrorHandler((_, error) => log.Error(error));

    /// <summary>
    /// A client takes one error handler: <paramref name="onError"/> is the caller's own, called before the error is logged
    /// (the client swallows what a handler throws, so a failing log must not keep it from the caller).
    /// </summary>
    public static ConsumerBuilder<TKey, TValue> LogTo<TKey, TValue>(this ConsumerBuilder<TKey, TValue> builder, ILogger logger, string client,
        Action<Error>? onError = null) => builder.LogTo(new KafkaClientLog(logger, client), onError);

    /// <summary>As the overload above, through <paramref name="log"/>, which may have served the clients built before this one.</summary>
    public static ConsumerBuilder<TKey, TValue> LogTo<TKey, TValue>(this ConsumerBuilder<TKey, TValue> builder, KafkaClientLog log, Action<Error>? onError = null)
    {
        return builder.SetLogHandler((_, message) => log.Log(message)).SetErrorHandler((_, error) =>
        {
            onError?.Invoke(error);
            log.Error(error);
        });
    }
}
