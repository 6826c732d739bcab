using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.Loader;
using FlowWatch.Core.Engine;
using FlowWatch.Core.Reference;
using FlowWatch.Core.Scoring;
using FlowWatch.Simulator;
using FlowWatch.Training;

namespace FlowWatch.Benchmarks;

/// <summary>
/// Two builds of the engine in one process, each loaded from its own directory into its own load context, fed the
/// same chunks of events in turn (which build goes first alternates). On a shared machine the speed of one command
/// varies by ±20% from run to run, more than most changes are worth; side by side, both builds see the same
/// machine at the same moments, and a build against itself differs by a few tens of nanoseconds.
/// </summary>
public static class SideBySide
{
    private const int Chunk = 10_000;

    /// <summary>Prints the whole engine's time per event (models and aggregates) with the builds in <paramref name="buildA"/> and <paramref name="buildB"/>.</summary>
    public static void Run(string buildA, string buildB, int entities, TimeSpan spacing, int warmUp, int measured)
    {
        var models = EngineBenchmarks.CommittedModels();
        var engines = new[] { buildA, buildB }.Select(build =>
        {
            // This assembly's own code drives either build: the load context gives it that build's engine.
            var context = new BuildContext(Path.GetFullPath(build));
            var driver = context.LoadFromAssemblyPath(typeof(SideBySide).Assembly.Location).GetType(typeof(SideBySide).FullName!)!;
            var create = driver.GetMethod(nameof(Engine), BindingFlags.Public | BindingFlags.Static)!;
            return (Func<int, double>)create.Invoke(null, [entities, warmUp, measured, spacing, models])!;
        }).ToArray();
        var nanoseconds = new double[2];
        for (var chunk = 0; chunk * Chunk < measured; chunk++)
        {
            var first = chunk % 2;
            nanoseconds[first] += engines[first](chunk);
            nanoseconds[1 - first] += engines[1 - first](chunk);
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{entities:N0} entities, {measured:N0} events side by side: A {nanoseconds[0] / measured:0} ns/event, B {nanoseconds[1] / measured:0} ns/event, B − A {(nanoseconds[1] - nanoseconds[0]) / measured:0} ns/event"));
    }

    /// <summary>
    /// A warmed-up engine with the models and aggregates, as a function that processes chunk k of the measured events
    /// and answers the nanoseconds it took. Public for <see cref="Run"/>, which calls it in each build's context.
    /// </summary>
    public static Func<int, double> Engine(int entities, int warmUp, int measured, TimeSpan spacing, string models)
    {
        var traffic = new SyntheticPayments(entities, seed: 4);
        var reference = ReferenceDataLoader.Parse(System.Text.Encoding.UTF8.GetBytes(traffic.ReferenceJson()));
        var start = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.FromHours(8));
        var engine = new EngineDriver(reference, new RuleSettings { DuplicateHorizonDays = 1 }, new ModelHolder(ModelFiles.Load(models)));
        var warmLines = traffic.Events(warmUp, start, spacing, "W");
        engine.Process(warmLines, 0, warmLines.Count);
        var lines = traffic.Events(measured, start + spacing * warmUp, spacing, "M");
        return chunk =>
        {
            var started = Stopwatch.GetTimestamp();
            engine.Process(lines, chunk * Chunk, Math.Min(lines.Count, (chunk + 1) * Chunk));
            return Stopwatch.GetElapsedTime(started).TotalNanoseconds;
        };
    }

    /// <summary>Loads the engine's assemblies from a build's directory; the framework and the rest from the process's own.</summary>
    private sealed class BuildContext(string directory) : AssemblyLoadContext(name: directory)
    {
        private readonly string _directory = directory;

        protected override Assembly? Load(AssemblyName assemblyName)
        {
            if (assemblyName.Name is not ("FlowWatch.Core" or "FlowWatch.Simulator" or "FlowWatch.Training")) return null;
            return LoadFromAssemblyPath(Path.Combine(_directory, assemblyName.Name + ".dll"));
        }
    }
}
