using Confluent.Kafka;
using FlowWatch.Worker.Kafka;

namespace FlowWatch.Core.Tests.Streaming;

/// <summary>A record's publication time, which events may not be dated far beyond (FutureEventBound).</summary>
public sealed class PublishedAtTests
{
    private static DateTimeOffset? PublishedAt(Timestamp timestamp) =>
        new ConsumeResult<Ignore, byte[]> { Message = new Message<Ignore, byte[]> { Timestamp = timestamp } }.PublishedAt();

    [Theory]
    [InlineData(TimestampType.CreateTime)]
    [InlineData(TimestampType.LogAppendTime)]
    public void PublishedAt_RecordWithATimestamp_IsThatTime(TimestampType type)
    {
        var at = new DateTimeOffset(2026, 3, 2, 1, 0, 0, 123, TimeSpan.Zero);

        Assert.Equal(at, PublishedAt(new Timestamp(at.ToUnixTimeMilliseconds(), type)));
    }

    /// <summary>
    /// No time, or one no record was written at: a producer that sends seconds for milliseconds, or 0, would otherwise
    /// make every event seem dated decades after its record, and every payment a dead letter.
    /// </summary>
    [Theory]
    [InlineData(0L)]
    [InlineData(-1L)]
    [InlineData(1_772_413_200L)]              // 2026-03-02 in seconds: read as milliseconds, January 1970
    [InlineData(946_684_799_999L)]            // a millisecond before 2000
    [InlineData(long.MaxValue)]
    public void PublishedAt_TimestampThatIsNoTimeOfWriting_IsNone(long unixMilliseconds)
    {
        Assert.Null(PublishedAt(new Timestamp(unixMilliseconds, TimestampType.CreateTime)));
    }

    [Fact]
    public void PublishedAt_NoTimestamp_IsNone()
    {
        Assert.Null(PublishedAt(new Timestamp(1_772_413_200_000L, TimestampType.NotAvailable)));
        Assert.NotNull(PublishedAt(new Timestamp(946_684_800_000L, TimestampType.CreateTime)));   // 2000-01-01T00:00:00Z
    }
}
