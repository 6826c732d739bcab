using System.Globalization;
using FlowWatch.Training;
using FlowWatch.Worker.Cli;
using FlowWatch.Worker.Configuration;

namespace FlowWatch.Worker.Models;

/// <summary>
/// <c>flowwatch train</c>: simulates the training and held-out streams from a seed, trains the detector and the
/// classifier into a models directory, writes a model card beside each, and prints the held-out quality tables.
/// </summary>
public static class TrainCommand
{
    public const string Usage = "flowwatch train [--seed S] [--models DIR] [--config C]";

    public static int Run(Arguments args, TextWriter stdout, TextWriter stderr)
    {
        var seed = args.WholeNumber("--seed", TrainingOptions.DefaultSeed, 0, 1_000_000);
        var directory = args.Optional("--models") ?? "models";
        var config = args.Optional("--config");
        var settings = FlowWatchSections.Rules.Read(FlowWatchConfiguration.Build(config));
        args.EnsureAllRead();
        // Before the training's 25 s, not after them with a bare "the file already exists".
        if (File.Exists(directory)) throw new IOException($"--models {directory}: is a file; it names the directory the models go to");

        var options = TrainingOptions.ForSeed(seed);
        var result = ModelTrainer.Train(options, settings, directory, stdout);
        // The settings shape the features and the detection tables: the card's command names the file they came from
        // (and the card names every setting that differs from the defaults, whatever set it).
        var command = (seed == TrainingOptions.DefaultSeed ? "./flowwatch train" : $"./flowwatch train --seed {seed}")
                      + (config is null ? "" : $" --config {config}");
        ModelCards.Write(result, settings, directory, command);
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"models {result.Version} written to {Path.GetFullPath(directory)} with their cards ({ModelCards.DetectorCard}, {ModelCards.ClassifierCard})"));
        stdout.WriteLine();
        stdout.Write(result.Quality.ToMarkdown());
        if (OperatingPointWarning(result.PickedThreshold, settings.MlAnomalyThreshold) is { } warning) stderr.WriteLine($"flowwatch train: {warning}");
        return CommandLine.Success;
    }

    /// <summary>
    /// What the one who trained must know of the operating point the validation streams pick, or null when it is the
    /// threshold configured: the models are written either way, but the engine runs them at the configured threshold.
    /// </summary>
    internal static string? OperatingPointWarning(double? picked, double configured) => picked switch
    {
        null => string.Create(CultureInfo.InvariantCulture,
            $"no candidate ML_ANOMALY threshold meets the scored rules' targets on every validation stream (the classifier's card has the table); the models are written, and FlowWatch:Rules:MlAnomalyThreshold stays {configured}"),
        { } threshold when threshold != configured => string.Create(CultureInfo.InvariantCulture,
            $"the validation streams pick the ML_ANOMALY threshold {threshold}, but FlowWatch:Rules:MlAnomalyThreshold is {configured}: set it to {threshold} to run these models at their operating point"),
        _ => null,
    };
}
