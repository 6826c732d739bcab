using Confluent.Kafka;
using FlowWatch.Worker.Kafka;
using Microsoft.Extensions.Logging;

namespace FlowWatch.Core.Tests.Logging;

public sealed class KafkaClientLogTests
{
    private const string Refused = "127.0.0.1:1/bootstrap: Connect to ipv4#127.0.0.1:1 failed: Connection refused (after 0ms in state CONNECT)";

    [Fact]
    public void Log_LibrdkafkaLine_IsAnEventWithClientAndFacility()
    {
        var logger = new RecordingLogger();
        new KafkaClientLog(logger, "producer", new ManualTime()).Log(new LogMessage("rdkafka#producer-1", SyslogLevel.Error, "FAIL", Refused));

        var logged = Assert.Single(logger.Events);
        Assert.Equal((LogLevel.Error, 1101), (logged.Level, logged.Id));
        Assert.Equal("producer", logged.Fields["Client"]);
        Assert.Equal("FAIL", logged.Fields["Facility"]);
        Assert.Equal(Refused, logged.Fields["Text"]);
    }

    [Fact]
    public void Log_SameLineForAnInterval_LoggedOnceThenCounted()
    {
        var logger = new RecordingLogger();
        var time = new ManualTime();
        var log = new KafkaClientLog(logger, "producer", time);

        // A broker out of reach: the same line four times a second.
        for (var i = 0; i < 40; i++)
        {
            log.Log(new LogMessage("rdkafka#producer-1", SyslogLevel.Error, "FAIL", Refused));
            time.Advance(TimeSpan.FromMilliseconds(250));
        }
        log.Log(new LogMessage("rdkafka#producer-1", SyslogLevel.Error, "FAIL", Refused));

        Assert.Equal([1101, 1103], logger.Events.Select(e => e.Id));
        var summary = logger.Events[1];
        Assert.Equal(LogLevel.Error, summary.Level);
        Assert.Equal(39, summary.Fields["Count"]);
        Assert.Equal(10L, summary.Fields["Seconds"]);
        Assert.Equal(Refused, summary.Fields["Text"]);
    }

    [Fact]
    public void Log_SameLineForTenMinutes_CountedAfterIntervalsThatDoubleUpToFiveMinutes()
    {
        var logger = new RecordingLogger();
        var time = new ManualTime();
        var log = new KafkaClientLog(logger, "consumer", time);

        // A broker out of reach for 619.5 s: the same line twice a second. Counted after 10, 30, 70, 150, 310 and 610 s.
        for (var i = 0; i < 1_240; i++)
        {
            log.Log(new LogMessage("rdkafka#consumer-1", SyslogLevel.Error, "FAIL", Refused));
            time.Advance(TimeSpan.FromMilliseconds(500));
        }

        Assert.Equal(1, logger.Events.Count(e => e.Id == 1101));
        var counts = logger.Events.Where(e => e.Id == 1103).ToList();
        Assert.Equal([10L, 20L, 40L, 80L, 160L, 300L], counts.Select(e => (long)e.Fields["Seconds"]!));
        Assert.Equal([19, 40, 80, 160, 320, 600], counts.Select(e => (int)e.Fields["Count"]!));
    }

    [Fact]
    public void Log_LineBackAfterAMinuteOfQuietInALongOutage_LoggedInFullAtOnce()
    {
        var logger = new RecordingLogger();
        var time = new ManualTime();
        var log = new KafkaClientLog(logger, "consumer", time);
        for (var i = 0; i < 620; i++)
        {
            log.Log(new LogMessage("rdkafka#consumer-1", SyslogLevel.Error, "FAIL", Refused));
            time.Advance(TimeSpan.FromSeconds(1));
        }
        var before = logger.Events.Count;

        // Counted every 5 minutes by now; quiet for 80 s, then a new outage.
        time.Advance(TimeSpan.FromSeconds(80));
        log.Log(new LogMessage("rdkafka#consumer-1", SyslogLevel.Error, "FAIL", Refused));

        Assert.Equal([1103, 1101], logger.Events.Skip(before).Select(e => e.Id));
        Assert.Equal(10, logger.Events[before].Fields["Count"]);   // the repeats since the last count: 610 to 619 s
    }

