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
        var engine = new FlowEngine(reference, new RuleSettings());
        var alerts = new List<Alert>();
        long sequence = 0;
        foreach (var line in warmLines)
        {
            engine.Process(line, ++sequence, alerts, out _);
            alerts.Clear();
        }
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
            $"{measured / stopwatch.Elapsed.TotalSeconds:N0} events/s, {stopwatch.Elapsed.TotalMilliseconds * 1e6 / measured / 1e3:0} ns/event, " +
            $"{(double)allocated / measured:0.0} B/event allocated, {GC.CollectionCount(0) - gcBefore} gen0 GCs, " +
            $"{engine.Counters.Alerts - alertsBefore:N0} alerts ({(engine.Counters.Alerts - alertsBefore) * 100.0 / measured:0.00}%)"));
    }
}
