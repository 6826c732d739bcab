using FlowWatch.Core.Engine;
using FlowWatch.Core.Scoring;
using FlowWatch.Simulator;
using FlowWatch.Training;
using FlowWatch.Worker.Configuration;
using FlowWatch.Worker.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML;
using static FlowWatch.Testing.CommandRunner;

namespace FlowWatch.Core.Tests.Models;

/// <summary>
/// The models: the engine's own evaluators agree with ML.NET's predictions, training is reproducible, new model files
/// are picked up while running, and the committed models are what <c>./flowwatch train</c> makes and reach the quality
/// their cards state.
/// </summary>
public sealed class ModelTests(TrainedModelsFixture trained) : IClassFixture<TrainedModelsFixture>
{
    private sealed class DetectorOutput
    {
        public float Score { get; set; }
    }

    private sealed class ClassifierOutput
    {
        public float Score { get; set; }
        public float Probability { get; set; }
    }

    /// <summary>Feature rows of a stream the models did not see, with the novelty the engine would fill in.</summary>
    private static List<FeatureRow> Rows(ModelSet models)
    {
        var rows = FeatureTable.From(LabelledSimulation.Generate(new SimulationOptions { Entities = 120, Days = 14, Seed = 99, EpisodeRate = 0.05 }), new RuleSettings());
        foreach (var row in rows) row.Features[Features.Novelty] = (float)models.Detector.Residual(row.Features);
        return rows;
    }

    [Fact]
    public void Detector_ExtractedParameters_ScoreAsMlNetDoes()
    {
        var models = ModelFiles.Load(trained.Directory);
        var ml = new MLContext(seed: 1);
        var engine = ml.Model.CreatePredictionEngine<DetectorInput, DetectorOutput>(ml.Model.Load(Path.Combine(trained.Directory, ModelFiles.DetectorFile), out _));

        var rows = Rows(models);
        foreach (var row in rows)
        {
            var expected = engine.Predict(new DetectorInput { Features = row.Features[..Features.DetectorCount] }).Score;
            Assert.Equal(expected, models.Detector.RelativeResidual(row.Features), 3);
        }
        Assert.True(rows.Count > 1_000);
    }

