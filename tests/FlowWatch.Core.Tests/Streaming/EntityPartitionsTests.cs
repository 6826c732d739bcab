using FlowWatch.Core.Tests.Logging;
using FlowWatch.Worker.Kafka;

namespace FlowWatch.Core.Tests.Streaming;

/// <summary>An entity whose payments reach two partitions has its state split between two engines; the worker says so.</summary>
public sealed class EntityPartitionsTests
{
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
    public void HoldAll_EntitiesOfARestoredEngine_AreHeldByItsPartition()
    {
        var log = new RecordingLogger();
        var partitions = new EntityPartitions(log);
        var restored = TestStreams.Reference().Entity("E1").Stream();
        restored.Send(TestStreams.Event("T1").Entity("E1"));

        partitions.HoldAll(restored.Engine, 0);
        partitions.Hold("E1", 1);

        Assert.Equal(1, partitions.Split);
        var logged = Assert.Single(log.Events, e => e.Id == 1019);
        Assert.Equal(("E1", 0, 1), ((string)logged.Fields["EntityId"]!, (int)logged.Fields["First"]!, (int)logged.Fields["Second"]!));
    }

    [Fact]
    public void Hold_EntityInOnePartitionAtATime_IsNoSplit()
    {
        var partitions = new EntityPartitions(new RecordingLogger());

        partitions.Hold("E1", 0);
        partitions.Hold("E1", 0);
        partitions.Release(0);
        partitions.Hold("E1", 1);   // the partition given up, the entity may be met in another

        Assert.Equal(0, partitions.Split);
    }

    [Fact]
    public void Hold_TheSameSplitAfterPartitionsAreTakenAgain_IsCountedAndLoggedOnce()
    {
        var log = new RecordingLogger();
        var partitions = new EntityPartitions(log);
        partitions.Hold("E1", 0);
        partitions.Hold("E1", 1);

        // A rebalance or a new session: the partitions are given up, then taken again with their restored entities.
        partitions.Release(0);
        partitions.Release(1);
        partitions.Hold("E1", 0);
        partitions.Hold("E1", 1);

        Assert.Equal(1, partitions.Split);
        Assert.Single(log.Events, e => e.Id == 1019);
    }

    [Fact]
    public void Release_GivesUpOnlyWhatItsPartitionHeld()
    {
        var partitions = new EntityPartitions(new RecordingLogger());
        partitions.Hold("E1", 0);
        partitions.Hold("E1", 1);
        partitions.Hold("E2", 1);

        partitions.Release(0);
        partitions.Hold("E2", 2);   // partition 1 still holds E2

        Assert.Equal(2, partitions.Split);
    }

    [Fact]
    public void Hold_ManySplitEntitiesFromEngines_LogsTheFirst32AndCountsAll()
    {
        var log = new RecordingLogger();
        var partitions = new EntityPartitions(log);
        var reference = TestStreams.Reference();
        for (var i = 0; i < 40; i++) reference.Entity($"S{i}");
        var (zero, one) = (reference.Stream(), reference.Stream());
        zero.Engine.OnEntityMet(id => partitions.Hold(id, 0));
        one.Engine.OnEntityMet(id => partitions.Hold(id, 1));

        for (var i = 0; i < 40; i++)
        {
            zero.Send(TestStreams.Event($"A{i}").Entity($"S{i}"));
            one.Send(TestStreams.Event($"B{i}").Entity($"S{i}"));
        }

        Assert.Equal(40, partitions.Split);
        Assert.Equal(32, log.Events.Count(e => e.Id == 1019));
    }
}
