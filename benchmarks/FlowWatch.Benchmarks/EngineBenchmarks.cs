using BenchmarkDotNet.Attributes;
using FlowWatch.Core.Aggregates;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Engine;
using FlowWatch.Core.Reference;
using FlowWatch.Core.Scoring;
using FlowWatch.Simulator;
using FlowWatch.Training;

namespace FlowWatch.Benchmarks;

/// <summary>
/// The whole engine on one core from memory: decode → resolve → dedup → state → every rule, the baselines and
/// features of the scored rules, and with <see cref="Models"/> the committed models scoring every event (ML_ANOMALY).
/// Each iteration starts from an engine warmed on 69 hours of the same traffic (past the 24 h windows and a one-day
/// duplicate horizon), so the measured events meet existing entities, counterparties and windows: the steady state.
/// With <see cref="Aggregates"/>, accepted events are also summed into aggregate rows (as when a sink is
/// configured), taken as one batch at the end of the iteration.
/// </summary>
[MemoryDiagnoser]
public class EngineBenchmarks
{
    private const int WarmUp = 1_000_000;
    private const int Measured = 200_000;
    private const int Entities = 1_000;
    private ReferenceData _reference = ReferenceData.Empty;
    private List<byte[]> _warmUp = [];
    private List<byte[]> _measured = [];
    private readonly List<Alert> _alerts = [];
    private FlowEngine _engine = null!;
    private ModelHolder? _models;

    /// <summary>Whether the committed models (models/ of the repository) score every event.</summary>
    [Params(false, true)]
    public bool Models { get; set; }

    [Params(false, true)]
    public bool Aggregates { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var traffic = new SyntheticPayments(Entities, seed: 2);
        _reference = ReferenceDataLoader.Parse(System.Text.Encoding.UTF8.GetBytes(traffic.ReferenceJson()));
        var start = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.FromHours(8));
        var spacing = TimeSpan.FromMilliseconds(250);
        _warmUp = traffic.Events(WarmUp, start, spacing, "W");
        _measured = traffic.Events(Measured, start + spacing * WarmUp, spacing, "M");
        _models = Models ? new ModelHolder(ModelFiles.Load(CommittedModels())) : null;
    }

    /// <summary>The repository's models directory, found upwards from the benchmark's binaries.</summary>
    public static string CommittedModels()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "models");
            if (File.Exists(Path.Combine(candidate, ModelFiles.ClassifierFile))) return candidate;
        }
        throw new DirectoryNotFoundException("no models/ above " + AppContext.BaseDirectory);
    }

    [IterationSetup]
    public void WarmEngine()
    {
        _engine = new FlowEngine(_reference, new RuleSettings { DuplicateHorizonDays = 1 }, models: _models)
        {
            Aggregator = Aggregates ? new FlowAggregator() : null,
        };
        Run(_warmUp);
        _engine.Aggregator?.Take("warm-up");
    }

    [Benchmark(OperationsPerInvoke = Measured)]
    public long ProcessEvents()
    {
        var alerts = Run(_measured);
        return alerts + (_engine.Aggregator?.Take("measured").RowCount ?? 0);
    }

    private long Run(List<byte[]> lines)
    {
        long sequence = 0;
        foreach (var line in lines)
        {
            _engine.Process(line, ++sequence, _alerts, out _);
            _alerts.Clear();
        }
        return _engine.Counters.Alerts;
    }
}
