using System.Text;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Engine;
using FlowWatch.Core.Reference;
using FlowWatch.Simulator;

namespace FlowWatch.Core.Tests.Simulation;

/// <summary>The labelled simulator: reproducible, readable by the engine, with every typology labelled by its payments.</summary>
public sealed class LabelledSimulationTests
{
    private static readonly SimulationOptions Small = new() { Entities = 200, Days = 8, Seed = 7, EpisodeRate = 0.02 };

    private static byte[] Bytes(LabelledSimulation simulation, Action<LabelledSimulation, Stream> write)
    {
        using var buffer = new MemoryStream();
        write(simulation, buffer);
        return buffer.ToArray();
    }

    [Fact]
    public void Generate_SameOptions_GivesTheSameBytes()
    {
        var first = LabelledSimulation.Generate(Small);
        var second = LabelledSimulation.Generate(Small);

        Assert.Equal(Bytes(first, (s, o) => s.WriteEvents(o)), Bytes(second, (s, o) => s.WriteEvents(o)));
        Assert.Equal(Bytes(first, (s, o) => s.WriteLabels(o)), Bytes(second, (s, o) => s.WriteLabels(o)));
        Assert.Equal(first.ReferenceBytes(), second.ReferenceBytes());
    }

    [Fact]
    public void Generate_AnotherSeed_GivesAnotherStream()
    {
        var first = LabelledSimulation.Generate(Small);
        var other = LabelledSimulation.Generate(Small with { Seed = 8 });

        Assert.NotEqual(Bytes(first, (s, o) => s.WriteEvents(o)), Bytes(other, (s, o) => s.WriteEvents(o)));
    }

    [Fact]
    public void Generate_Stream_LoadsAndDecodesInTheEngineInTimeOrderWithoutDeadLetters()
    {
        var simulation = LabelledSimulation.Generate(Small);
        var reference = ReferenceDataLoader.Parse(simulation.ReferenceBytes());
        var engine = new FlowEngine(reference, new RuleSettings());
        var alerts = new List<Alert>();
        var sequence = 0L;

        foreach (var payment in simulation.Payments)
        {
            Assert.Equal(RecordOutcome.Accepted, engine.Process(payment.Line, ++sequence, alerts, out var reason));
            Assert.Null(reason);
        }

        Assert.Equal(0, engine.Counters.Late);
        Assert.True(simulation.Payments.Zip(simulation.Payments.Skip(1)).All(p => p.First.UtcTicks <= p.Second.UtcTicks));
        var kinds = simulation.Payments.Select(p => Encoding.UTF8.GetString(p.Line)).Select(l => l[(l.IndexOf("\"accountKind\":\"", StringComparison.Ordinal) + 15)..].Split('"')[0]).ToHashSet();
        Assert.Superset(new HashSet<string> { "EFE", "EFN", "EFF", "EFU", "FTE", "FTN", "FTU", "FTI", "FTF", "NRA", "OSA", "DOMESTIC" }, kinds);
        Assert.True(kinds.Count >= 10, string.Join(", ", kinds));
    }

    [Fact]
    public void Generate_Episodes_CoverEveryTypologyAndNameRealPaymentsOfTheirEntityWithinTheirSpan()
    {
        var simulation = LabelledSimulation.Generate(Small);
        var payments = simulation.Payments.ToDictionary(p => p.TxnId, StringComparer.Ordinal);

        Assert.Equal(Typologies.All.Order(), simulation.Episodes.Select(e => e.Typology).Distinct().Order());
        foreach (var episode in simulation.Episodes)
        {
            Assert.NotEmpty(episode.TxnIds);
            foreach (var txnId in episode.TxnIds)
            {
                var payment = payments[txnId];
                Assert.Contains($"\"entityId\":\"{episode.EntityId}\"", Encoding.UTF8.GetString(payment.Line), StringComparison.Ordinal);
                Assert.InRange(payment.UtcTicks, episode.Start.UtcTicks, episode.End.UtcTicks);
            }
        }
        Assert.Equal(simulation.Episodes.Count, simulation.Episodes.Select(e => e.EntityId).Distinct().Count());   // one episode per entity
    }

    [Fact]
    public void WriteLabels_ReadLabels_RoundTripsEveryEpisode()
    {
        var simulation = LabelledSimulation.Generate(Small);
        var path = Path.GetTempFileName();
        try
        {
            using (var file = File.Create(path)) simulation.WriteLabels(file);

            var read = LabelledSimulation.ReadLabels(path);

            Assert.Equal(simulation.Episodes.Count, read.Count);
            Assert.All(simulation.Episodes.Zip(read), p =>
            {
                Assert.Equal(p.First.EntityId, p.Second.EntityId);
                Assert.Equal(p.First.Typology, p.Second.Typology);
                Assert.Equal(p.First.Start, p.Second.Start);
                Assert.Equal(p.First.TxnIds, p.Second.TxnIds);
            });
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Validate_TooFewDays_NamesTheOption()
    {
        var error = Assert.Throws<ArgumentException>(() => LabelledSimulation.Generate(Small with { Days = 3 }));

        Assert.Contains("--days", error.Message, StringComparison.Ordinal);
    }
}