    /// <summary>
    /// A refused connection's line comes every 10 s or so once librdkafka's reconnections have backed off, and the same
    /// client's lines differ in their numbers ("after 0ms", "after 2ms"): logged in full each time, an outage of minutes
    /// filled the log. A client built again for a restarted session logs through the same instance.
    /// </summary>
    [Fact]
    public void Log_SameLineEveryTwelveSecondsWithOtherNumbers_LoggedOnceThenCounted()
    {
        var logger = new RecordingLogger();
        var time = new ManualTime();
        var log = new KafkaClientLog(logger, "claims producer", time);

        for (var i = 0; i < 25; i++)
        {
            log.Log(new LogMessage("rdkafka#producer-7", SyslogLevel.Error, "FAIL",
                $"127.0.0.1:1/bootstrap: Connect to ipv4#127.0.0.1:1 failed: Connection refused (after {i % 4}ms in state CONNECT, {i} identical error(s) suppressed)"));
            time.Advance(TimeSpan.FromSeconds(12));
        }

        Assert.Equal(1, logger.Events.Count(e => e.Id == 1101));
        Assert.Equal("127.0.0.1:1/bootstrap: Connect to ipv4#127.0.0.1:1 failed: Connection refused (after 0ms in state CONNECT, 0 identical error(s) suppressed)",
            logger.Events[0].Fields["Text"]);
        // Counted at the first repeat (12 s, past the first interval's 10), then after 20, 40 and 80 s more: at 32, 72 and 152 s.
        Assert.Equal([1, 1, 3, 7], logger.Events.Where(e => e.Id == 1103).Select(e => (int)e.Fields["Count"]!));
    }

    /// <summary>Only librdkafka's closing remark is passed over: another broker's or partition's line is another line.</summary>
    [Fact]
    public void Log_LinesOfTwoBrokers_TwoLines()
    {
        var logger = new RecordingLogger();
        var log = new KafkaClientLog(logger, "consumer", new ManualTime());

        log.Log(new LogMessage("rdkafka#consumer-1", SyslogLevel.Error, "FAIL", "kafka-1:9092/1: Connect to ipv4#10.0.0.11:9092 failed: Connection refused (after 0ms in state CONNECT)"));
        log.Log(new LogMessage("rdkafka#consumer-1", SyslogLevel.Error, "FAIL", "kafka-2:9092/2: Connect to ipv4#10.0.0.12:9092 failed: Connection refused (after 1ms in state CONNECT)"));
        log.Log(new LogMessage("rdkafka#consumer-1", SyslogLevel.Error, "FAIL", "kafka-2:9092/2: Connect to ipv4#10.0.0.12:9092 failed: Connection refused (after 7ms in state CONNECT)"));

        Assert.Equal([1101, 1101], logger.Events.Select(e => e.Id));
    }

