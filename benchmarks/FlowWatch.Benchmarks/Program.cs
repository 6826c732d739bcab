using BenchmarkDotNet.Running;
using FlowWatch.Benchmarks;
using FlowWatch.Simulator;

// `generate N EVENTS REFERENCE` writes N synthetic events and their reference data for replay measurements;
// `throughput` prints steady-state engine throughput on one thread; `memory [ENTITIES] [EVENTS_EACH]` the heap the engine
// holds for that many entities with that many payments each in a day; `compare A B` runs the whole engine of the builds
// in directories A and B side by side (see SideBySide); anything else goes to BenchmarkDotNet (e.g. --filter '*').
if (args.Length == 4 && args[0] == "generate")
{
    var count = int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture);
    var traffic = new SyntheticPayments(entities: 10_000, seed: 3);
    File.WriteAllText(args[3], traffic.ReferenceJson());
    using var output = File.Create(args[2]);
    const int Chunk = 100_000;
    var start = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.FromHours(8));
    var spacing = TimeSpan.FromMilliseconds(20);
    for (var written = 0; written < count; written += Chunk)
    {
        foreach (var line in traffic.Events(Math.Min(Chunk, count - written), start + spacing * written, spacing, $"G{written / Chunk:D4}-"))
        {
            output.Write(line);
            output.WriteByte((byte)'\n');
        }
    }
    return 0;
}
if (args.Length is 3 or 5 && args[0] == "compare")
{
    var entities = args.Length == 5 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 1_000;
    var spacing = TimeSpan.FromMilliseconds(args.Length == 5 ? double.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture) : 250);
    SideBySide.Run(args[1], args[2], entities, spacing, warmUp: 1_000_000, measured: 1_000_000);
    return 0;
}
if (args.Length is 1 or 3 && args[0] == "memory")
{
    var entities = args.Length == 3 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1_000_000;
    var eventsEach = args.Length == 3 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 3;
    Throughput.Memory(entities, eventsEach);
    return 0;
}
if (args.Length is 1 or 3 && args[0] is "throughput" or "profile")
{
    // 1,000 entities, one event every 250 ms: warm-up covers 69 h, past the 24 h trailing window. `throughput ENTITIES
    // SPACING_MS` changes both, e.g. to see how the engine's working set (entities × events a day) sets its speed.
    // `profile` runs only the whole engine with the models, three times, for a sampling profiler (dotnet-trace collect -- … profile).
    var entities = args.Length == 3 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1_000;
    var spacing = TimeSpan.FromMilliseconds(args.Length == 3 ? double.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 250);
    if (args[0] == "profile") Throughput.Profile(entities, warmUp: 1_000_000, measured: 1_000_000, spacing, rounds: 3);
    else Throughput.Run(entities, warmUp: 1_000_000, measured: 1_000_000, spacing);
    return 0;
}
BenchmarkSwitcher.FromAssembly(typeof(DecodeBenchmarks).Assembly).Run(args);
return 0;
