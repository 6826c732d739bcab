using FlowWatch.Core.Aggregates;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Engine;
using FlowWatch.Worker.Aggregates;

namespace FlowWatch.Core.Tests.Streaming;

public sealed class AggregatePublisherTests
{
    private static readonly long Start = new DateTimeOffset(2026, 3, 2, 0, 0, 0, TimeSpan.FromHours(8)).UtcTicks;

    /// <summary>
    /// One entity paying every minute for five days (a backlog taken in one commit): its minute rows and its corridor's
    /// all roll up by entity and by corridor, 14,400 rows that made one message of over 1 MB, which a broker refuses.
    /// </summary>
    [Fact]
    public void Messages_OneEntityAndCorridorOverFiveDays_AreEachWithinTheLimitAndKeepEveryDayRowInOneMessage()
    {
        var minutes = Enumerable.Range(0, 5 * 1440).Select(i => Start + i * TimeSpan.TicksPerMinute).ToList();
        var batch = new AggregateBatch("payments/0@0-7199",
            [.. minutes.Select(m => new PaymentsMinuteRow("E-HQ-001", m, AccountKind.EFE, Channel.CrossBorder, Direction.Out, "USD", 1, 1_234_567.8912m, 8_765_432.027520m))],
            [.. minutes.Select(m => new CorridorMinuteRow(m, AccountKind.EFE, AccountKind.OFFSHORE, "HK", "USD", Direction.Out, 1, 8_765_432.027520m))],
            [new PositionRow("E-HQ-001", 2026, 5m, 10m, 10m, 0.5m, -0.5m, Start, 7_200)]);

        var messages = AggregatePublisher.Messages(batch).ToList();
        var parts = messages.Select(m => AggregatePublisher.Read(m.Value)).ToList();

        Assert.All(messages, m => Assert.InRange(m.Value.Length, 1, AggregatePublisher.MaxMessageBytes));
        Assert.Equal(messages.Select(m => m.Key), parts.Select(p => p.BatchId));
        Assert.Equal(parts.Count, parts.Select(p => p.BatchId).Distinct().Count());
        Assert.Equal(batch.Payments, parts.SelectMany(p => p.Payments).OrderBy(r => r.MinuteTicks));
        Assert.Equal(batch.Corridors, parts.SelectMany(p => p.Corridors).OrderBy(r => r.MinuteTicks));
        Assert.Equal(batch.Positions, parts.SelectMany(p => p.Positions));
        // Each day's minute rows in one message, so that each hour and day row is made from one insert.
        Assert.All(batch.Payments.GroupBy(r => ShanghaiTime.DayNumber(r.MinuteTicks)),
            day => Assert.Single(parts, p => p.Payments.Any(r => ShanghaiTime.DayNumber(r.MinuteTicks) == day.Key)));
        Assert.All(batch.Corridors.GroupBy(r => ShanghaiTime.DayNumber(r.MinuteTicks)),
            day => Assert.Single(parts, p => p.Corridors.Any(r => ShanghaiTime.DayNumber(r.MinuteTicks) == day.Key)));
        // The same batch gives the same messages.
        Assert.Equal(messages.Select(m => (m.Key, m.Value.Length)), AggregatePublisher.Messages(batch).Select(m => (m.Key, m.Value.Length)));
    }

    [Fact]
    public void Messages_BatchOfUsualRows_IsPartsOfAboutRowsPerMessageAsBefore()
    {
        var batch = new AggregateBatch("payments/1@0-9999",
            [.. Enumerable.Range(0, 10_000).Select(i => new PaymentsMinuteRow($"E{i}", Start, AccountKind.EFE, Channel.CrossBorder, Direction.In, "CNY", 1, 100m, 100m))],
            [], []);

        var messages = AggregatePublisher.Messages(batch).ToList();

        Assert.Equal(batch.Split(3).Select(p => p.BatchId), messages.Select(m => m.Key));
    }
}
