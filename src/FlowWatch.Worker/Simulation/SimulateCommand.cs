using System.Globalization;
using FlowWatch.Simulator;
using FlowWatch.Worker.Cli;

namespace FlowWatch.Worker.Simulation;

/// <summary>
/// <c>flowwatch simulate</c>: writes a labelled synthetic stream: payments (JSONL), the episodes injected into them
/// (JSONL, one per episode with its payments' ids) and the reference data the payments need.
/// </summary>
public static class SimulateCommand
{
    public const string Usage =
        "flowwatch simulate --out E --labels L --reference R [--entities N] [--days D] [--seed S] [--activity X] [--amount-spread X] [--episode-rate X]";

    public static int Run(Arguments args, TextWriter stdout)
    {
        var eventsPath = args.Required("--out");
        var labelsPath = args.Required("--labels");
        var referencePath = args.Required("--reference");
        var options = Options(args);
        args.EnsureAllRead();
        Arguments.EnsureDistinctFiles(("--out", eventsPath), ("--labels", labelsPath), ("--reference", referencePath));

        LabelledSimulation simulation;
        try
        {
            simulation = LabelledSimulation.Generate(options);
        }
        catch (ArgumentException ex)
        {
            // Options that validate can still describe a population too small for every typology's episodes.
            throw new UsageException(ex.Message);
        }
        using (var events = File.Create(eventsPath)) simulation.WriteEvents(events);
        using (var labels = File.Create(labelsPath)) simulation.WriteLabels(labels);
        using (var reference = File.Create(referencePath)) simulation.WriteReference(reference);
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"simulated {simulation.Payments.Count:N0} payments of {options.Entities:N0} entities over {options.Days} days (seed {options.Seed}), {simulation.Episodes.Count} episodes"));
        foreach (var group in simulation.Episodes.GroupBy(e => e.Typology))
        {
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {group.Key,-22} {group.Count(),4} episodes, {group.Sum(e => e.TxnIds.Count),6} payments"));
        }
        return CommandLine.Success;
    }

    /// <summary>The simulation options on a command line (shared by the commands that simulate).</summary>
    public static SimulationOptions Options(Arguments args, SimulationOptions? defaults = null)
    {
        defaults ??= new SimulationOptions();
        var options = defaults with
        {
            Entities = args.WholeNumber("--entities", defaults.Entities, 50, 1_000_000),
            Days = args.WholeNumber("--days", defaults.Days, 1, 3_650),
            Seed = args.WholeNumber("--seed", defaults.Seed, 0, int.MaxValue),
            Activity = args.Number("--activity", defaults.Activity, 0.01, 20),
            AmountSpread = args.Number("--amount-spread", defaults.AmountSpread, 0.1, 5),
            EpisodeRate = args.Number("--episode-rate", defaults.EpisodeRate, 0, SimulationOptions.MaxEpisodeRate),
        };
        var problems = options.Validate();
        return problems.Count == 0 ? options : throw new UsageException(string.Join("; ", problems));
    }
}