    [Fact]
    public void Classifier_ExtractedTrees_ScoreAsMlNetDoes()
    {
        var models = ModelFiles.Load(trained.Directory);
        var ml = new MLContext(seed: 1);
        var engine = ml.Model.CreatePredictionEngine<FeatureRow, ClassifierOutput>(ml.Model.Load(Path.Combine(trained.Directory, ModelFiles.ClassifierFile), out _));

        var rows = Rows(models);
        foreach (var row in rows)
        {
            var expected = engine.Predict(row);
            // Within a tolerance rather than to so many decimal places: ML.NET computes in float, the engine in double.
            Assert.Equal(expected.Score, models.Classifier.RawScore(row.Features), tolerance: 1e-4);
            Assert.Equal(expected.Probability, models.Classifier.Probability(row.Features), tolerance: 1e-5);
        }
        Assert.Contains(rows, r => models.Classifier.Probability(r.Features) > 0.9);
        Assert.Contains(rows, r => models.Classifier.Probability(r.Features) < 0.1);
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.9)]
    [InlineData(0.98)]
    public void TryReach_AnyThreshold_DecidesExactlyAsTheFullProbability(double threshold)
    {
        var models = ModelFiles.Load(trained.Directory);

        foreach (var row in Rows(models))
        {
            var full = models.Classifier.Probability(row.Features);
            Assert.Equal(full >= threshold, models.Classifier.TryReach(row.Features, threshold, out var probability));
            if (full >= threshold) Assert.Equal(full, probability, 12);
        }
    }

    [Fact]
    public void Train_SameSeedTwice_GivesTheSameModelsAndMetrics()
    {
        var again = Path.Combine(Path.GetTempPath(), "flowwatch-models-" + Guid.NewGuid().ToString("N"));
        try
        {
            var result = ModelTrainer.Train(TrainedModelsFixture.Options, new RuleSettings(), again);

            Assert.Equal(trained.Result.Version, result.Version);
            Assert.Equal(trained.Result.ClassifierAuc, result.ClassifierAuc);
            Assert.Equal(trained.Result.DetectorAuc, result.DetectorAuc);
            Assert.Equal(trained.Result.Quality.ToMarkdown(), result.Quality.ToMarkdown());
            // Byte for byte, though trained at another time: the files' entries carry no date of their writing.
            foreach (var file in new[] { ModelFiles.DetectorFile, ModelFiles.ClassifierFile })
            {
                Assert.Equal(File.ReadAllBytes(Path.Combine(trained.Directory, file)), File.ReadAllBytes(Path.Combine(again, file)));
            }
        }
        finally
        {
            Directory.Delete(again, recursive: true);
        }
    }

    [Fact]
    public void Train_UnderAGermanCulture_GivesTheSameModelsAndCards()
    {
        // ML.NET writes parts of a model file as text in the current culture, and the cards print figures: neither may
        // depend on the culture of the machine that trains.
        var german = Path.Combine(Path.GetTempPath(), "flowwatch-models-" + Guid.NewGuid().ToString("N"));
        var invariant = Path.Combine(Path.GetTempPath(), "flowwatch-models-" + Guid.NewGuid().ToString("N"));
        var previous = System.Globalization.CultureInfo.CurrentCulture;
        try
        {
            System.Globalization.CultureInfo.CurrentCulture = System.Globalization.CultureInfo.GetCultureInfo("de-DE");
            var result = ModelTrainer.Train(TrainedModelsFixture.Options, new RuleSettings(), german);
            ModelCards.Write(result, new RuleSettings(), german, "./flowwatch train");
            System.Globalization.CultureInfo.CurrentCulture = System.Globalization.CultureInfo.InvariantCulture;
            Directory.CreateDirectory(invariant);
            ModelCards.Write(trained.Result, new RuleSettings(), invariant, "./flowwatch train");

            Assert.Equal(trained.Result.Version, result.Version);
            Assert.Equal(trained.Result.Version, ModelFiles.Load(german).Version);
            foreach (var card in new[] { ModelCards.DetectorCard, ModelCards.ClassifierCard })
            {
                Assert.Equal(File.ReadAllText(Path.Combine(invariant, card)), File.ReadAllText(Path.Combine(german, card)));
            }
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = previous;
            foreach (var directory in new[] { german, invariant })
            {
                if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
            }
        }
    }

    [Fact]
    public async Task Train_DefaultSeed_ReproducesTheCommittedModelsAndTheirCards()
    {
        // Every figure of both cards, the first held-out stream's summary row and the detector's metrics included.
        var committed = TrainedModelsFixture.CommittedModels();
        var directory = Path.Combine(Path.GetTempPath(), "flowwatch-models-" + Guid.NewGuid().ToString("N"));
        try
        {
            var (code, _, err) = await Run("train", "--models", directory);

            Assert.True(code == 0, err);
            Assert.Equal("", err);   // the threshold picked is the one configured: nothing to warn of
            Assert.Equal(ModelFiles.Load(committed).Version, ModelFiles.Load(directory).Version);
            foreach (var file in new[] { ModelCards.DetectorCard, ModelCards.ClassifierCard, ModelFiles.DetectorFile, ModelFiles.ClassifierFile })
            {
                Assert.True(File.ReadAllBytes(Path.Combine(committed, file)).SequenceEqual(File.ReadAllBytes(Path.Combine(directory, file))),
                    $"{file} differs from the committed one");
            }
            // The configured threshold is the one the validation streams pick.
            Assert.Contains(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"This table picks {new RuleSettings().MlAnomalyThreshold};"),
                File.ReadAllText(Path.Combine(directory, ModelCards.ClassifierCard)), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Theory]
    [InlineData(null, 0.97, "no candidate ML_ANOMALY threshold meets the scored rules' targets on every validation stream (the classifier's card has the table); the models are written, and FlowWatch:Rules:MlAnomalyThreshold stays 0.97")]
    [InlineData(0.95, 0.97, "the validation streams pick the ML_ANOMALY threshold 0.95, but FlowWatch:Rules:MlAnomalyThreshold is 0.97: set it to 0.95 to run these models at their operating point")]
    [InlineData(0.97, 0.97, null)]
    public void Train_AnOperatingPointOtherThanTheConfiguredOne_IsWarnedOf(double? picked, double configured, string? warning) =>
        Assert.Equal(warning, FlowWatch.Worker.Models.TrainCommand.OperatingPointWarning(picked, configured));

    [Fact]
    public async Task Train_ModelsNamingAFile_StopsAtOnceSayingSo()
    {
        var file = Path.GetTempFileName();
        try
        {
            var (code, _, err) = await Run("train", "--models", file);

            Assert.Equal(FlowWatch.Worker.Cli.CommandLine.CannotRun, code);
            Assert.Contains($"--models {file}: is a file; it names the directory the models go to", err, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Cards_RuleSettingsOtherThanTheDefaults_AreNamedWithTheirValues()
    {
        // The detection tables depend on the rule settings (and so do the features): a card says which ones it was
        // measured with, whichever of --config, appsettings.json or the environment set them.
        var directory = Path.Combine(Path.GetTempPath(), "flowwatch-cards-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            var settings = new RuleSettings { HighFrequencyScore = 7.5, MlAnomalySuppression = TimeSpan.FromMinutes(90) };
            settings.LargeValue.CashCny = 60_000m;
            ModelCards.Write(trained.Result, settings, directory, "./flowwatch train --config custom.json");
            var configured = File.ReadAllText(Path.Combine(directory, ModelCards.ClassifierCard));
            ModelCards.Write(trained.Result, new RuleSettings(), directory, "./flowwatch train");
            var defaults = File.ReadAllText(Path.Combine(directory, ModelCards.ClassifierCard));

            Assert.Contains("`FlowWatch:Rules` at its defaults but `LargeValue:CashCny` 60000, `HighFrequencyScore` 7.5, `MlAnomalySuppression` 01:30:00", configured, StringComparison.Ordinal);
            Assert.DoesNotContain("the defaults unless configured", configured, StringComparison.Ordinal);
            Assert.Contains("`FlowWatch:Rules` at its defaults)", defaults, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void ModelWatcher_NewModelFiles_ReplaceTheModelsInForceWithoutRestart()
    {
        var directory = CopyOf(TrainedModelsFixture.CommittedModels());
        try
        {
            using var watcher = ModelWatcher.Start(directory, NullLogger.Instance, watch: true);
            var before = watcher.Models.Current!.Version;

            foreach (var file in new[] { ModelFiles.DetectorFile, ModelFiles.ClassifierFile })
            {
                File.Copy(Path.Combine(trained.Directory, file), Path.Combine(directory, file), overwrite: true);
            }
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (watcher.Models.Current!.Version == before && DateTime.UtcNow < deadline) Thread.Sleep(100);

            Assert.NotEqual(before, watcher.Models.Current!.Version);
            Assert.Equal(trained.Result.Version, watcher.Models.Current.Version);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>A model file taken away keeps the models in force and says so, as a broken one does.</summary>
    [Fact]
    public void ModelWatcher_ModelFileDeleted_KeepsTheModelsInForceAndSaysSo()
    {
        var directory = CopyOf(TrainedModelsFixture.CommittedModels());
        try
        {
            var logged = new List<(int Id, string Message)>();
            using var watcher = ModelWatcher.Start(directory, new RecordingLogger(logged), watch: true);
            var before = watcher.Models.Current;

            File.Delete(Path.Combine(directory, ModelFiles.ClassifierFile));
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (DateTime.UtcNow < deadline)
            {
                lock (logged)
                {
                    if (logged.Any(l => l.Id == 302)) break;
                }
                Thread.Sleep(100);
            }

            Assert.Same(before, watcher.Models.Current);
            lock (logged) Assert.Contains(logged, l => l.Id == 302 && l.Message.Contains(ModelFiles.ClassifierFile, StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void ModelWatcher_EmptyDirectoryAtStart_ItsModelsArePickedUpWithoutRestart()
    {
        // The configured directory holds no models yet: ML_ANOMALY is off until a pair arrives there.
        var parent = Path.Combine(Path.GetTempPath(), "flowwatch-models-" + Guid.NewGuid().ToString("N"));
        var directory = Path.Combine(parent, "models");
        Directory.CreateDirectory(directory);
        try
        {
            using var watcher = ModelWatcher.Start(directory, NullLogger.Instance, watch: true);
            Assert.Equal(Path.GetFullPath(directory), watcher.Directory);
            Assert.Null(watcher.Models.Current);

            foreach (var file in new[] { ModelFiles.DetectorFile, ModelFiles.ClassifierFile })
            {
                File.Copy(Path.Combine(TrainedModelsFixture.CommittedModels(), file), Path.Combine(directory, file));
            }
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (watcher.Models.Current is null && DateTime.UtcNow < deadline) Thread.Sleep(100);

            Assert.Equal(ModelFiles.Load(TrainedModelsFixture.CommittedModels()).Version, watcher.Models.Current?.Version);
        }
        finally
        {
            if (Directory.Exists(parent)) Directory.Delete(parent, recursive: true);
        }
    }

    /// <summary>
    /// The first models copied into a watched directory arrive one file after the other: the first alone is no failure
    /// until the other has had a minute to come.
    /// </summary>
    [Fact]
    public void ModelWatcher_FirstModelFileIntoAnEmptyDirectory_AwaitsTheOtherBeforeWarning()
    {
        var parent = Path.Combine(Path.GetTempPath(), "flowwatch-models-" + Guid.NewGuid().ToString("N"));
        var directory = Path.Combine(parent, "models");
        Directory.CreateDirectory(directory);
        try
        {
            var logged = new List<(int Id, string Message)>();
            var time = new ManualTime();
            using var watcher = ModelWatcher.Start(directory, new RecordingLogger(logged), watch: true, time);

            File.Copy(Path.Combine(trained.Directory, ModelFiles.DetectorFile), Path.Combine(directory, ModelFiles.DetectorFile));
            Assert.False(watcher.Reload());
            lock (logged) Assert.Equal([304, 306], logged.Select(l => l.Id));

            time.Advance(ModelWatcher.PairWait);
            lock (logged) Assert.Equal([304, 306, 302], logged.Select(l => l.Id));
            Assert.Null(watcher.Models.Current);

            File.Copy(Path.Combine(trained.Directory, ModelFiles.ClassifierFile), Path.Combine(directory, ModelFiles.ClassifierFile));
            Assert.True(watcher.Reload());
            Assert.Equal(trained.Result.Version, watcher.Models.Current?.Version);
        }
        finally
        {
            if (Directory.Exists(parent)) Directory.Delete(parent, recursive: true);
        }
    }

    [Theory]
    [InlineData(0)]       // at once: the watch on the removed directory reports nothing; its parent's does
    [InlineData(2_500)]   // after polls that found no directory
    public void ModelWatcher_DirectoryRemovedAndMadeAgain_ItsNewModelsArePickedUp(int millisecondsBetween)
    {
        var directory = CopyOf(TrainedModelsFixture.CommittedModels());
        try
        {
            using var watcher = ModelWatcher.Start(directory, NullLogger.Instance, watch: true);
            var before = watcher.Models.Current!.Version;

            Directory.Delete(directory, recursive: true);
            Thread.Sleep(millisecondsBetween);
            Directory.CreateDirectory(directory);
            foreach (var file in new[] { ModelFiles.DetectorFile, ModelFiles.ClassifierFile })
            {
                File.Copy(Path.Combine(trained.Directory, file), Path.Combine(directory, file));
            }
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (watcher.Models.Current!.Version == before && DateTime.UtcNow < deadline) Thread.Sleep(100);

            Assert.Equal(trained.Result.Version, watcher.Models.Current.Version);
        }
        finally
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void ModelWatcher_DirectorySwappedByRenames_TheNewDirectorysModelsArePickedUp()
    {
        // A deployment that renames the old directory away and a new one in its place.
        var directory = CopyOf(TrainedModelsFixture.CommittedModels());
        var incoming = CopyOf(trained.Directory);
        var old = directory + ".old";
        try
        {
            using var watcher = ModelWatcher.Start(directory, NullLogger.Instance, watch: true);
            var before = watcher.Models.Current!.Version;

            Directory.Move(directory, old);
            Directory.Move(incoming, directory);
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (watcher.Models.Current!.Version == before && DateTime.UtcNow < deadline) Thread.Sleep(100);

            Assert.Equal(trained.Result.Version, watcher.Models.Current.Version);
        }
        finally
        {
            foreach (var path in new[] { directory, incoming, old }) if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
        }
    }

    [Fact]
    public void ModelWatcher_ConfiguredDirectoryMissingWhenWatching_StopsTheCommandNamingTheSetting()
    {
        // A misspelt path would otherwise start the worker with ML_ANOMALY off and only a warning.
        var directory = Path.Combine(Path.GetTempPath(), "flowwatch-models-" + Guid.NewGuid().ToString("N"));

        var error = Assert.Throws<ConfigurationException>(() => ModelWatcher.Start(directory, NullLogger.Instance, watch: true));
        Assert.Contains("FlowWatch:Models:Directory", error.Message, StringComparison.Ordinal);
        Assert.Contains(directory, error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(directory));
    }

    [Fact]
    public void ModelWatcher_MissingDirectoryWithoutWatching_StopsTheCommand()
    {
        // replay reads its models once: a directory that is not there is an error, not models that never come.
        var directory = Path.Combine(Path.GetTempPath(), "flowwatch-models-" + Guid.NewGuid().ToString("N"));

        var error = Assert.Throws<FileNotFoundException>(() => ModelWatcher.Start(directory, NullLogger.Instance, watch: false));
        Assert.Contains(ModelFiles.DetectorFile, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ModelWatcher_NoDirectoryConfigured_LoadsTheCommittedModels()
    {
        // replay, run and demo without a models directory: models/ here, else the copy beside the executable.
        using var watcher = ModelWatcher.Start(null, NullLogger.Instance, watch: false);

        Assert.NotNull(watcher.Directory);
        Assert.Equal(ModelFiles.Load(TrainedModelsFixture.CommittedModels()).Version, watcher.Models.Current!.Version);
    }

    /// <summary>Keeps each event's id and message.</summary>
    private sealed class RecordingLogger(List<(int Id, string Message)> logged) : Microsoft.Extensions.Logging.ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception,
            Func<TState, Exception?, string> formatter)
        {
            lock (logged) logged.Add((eventId.Id, formatter(state, exception)));
        }
    }

    /// <summary>A broken file keeps the models in force and says so; the good file put back says the failure is over.</summary>
    [Fact]
    public void ModelWatcher_BrokenModelFile_KeepsTheModelsInForce()
    {
        var directory = CopyOf(trained.Directory);
        try
        {
            var logged = new List<(int Id, string Message)>();
            using var watcher = ModelWatcher.Start(directory, new RecordingLogger(logged), watch: false);
            var before = watcher.Models.Current;
            var good = File.ReadAllBytes(Path.Combine(directory, ModelFiles.ClassifierFile));

            File.WriteAllText(Path.Combine(directory, ModelFiles.ClassifierFile), "not a model");

            Assert.False(watcher.Reload());
            Assert.Same(before, watcher.Models.Current);
            // The failure reported names the file that does not load, not only what the zip reader found.
            var error = Assert.Throws<InvalidDataException>(() => ModelFiles.Load(directory));
            Assert.Contains(Path.Combine(directory, ModelFiles.ClassifierFile), error.Message, StringComparison.Ordinal);

            File.WriteAllBytes(Path.Combine(directory, ModelFiles.ClassifierFile), good);
            Assert.False(watcher.Reload());
            Assert.False(watcher.Reload());
            Assert.Same(before, watcher.Models.Current);
            Assert.Equal([300, 302, 305], logged.Select(l => l.Id));
            Assert.Equal($"Models in {directory} load again, as {before!.Version}, the models in force; the failure reported before is over", logged[^1].Message);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void ModelWatcher_OneFileOfAnotherTrainingForAMinute_WarnsWhenTheOtherDoesNotCome()
    {
        var directory = CopyOf(TrainedModelsFixture.CommittedModels());
        try
        {
            var logged = new List<(int Id, string Message)>();
            var time = new ManualTime();
            using var watcher = ModelWatcher.Start(directory, new RecordingLogger(logged), watch: false, time);
            var before = watcher.Models.Current;

            File.Copy(Path.Combine(trained.Directory, ModelFiles.ClassifierFile), Path.Combine(directory, ModelFiles.ClassifierFile), overwrite: true);
            Assert.False(watcher.Reload());
            time.Advance(ModelWatcher.PairWait - TimeSpan.FromTicks(1));
            Assert.Equal([300, 306], logged.Select(l => l.Id));

            time.Advance(TimeSpan.FromTicks(1));
            Assert.Equal([300, 306, 302], logged.Select(l => l.Id));
            Assert.Contains("trained with another detector", logged[^1].Message, StringComparison.Ordinal);
            Assert.Same(before, watcher.Models.Current);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void ModelWatcher_DetectorReplacedBeforeItsClassifier_KeepsThePairInForceUntilBothArrive()
    {
        var directory = CopyOf(TrainedModelsFixture.CommittedModels());
        try
        {
            var logged = new List<(int Id, string Message)>();
            using var watcher = ModelWatcher.Start(directory, new RecordingLogger(logged), watch: false, new ManualTime());
            var before = watcher.Models.Current;

            // The classifier scores the detector's residual: a new detector beside the old classifier is not a pair.
            File.Copy(Path.Combine(trained.Directory, ModelFiles.DetectorFile), Path.Combine(directory, ModelFiles.DetectorFile), overwrite: true);
            Assert.False(watcher.Reload());
            Assert.Same(before, watcher.Models.Current);

            File.Copy(Path.Combine(trained.Directory, ModelFiles.ClassifierFile), Path.Combine(directory, ModelFiles.ClassifierFile), overwrite: true);
            Assert.True(watcher.Reload());
            Assert.Equal(trained.Result.Version, watcher.Models.Current!.Version);
            // The replacement as README describes it: no warning on the way.
            Assert.Equal([300, 306, 301], logged.Select(l => l.Id));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void ScoredAlerts_OfEachScoredRule_CarryBaselineObservedScoreAndTopFeatures()
    {
        var models = ModelFiles.Load(trained.Directory);
        var simulation = LabelledSimulation.Generate(new SimulationOptions { Entities = 300, Days = 12, Seed = 31, EpisodeRate = 0.05 });
        var engine = new FlowEngine(FlowWatch.Core.Reference.ReferenceDataLoader.Parse(simulation.ReferenceBytes()), new RuleSettings(), models: new ModelHolder(models));
        var alerts = new List<FlowWatch.Core.Contracts.Alert>();
        var sequence = 0L;
        foreach (var payment in simulation.Payments) engine.Process(payment.Line, ++sequence, alerts, out _);

        foreach (var rule in RuleCodes.Scored)
        {
            var scored = alerts.Where(a => a.Rule == rule).ToList();
            Assert.NotEmpty(scored);
            Assert.All(scored, a =>
            {
                Assert.NotNull(a.Metrics.Baseline);
                Assert.NotNull(a.Metrics.Observed);
                Assert.NotNull(a.Metrics.Score);
                Assert.NotEmpty(a.Metrics.TopFeatures!);
            });
        }
        var ml = alerts.Where(a => a.Rule == RuleCodes.MlAnomaly).ToList();
        Assert.All(ml, a => Assert.Equal(decimal.Round((decimal)models.NormalNovelty, 4), a.Metrics.Baseline));
        Assert.True(models.NormalNovelty > 0);
        // The novelty of an event the classifier finds anomalous is mostly above that of normal events.
        Assert.True(ml.Count(a => a.Metrics.Observed > a.Metrics.Baseline) * 2 > ml.Count);
    }

    [Fact]
    public void Load_ClassifierOfAnotherTraining_IsRefusedNamingBothFiles()
    {
        var directory = CopyOf(TrainedModelsFixture.CommittedModels());
        try
        {
            File.Copy(Path.Combine(trained.Directory, ModelFiles.ClassifierFile), Path.Combine(directory, ModelFiles.ClassifierFile), overwrite: true);

            var error = Assert.Throws<ModelPairException>(() => ModelFiles.Load(directory));
            Assert.Contains("trained with another detector", error.Message, StringComparison.Ordinal);
            Assert.Contains(ModelFiles.ClassifierFile, error.Message, StringComparison.Ordinal);
            Assert.Contains(ModelFiles.DetectorFile, error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Theory]
    [InlineData(null)]
    [InlineData("0123abcd")]
    [InlineData("{\"detector\":null,\"normalNoveltyP99\":1.5}")]
    [InlineData("{\"detector\":\"0123abcd\",\"normalNoveltyP99\":-1}")]
    public void Load_ClassifierThatNamesNoDetector_IsRefused(string? content)
    {
        var directory = CopyOf(trained.Directory);
        try
        {
            using (var archive = System.IO.Compression.ZipFile.Open(Path.Combine(directory, ModelFiles.ClassifierFile), System.IO.Compression.ZipArchiveMode.Update))
            {
                archive.GetEntry(ModelFiles.TrainedWithEntry)!.Delete();
                if (content is not null)
                {
                    using var entry = archive.CreateEntry(ModelFiles.TrainedWithEntry).Open();
                    entry.Write(System.Text.Encoding.UTF8.GetBytes(content));
                }
            }

            var error = Assert.Throws<InvalidDataException>(() => ModelFiles.Load(directory));
            Assert.Contains("does not name the detector it was trained with", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Load_ClassifierOfOtherFeatures_IsRefusedNamingTheFeatures()
    {
        // A pair trained by a build whose features came in another order (or without their names recorded) would score
        // every event from the wrong inputs: refused at load, and on reload the models in force stay.
        var directory = CopyOf(trained.Directory);
        try
        {
            using var watcher = ModelWatcher.Start(directory, NullLogger.Instance, watch: false);
            var before = watcher.Models.Current;
            var classifier = Path.Combine(directory, ModelFiles.ClassifierFile);
            string trainedWith;
            using (var archive = System.IO.Compression.ZipFile.OpenRead(classifier))
            using (var reader = new StreamReader(archive.GetEntry(ModelFiles.TrainedWithEntry)!.Open()))
            {
                trainedWith = reader.ReadToEnd();
            }
            var names = Features.Names.ToList();
            (names[0], names[1]) = (names[1], names[0]);
            var detector = System.Text.Json.JsonDocument.Parse(trainedWith).RootElement.GetProperty("detector").GetString();
            foreach (var content in new[]
            {
                System.Text.Json.JsonSerializer.Serialize(new { detector, normalNoveltyP99 = 1.5, features = names }),
                System.Text.Json.JsonSerializer.Serialize(new { detector, normalNoveltyP99 = 1.5 }),
            })
            {
                using (var archive = System.IO.Compression.ZipFile.Open(classifier, System.IO.Compression.ZipArchiveMode.Update))
                {
                    archive.GetEntry(ModelFiles.TrainedWithEntry)!.Delete();
                    using var entry = archive.CreateEntry(ModelFiles.TrainedWithEntry).Open();
                    entry.Write(System.Text.Encoding.UTF8.GetBytes(content));
                }

                var error = Assert.Throws<InvalidDataException>(() => ModelFiles.Load(directory));
                Assert.Contains("features", error.Message, StringComparison.Ordinal);
                Assert.Contains(ModelFiles.ClassifierFile, error.Message, StringComparison.Ordinal);
                Assert.False(watcher.Reload());
                Assert.Same(before, watcher.Models.Current);
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Load_ClassifierOfAnotherFeatureSetVersion_IsRefusedNamingBothVersions()
    {
        // The same names, but trained when a feature was defined otherwise (or before the version was recorded): refused
        // at load, and on reload the models in force stay.
        var directory = CopyOf(trained.Directory);
        try
        {
            using var watcher = ModelWatcher.Start(directory, NullLogger.Instance, watch: false);
            var before = watcher.Models.Current;
            var classifier = Path.Combine(directory, ModelFiles.ClassifierFile);
            System.Text.Json.Nodes.JsonObject trainedWith;
            using (var archive = System.IO.Compression.ZipFile.OpenRead(classifier))
            using (var reader = new StreamReader(archive.GetEntry(ModelFiles.TrainedWithEntry)!.Open()))
            {
                trainedWith = System.Text.Json.Nodes.JsonNode.Parse(reader.ReadToEnd())!.AsObject();
            }
            var other = trainedWith.DeepClone().AsObject();
            other["featureSetVersion"] = Features.Version + 1;
            var unversioned = trainedWith.DeepClone().AsObject();
            unversioned.Remove("featureSetVersion");
            foreach (var (content, expected) in new[]
            {
                (other, $"version {Features.Version + 1} of the features' definitions"),
                (unversioned, "does not name the version of the features' definitions"),
            })
            {
                using (var archive = System.IO.Compression.ZipFile.Open(classifier, System.IO.Compression.ZipArchiveMode.Update))
                {
                    archive.GetEntry(ModelFiles.TrainedWithEntry)!.Delete();
                    using var entry = archive.CreateEntry(ModelFiles.TrainedWithEntry).Open();
                    entry.Write(System.Text.Encoding.UTF8.GetBytes(content.ToJsonString()));
                }

                var error = Assert.Throws<InvalidDataException>(() => ModelFiles.Load(directory));
                Assert.Contains(expected, error.Message, StringComparison.Ordinal);
                Assert.Contains(ModelFiles.ClassifierFile, error.Message, StringComparison.Ordinal);
                Assert.False(watcher.Reload());
                Assert.Same(before, watcher.Models.Current);
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>A fresh directory with both model files of <paramref name="source"/>.</summary>
    private static string CopyOf(string source)
    {
        var directory = Path.Combine(Path.GetTempPath(), "flowwatch-models-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        foreach (var file in new[] { ModelFiles.DetectorFile, ModelFiles.ClassifierFile })
        {
            File.Copy(Path.Combine(source, file), Path.Combine(directory, file));
        }
        return directory;
    }

    /// <summary>
    /// Single bytes of the committed model files flipped, as a damaged disk or copy would: two places inside the
    /// trees' entry and one inside the detector's schema (in earlier model files, flips at these offsets made a loop in a tree, hung
    /// ML.NET's loader, or escaped as another exception type, before entries were checked against their checksums), and
    /// a spread of others. A reload never throws and never hangs; it keeps the models in force, or loads models that
    /// score every event exactly as they do (a flip in a zip's directory, say, that renames an entry ML.NET does not
    /// read). Trees that are unsound however they arrive are refused by <see cref="TreeEnsemble"/> itself.
    /// </summary>
    [Theory]
    [InlineData(ModelFiles.ClassifierFile, new[] { 26369, 8747 })]
    [InlineData(ModelFiles.DetectorFile, new[] { 1968 })]
    public async Task ModelWatcher_ModelFileWithAFlippedByte_KeepsTheModelsInForceOrLoadsOnesThatScoreTheSame(string file, int[] found)
    {
        var committed = TrainedModelsFixture.CommittedModels();
        var original = File.ReadAllBytes(Path.Combine(committed, file));
        var random = new Random(20261128);
        var offsets = found.Where(offset => offset < original.Length).Concat(Enumerable.Range(0, 40).Select(_ => random.Next(original.Length)));
        var directory = CopyOf(committed);
        try
        {
            using var watcher = ModelWatcher.Start(directory, NullLogger.Instance, watch: false);
            var good = watcher.Models.Current!;
            var rows = Rows(good).Take(300).ToList();
            foreach (var offset in offsets)
            {
                var damaged = original.ToArray();
                damaged[offset] ^= 0x5A;
                File.WriteAllBytes(Path.Combine(directory, file), damaged);

                var reload = Task.Run(watcher.Reload);
                Assert.True(await Task.WhenAny(reload, Task.Delay(TimeSpan.FromSeconds(60))) == reload, $"reloading with byte {offset} flipped did not end");
                var now = watcher.Models.Current!;
                if (now == good) continue;
                Assert.All(rows, row => Assert.Equal(good.Score(row.Features), now.Score(row.Features)));
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void CommittedModels_HeldOutStream_MeetTheTargetsAndMatchTheirCard()
    {
        var committed = TrainedModelsFixture.CommittedModels();
        var heldOut = LabelledSimulation.Generate(TrainingOptions.ForSeed(TrainingOptions.DefaultSeed).HeldOut);

        var report = QualityReport.Evaluate(heldOut, new RuleSettings(), ModelFiles.Load(committed));

        Assert.True(report.Meets(target: 0.9, falseAlertsPer10k: 1.0), report.ToMarkdown());
        Assert.Contains(report.ToMarkdown(), File.ReadAllText(Path.Combine(committed, ModelCards.ClassifierCard)), StringComparison.Ordinal);
    }

    public static TheoryData<int> OtherHeldOutStreams => new(Enumerable.Range(0, new TrainingOptions().OtherHeldOut.Count));

    [Theory]
    [MemberData(nameof(OtherHeldOutStreams))]
    public void CommittedModels_OtherHeldOutStreams_MeetTheScoredRulesTargetsAndMatchTheirCard(int index)
    {
        var committed = TrainedModelsFixture.CommittedModels();
        var stream = TrainingOptions.ForSeed(TrainingOptions.DefaultSeed).OtherHeldOut[index];

        var report = QualityReport.Evaluate(LabelledSimulation.Generate(stream), new RuleSettings(), ModelFiles.Load(committed));

        Assert.True(report.MeetsStatistical(target: 0.9, falseAlertsPer10k: 1.0), report.ToMarkdown());
        Assert.Contains(report.SummaryRow(ModelTrainer.Describe(stream)), File.ReadAllText(Path.Combine(committed, ModelCards.ClassifierCard)), StringComparison.Ordinal);
    }
}
