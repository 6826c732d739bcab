using FlowWatch.Worker.Kafka;

namespace FlowWatch.Core.Tests.Streaming;

public sealed class KafkaStatisticsTests
{
    [Theory]
    [InlineData("""{"name":"c#consumer-1","type":"consumer","cgrp":{"state":"up","stateage":1200,"join_state":"steady"}}""", "up")]
    [InlineData("""{"type":"consumer","cgrp":{"state":"wait-broker-transport","join_state":"steady"}}""", "wait-broker-transport")]
    public void GroupState_ConsumerStatistics_IsTheGroupsState(string statistics, string expected) =>
        Assert.Equal(expected, KafkaStatistics.GroupState(statistics));

    [Theory]
    [InlineData("""{"name":"p","type":"producer","brokers":{}}""")]
    [InlineData("""{"cgrp":{"state":3}}""")]
    [InlineData("""{"cgrp":"up"}""")]
    [InlineData("""[]""")]
    [InlineData("""{"cgrp":{"state":"up""")]
    public void GroupState_NoGroupStateOrNotJson_IsNull(string statistics) =>
        Assert.Null(KafkaStatistics.GroupState(statistics));
}
