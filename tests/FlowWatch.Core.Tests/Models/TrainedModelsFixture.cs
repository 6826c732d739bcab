using FlowWatch.Core.Engine;
using FlowWatch.Simulator;
using FlowWatch.Training;

namespace FlowWatch.Core.Tests.Models;

/// <summary>Small models trained once for the model tests (a few seconds, a fraction of <c>./flowwatch train</c>'s).</summary>
public sealed class TrainedModelsFixture : IDisposable
{
    public static readonly TrainingOptions Options = new()
    {
        Seed = 5,
        Training = [new SimulationOptions { Entities = 400, Days = 14, Seed = 5, EpisodeRate = 0.05, TxnPrefix = "T" }],
        HeldOut = new SimulationOptions { Entities = 300, Days = 12, Seed = 6, Activity = 1.2, AmountSpread = 1.1, EpisodeRate = 0.03, TxnPrefix = "H" },
        Validation = [new SimulationOptions { Entities = 300, Days = 12, Seed = 7, Activity = 0.9, EpisodeRate = 0.03, TxnPrefix = "W", Start = new DateTimeOffset(2026, 3, 7, 0, 0, 0, TimeSpan.FromHours(8)) }],
        Trees = 20, Leaves = 8, MinExamplesPerLeaf = 20, DetectorSample = 20_000,
    };

    public TrainedModelsFixture()
    {
        Result = ModelTrainer.Train(Options, new RuleSettings(), Directory);
    }

    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "flowwatch-models-" + Guid.NewGuid().ToString("N"));

    public TrainingResult Result { get; }

    /// <summary>The repository's committed models directory (models/ with its cards), found upwards from the test binaries.</summary>
    public static string CommittedModels()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "models");
            if (File.Exists(Path.Combine(candidate, ModelCards.ClassifierCard))) return candidate;
        }
        throw new DirectoryNotFoundException("no models/ with a model card above " + AppContext.BaseDirectory);
    }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}
