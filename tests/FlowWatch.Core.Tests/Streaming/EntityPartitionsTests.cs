using FlowWatch.Core.Tests.Logging;
using FlowWatch.Worker.Kafka;

namespace FlowWatch.Core.Tests.Streaming;

/// <summary>An entity whose payments reach two partitions has its state split between two engines; the worker says so.</summary>
public sealed class EntityPartitionsTests
{
    private static TestStream Partition() => TestStreams.Reference().Entity("E1").Entity("E2").Entity("E3").Stream();

    [Fact]
    public void OnEntityMet_TellsOfEachEntityOnceAtItsFirstPayment()
    {
        var stream = TestStreams.Reference().Entity("E1").Entity("E2").Stream();
        var met = new List<string>();
        stream.Engine.OnEntityMet(met.Add);

        stream.Send(TestStreams.Event("T1").Entity("E1"));
        stream.Send(TestStreams.Event("T2").Entity("E1"));
        stream.Send(TestStreams.Event("T3").Entity("E2"));
        stream.Send(TestStreams.Event("T3").Entity("E2"));   // a duplicate meets no one
        stream.Send(TestStreams.Event("T4").Entity("E3").Account("NOWHERE").Entity(null));   // refused: not resolved

        Assert.Equal(["E1", "E2"], met);
    }

    [Fact]
    public void Watch_EntityInTwoPartitions_IsCountedAndLoggedNamingBoth()
    {
        var log = new RecordingLogger();
        var partitions = new EntityPartitions(log);
        var (zero, one) = (Partition(), Partition());
        zero.Send(TestStreams.Event("T1").Entity("E1"));    // held before the watch starts, as after a restore
        partitions.Watch(zero.Engine, 0);
        partitions.Watch(one.Engine, 1);

        one.Send(TestStreams.Event("T2").Entity("E2"));
        zero.Send(TestStreams.Event("T3").Entity("E2"));
        one.Send(TestStreams.Event("T4").Entity("E1"));
        one.Send(TestStreams.Event("T5").Entity("E3"));

        Assert.Equal(2, partitions.Split);
        Assert.Equal([("E2", 1, 0), ("E1", 0, 1)], log.Events.Where(e => e.Id == 1019)
            .Select(e => ((string)e.Fields["EntityId"]!, (int)e.Fields["First"]!, (int)e.Fields["Second"]!)));
    }

    [Fact]
    public void Release_PartitionGivenUp_ItsEntitiesMayBeMetInAnotherWithoutASplit()
    {
        var partitions = new EntityPartitions(new RecordingLogger());
        var (zero, one) = (Partition(), Partition());
        partitions.Watch(zero.Engine, 0);
        zero.Send(TestStreams.Event("T1").Entity("E1"));

        partitions.Release(0);
        partitions.Watch(one.Engine, 1);
        one.Send(TestStreams.Event("T2").Entity("E1"));

        Assert.Equal(0, partitions.Split);
    }

    [Fact]
    public void Watch_ManySplitEntities_LogsTheFirst32AndCountsAll()
    {
        var log = new RecordingLogger();
        var partitions = new EntityPartitions(log);
        var reference = TestStreams.Reference();
        for (var i = 0; i < 40; i++) reference.Entity($"S{i}");
        var (zero, one) = (reference.Stream(), reference.Stream());
        partitions.Watch(zero.Engine, 0);
        partitions.Watch(one.Engine, 1);

        for (var i = 0; i < 40; i++)
        {
            zero.Send(TestStreams.Event($"A{i}").Entity($"S{i}"));
            one.Send(TestStreams.Event($"B{i}").Entity($"S{i}"));
        }

        Assert.Equal(40, partitions.Split);
        Assert.Equal(32, log.Events.Count(e => e.Id == 1019));
    }
}
