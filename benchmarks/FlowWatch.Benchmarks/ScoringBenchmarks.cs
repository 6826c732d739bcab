using BenchmarkDotNet.Attributes;
using FlowWatch.Core.Engine;
using FlowWatch.Core.Scoring;
using FlowWatch.Simulator;
using FlowWatch.Training;

namespace FlowWatch.Benchmarks;

/// <summary>
/// The committed models on their own, over the features the engine computed for 10,000 simulated events: the
/// detector's residual, and the whole ML_ANOMALY decision (residual, then the classifier until the threshold is
/// decided) as the engine makes it for every event.
/// </summary>
[MemoryDiagnoser]
public class ScoringBenchmarks
{
    private const int Events = 10_000;
    private float[][] _features = [];
    private ModelSet _models = null!;
    private double _threshold;

    [GlobalSetup]
    public void Setup()
    {
        _models = ModelFiles.Load(EngineBenchmarks.CommittedModels());
        _threshold = new RuleSettings().MlAnomalyThreshold;
        var rows = FeatureTable.From(LabelledSimulation.Generate(new SimulationOptions { Entities = 1_000, Days = 10, Seed = 11 }), new RuleSettings());
        _features = rows.Take(Events).Select(r => r.Features).ToArray();
    }

    [Benchmark(OperationsPerInvoke = Events)]
    public double DetectorResidual()
    {
        var sum = 0.0;
        foreach (var features in _features) sum += _models.Detector.Residual(features);
        return sum;
    }

    [Benchmark(OperationsPerInvoke = Events)]
    public int MlAnomalyDecision()
    {
        var fired = 0;
        foreach (var features in _features)
        {
            if (_models.TryReach(features, _threshold, out _)) fired++;
        }
        return fired;
    }

    [Benchmark(OperationsPerInvoke = Events)]
    public double FullProbability()
    {
        var sum = 0.0;
        foreach (var features in _features) sum += _models.Score(features);
        return sum;
    }
}
