using System.Diagnostics;
using System.Globalization;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Engine;
using FlowWatch.Core.Reference;

namespace FlowWatch.Benchmarks;

/// <summary>
/// Quick steady-state throughput of the engine on one thread, outside BenchmarkDotNet: warm an engine on more than
/// a trailing window of traffic, then time the next events and count allocations and collections.
/// </summary>
public static class Throughput
{
    public static void Run(int entities, int warmUp, int measured, TimeSpan spacing)
    {
        var traffic = new SyntheticPayments(entities, seed: 4);
        var reference = ReferenceDataLoader.Parse(System.Text.Encoding.UTF8.GetBytes(traffic.ReferenceJson()));
        var start = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.FromHours(8));
        var warmLines = traffic.Events(warmUp, start, spacing, "W");
        var lines = traffic.Events(measured, start + spacing * warmUp, spacing, "M");
        // A one-day duplicate horizon lets the id set reach its steady size within the warm-up.
        var engine = new FlowEngine(reference, new RuleSettings { DuplicateHorizonDays = 1 });
        var alerts = new List<Alert>();
        long sequence = 0;
        foreach (var line in warmLines)
        {
            engine.Process(line, ++sequence, alerts, out _);
            alerts.Clear();
        }
        var decoder = new FlowWatch.Core.Decoding.EventDecoder();
        var probe = default(PaymentEvent);
        foreach (var line in lines) decoder.Decode(line, ref probe, out _);
        var t0 = Stopwatch.GetTimestamp();
        var a0 = GC.GetAllocatedBytesForCurrentThread();
        foreach (var line in lines) decoder.Decode(line, ref probe, out _);
        var a1 = GC.GetAllocatedBytesForCurrentThread();
        var t1 = Stopwatch.GetTimestamp();
        foreach (var line in lines) { decoder.Decode(line, ref probe, out _); EventResolver.TryResolve(ref probe, reference, out _); }
        var a2 = GC.GetAllocatedBytesForCurrentThread();
        var t2 = Stopwatch.GetTimestamp();
        Console.WriteLine($"PROBE decode {Stopwatch.GetElapsedTime(t0, t1).TotalNanoseconds / measured} ns, +resolve {Stopwatch.GetElapsedTime(t1, t2).TotalNanoseconds / measured} ns");
        Console.WriteLine($"PROBE decode {(a1 - a0) / (double)measured} B/event, decode+resolve {(a2 - a1) / (double)measured} B/event");
        var alertsBefore = engine.Counters.Alerts;
        var gcBefore = GC.CollectionCount(0);
        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        var stopwatch = Stopwatch.StartNew();
        foreach (var line in lines)
        {
            engine.Process(line, ++sequence, alerts, out _);
            alerts.Clear();
        }
        stopwatch.Stop();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(inv,
            $"entities {entities:N0}, warm-up {warmUp:N0}, measured {measured:N0} events ({(spacing * measured).TotalHours:0.#} h of event time)"));
        Console.WriteLine(string.Create(inv,
            $"{measured / stopwatch.Elapsed.TotalSeconds:N0} events/s, {stopwatch.Elapsed.TotalNanoseconds / measured:0} ns/event, " +
            $"{(double)allocated / measured:0.0} B/event allocated, {GC.CollectionCount(0) - gcBefore} gen0 GCs, " +
            $"{engine.Counters.Alerts - alertsBefore:N0} alerts ({(engine.Counters.Alerts - alertsBefore) * 100.0 / measured:0.00}%)"));
    }
}