    /// <summary>Why a client waits, as it last said: kept for 30 s (librdkafka says the same error again only after that).</summary>
    [Fact]
    public void LastError_WhatTheClientSaidLastRecently_AllBrokersDownNotOvertakingTheReason()
    {
        var time = new ManualTime();
        var log = new KafkaClientLog(new RecordingLogger(), "producer", time);
        Assert.Null(log.LastError(TimeSpan.FromSeconds(30)));

        log.Error(new Error(ErrorCode.Local_Transport, "127.0.0.1:1/bootstrap: Connect to ipv4#127.0.0.1:1 failed: Connection refused", false));
        log.Error(new Error(ErrorCode.Local_AllBrokersDown, "1/1 brokers are down", false));
        time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal("127.0.0.1:1/bootstrap: Connect to ipv4#127.0.0.1:1 failed: Connection refused", log.LastError(TimeSpan.FromSeconds(30)));
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Null(log.LastError(TimeSpan.FromSeconds(30)));

        log.Error(new Error(ErrorCode.Local_Resolve, "kafka-9:9092/bootstrap: Failed to resolve 'kafka-9:9092'", false));
        log.ForgetLastError();
        Assert.Null(log.LastError(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void Log_OtherFacilityOrText_LoggedAtOnce()
    {
        var logger = new RecordingLogger();
        var log = new KafkaClientLog(logger, "consumer", new ManualTime());

        log.Log(new LogMessage("rdkafka#consumer-3", SyslogLevel.Error, "FAIL", Refused));
        log.Log(new LogMessage("rdkafka#consumer-3", SyslogLevel.Warning, "SESSTMOUT", Refused));
        log.Log(new LogMessage("rdkafka#consumer-3", SyslogLevel.Error, "FAIL", "1/1 brokers are down"));
        log.Log(new LogMessage("rdkafka#consumer-3", SyslogLevel.Error, "FAIL", Refused));

        Assert.Equal(["FAIL", "SESSTMOUT", "FAIL"], logger.Events.Select(e => (string)e.Fields["Facility"]!));
    }

    [Fact]
    public void Log_LineBackAfterAQuietInterval_LoggedInFullAgain()
    {
        var logger = new RecordingLogger();
        var time = new ManualTime();
        var log = new KafkaClientLog(logger, "producer", time);

        log.Log(new LogMessage("rdkafka#producer-1", SyslogLevel.Error, "FAIL", Refused));
        time.Advance(TimeSpan.FromSeconds(3));
        log.Log(new LogMessage("rdkafka#producer-1", SyslogLevel.Error, "FAIL", Refused));
        time.Advance(TimeSpan.FromSeconds(8));
        // The repeat counted so far comes first, then the new line's first report.
        log.Log(new LogMessage("rdkafka#producer-1", SyslogLevel.Error, "ERROR", "1/1 brokers are down"));
        // Counted once, then quiet for a minute: it is forgotten.
        time.Advance(TimeSpan.FromSeconds(61));
        log.Log(new LogMessage("rdkafka#producer-1", SyslogLevel.Error, "FAIL", Refused));

        Assert.Equal([1101, 1103, 1101, 1101], logger.Events.Select(e => e.Id));
        Assert.Equal(1, logger.Events[1].Fields["Count"]);
        Assert.Equal(Refused, logger.Events[3].Fields["Text"]);
    }

    [Fact]
    public void Log_LineThatStopsComing_ItsLastCountLoggedAtTheIntervalsEndWithoutAnotherLine()
    {
        var logger = new RecordingLogger();
        var time = new ManualTime();
        var log = new KafkaClientLog(logger, "consumer", time);

        for (var i = 0; i < 4; i++)
        {
            log.Log(new LogMessage("rdkafka#consumer-2", SyslogLevel.Error, "FAIL", Refused));
            time.Advance(TimeSpan.FromMilliseconds(500));
        }
        Assert.Equal([1101], logger.Events.Select(e => e.Id));

        time.Advance(TimeSpan.FromMilliseconds(7_999));
        Assert.Single(logger.Events);
        time.Advance(TimeSpan.FromMilliseconds(1));   // 10 s after the line was first logged
        Assert.Equal([1101, 1103], logger.Events.Select(e => e.Id));
        Assert.Equal(3, logger.Events[1].Fields["Count"]);

        // Quiet for a minute: forgotten, and the timer stops.
        time.Advance(TimeSpan.FromSeconds(52));
        Assert.Equal(2, logger.Events.Count);
        Assert.Equal(0, time.TimersScheduled);
        log.Log(new LogMessage("rdkafka#consumer-2", SyslogLevel.Error, "FAIL", Refused));
        Assert.Equal([1101, 1103, 1101], logger.Events.Select(e => e.Id));
    }

    [Fact]
    public void Error_NonFatalAndFatal_WarningAndErrorWithTheirCode()
    {
        var logger = new RecordingLogger();
        var log = new KafkaClientLog(logger, "consumer", new ManualTime());

        log.Error(new Error(ErrorCode.Local_AllBrokersDown, "1/1 brokers are down", false));
        log.Error(new Error(ErrorCode.Local_Fatal, "producer fenced", true));

        Assert.Equal([(LogLevel.Warning, 1102, "Local_AllBrokersDown"), (LogLevel.Error, 1102, "Local_Fatal")],
            logger.Events.Select(e => (e.Level, e.Id, (string)e.Fields["Facility"]!)));
    }

    [Theory]
    [InlineData(SyslogLevel.Emergency, LogLevel.Critical)]
    [InlineData(SyslogLevel.Alert, LogLevel.Critical)]
    [InlineData(SyslogLevel.Critical, LogLevel.Critical)]
    [InlineData(SyslogLevel.Error, LogLevel.Error)]
    [InlineData(SyslogLevel.Warning, LogLevel.Warning)]
    [InlineData(SyslogLevel.Notice, LogLevel.Information)]
    [InlineData(SyslogLevel.Info, LogLevel.Information)]
    [InlineData(SyslogLevel.Debug, LogLevel.Debug)]
    public void Level_SyslogLevel_MapsToLogLevel(SyslogLevel level, LogLevel expected) => Assert.Equal(expected, KafkaClientLog.Level(level));

    [Fact]
    public void Log_LevelTheLoggerSkips_NotCounted()
    {
        var logger = new RecordingLogger(LogLevel.Warning);
        var log = new KafkaClientLog(logger, "producer", new ManualTime());

        log.Log(new LogMessage("rdkafka#producer-1", SyslogLevel.Info, "INIT", "starting"));

        Assert.Empty(logger.Events);
    }

    [Fact]
    public async Task LogTo_ProducerWithoutABroker_ReportsThroughTheLogger()
    {
        var logger = new RecordingLogger();
        var first = new TaskCompletionSource<RecordingLogger.Event>(TaskCreationOptions.RunContinuationsAsynchronously);
        logger.Logged += e => first.TrySetResult(e);
        using var producer = new ProducerBuilder<Null, Null>(new ProducerConfig { BootstrapServers = "127.0.0.1:1" })
            .LogTo(logger, "test producer").Build();

        var logged = await first.Task.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal("test producer", logged.Fields["Client"]);
        Assert.Contains(logged.Id, new[] { 1101, 1102 });
    }
}
