using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using FlowWatch.Core.Aggregates;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Decoding;
using FlowWatch.Core.Engine;
using FlowWatch.Core.Reference;
using FlowWatch.Core.Scoring;
using FlowWatch.Simulator;
using FlowWatch.Training;

namespace FlowWatch.Benchmarks;

/// <summary>
/// Steady-state throughput of the engine on one thread, with where the time goes: each stage (JSON tokens alone,
/// decoding, resolution, the duplicate filter, the shard) is timed on its own over the same events, then the whole
/// engine. Every stage starts warm: it has seen more than a trailing window and a duplicate horizon of traffic.
/// </summary>
public static class Throughput
{
    /// <summary>Only the whole engine with the models, <paramref name="rounds"/> times over the measured events: for a sampling profiler.</summary>
    public static void Profile(int entities, int warmUp, int measured, TimeSpan spacing, int rounds)
    {
        var traffic = new SyntheticPayments(entities, seed: 4);
        var reference = ReferenceDataLoader.Parse(System.Text.Encoding.UTF8.GetBytes(traffic.ReferenceJson()));
        var start = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.FromHours(8));
        var warmLines = traffic.Events(warmUp, start, spacing, "W");
        var models = new ModelHolder(ModelFiles.Load(EngineBenchmarks.CommittedModels()));
        for (var round = 0; round < rounds; round++)
        {
            var lines = traffic.Events(measured, start + spacing * (warmUp + round * measured), spacing, "M" + round.ToString(CultureInfo.InvariantCulture));
            WholeEngine("whole engine with the models", reference, new RuleSettings { DuplicateHorizonDays = 1 }, models, warmLines, lines);
        }
    }

    /// <summary>
    /// The heap the engine holds (DESIGN.md §6: at most 2 KiB per active entity, 1,000,000 entities in 4 GiB) after a
    /// day of <paramref name="eventsEach"/> payments per entity on average, spread evenly over the day, with the models
    /// and aggregates on, beside the heap of the reference data. Payments are made and processed in chunks in methods
    /// of their own, so that no temporary outlives them and only what the engine keeps is counted.
    /// </summary>
    public static void Memory(int entities, int eventsEach)
    {
        var traffic = new SyntheticPayments(entities, seed: 4);
        var heapAtStart = GC.GetTotalMemory(forceFullCollection: true);
        var reference = LoadReference(traffic);
        var heapWithReference = GC.GetTotalMemory(forceFullCollection: true);
        var driver = new EngineDriver(reference, new RuleSettings { DuplicateHorizonDays = 1 },
            new ModelHolder(ModelFiles.Load(EngineBenchmarks.CommittedModels())));
        var total = (long)entities * eventsEach;
        ProcessDay(traffic, driver, total);
        var heapAfter = GC.GetTotalMemory(forceFullCollection: true);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{entities:N0} entities, {total:N0} payments over a day: reference data {(heapWithReference - heapAtStart) / 1048576.0:N0} MiB, " +
            $"whole heap {heapAfter / 1048576.0:N0} MiB, working set {Environment.WorkingSet / 1048576.0:N0} MiB"));
        ReportState(driver.Engine, heapAfter - heapWithReference);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"    the duplicate filter holds {driver.Engine.DuplicateIdsHeld:N0} ids (16 bytes each in a table at most three quarters full)"));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ReferenceData LoadReference(SyntheticPayments traffic) =>
        ReferenceDataLoader.Parse(System.Text.Encoding.UTF8.GetBytes(traffic.ReferenceJson()));

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ProcessDay(SyntheticPayments traffic, EngineDriver driver, long total)
    {
        const int Chunk = 100_000;
        var start = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.FromHours(8));
        var spacing = TimeSpan.FromTicks(TimeSpan.TicksPerDay / total);
        for (long done = 0; done < total; done += Chunk)
        {
            var lines = traffic.Events((int)Math.Min(Chunk, total - done), start + spacing * done, spacing,
                string.Create(CultureInfo.InvariantCulture, $"W{done / Chunk}-"));
            driver.Process(lines, 0, lines.Count);
        }
        driver.Engine.Aggregator!.Take("memory");
    }

    public static void Run(int entities, int warmUp, int measured, TimeSpan spacing)
    {
        var traffic = new SyntheticPayments(entities, seed: 4);
        var reference = ReferenceDataLoader.Parse(System.Text.Encoding.UTF8.GetBytes(traffic.ReferenceJson()));
        var start = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.FromHours(8));
        var warmLines = traffic.Events(warmUp, start, spacing, "W");
        var lines = traffic.Events(measured, start + spacing * warmUp, spacing, "M");
        // A one-day duplicate horizon lets the id table reach its steady size within the warm-up.
        var settings = new RuleSettings { DuplicateHorizonDays = 1 };
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{entities:N0} entities; warm-up {warmUp:N0} events, measured {measured:N0} events ({(spacing * measured).TotalHours:0.#} h of event time)"));

        Stage("JSON tokens only (Utf8JsonReader)", measured, () =>
        {
            foreach (var line in lines)
            {
                var reader = new Utf8JsonReader(line);
                while (reader.Read())
                {
                }
            }
        }, stateless: true);

        var decoder = new EventDecoder();
        var scratch = default(PaymentEvent);
        foreach (var line in warmLines) decoder.Decode(line, ref scratch, out _);
        Stage("decode", measured, () =>
        {
            foreach (var line in lines) decoder.Decode(line, ref scratch, out _);
        }, stateless: true);

        var events = new PaymentEvent[measured];
        // The engine keeps its reference lookups per pooled string (a memo), as FlowEngine does.
        var memo = new ReferenceMemo();
        memo.Use(reference);
        Stage("decode + resolve", measured, () =>
        {
            for (var i = 0; i < measured; i++)
            {
                decoder.Decode(lines[i], ref events[i], out _);
                EventResolver.TryResolve(ref events[i], reference, memo, out _);
            }
        }, stateless: true);

        var duplicates = new DuplicateFilter(settings.DuplicateHorizonDays);
        var shard = new EngineShard(settings);
        var alerts = new List<Alert>();
        foreach (var line in warmLines)
        {
            decoder.Decode(line, ref scratch, out _);
            EventResolver.TryResolve(ref scratch, reference, memo, out _);
            duplicates.TryAdd(scratch.TxnIdUtf8, scratch.TimestampTicks, print: 1);
            shard.Process(ref scratch, reference, alerts, out _);
        }
        alerts.Clear();
        Stage("duplicate filter", measured, () =>
        {
            for (var i = 0; i < measured; i++) duplicates.TryAdd(events[i].TxnIdUtf8, events[i].TimestampTicks, print: 1);
        });
        Stage("shard: state + every rule + alerts", measured, () =>
        {
            for (var i = 0; i < measured; i++)
            {
                shard.Process(ref events[i], reference, alerts, out _);
                alerts.Clear();
            }
        });

        var entitiesOf = events.Select(e => shard.Find(e.EntityId!)!).ToArray();
        var aggregator = new FlowAggregator();
        Stage("aggregate rows (a batch per 100,000)", measured, () =>
        {
            for (var i = 0; i < measured; i++)
            {
                aggregator.Add(events[i], entitiesOf[i], reference);
                if ((i + 1) % EngineDriver.AggregateBatchRecords == 0) aggregator.Take("batch");
            }
        });

        WholeEngine("whole engine: bytes -> alerts, rows", reference, settings, null, warmLines, lines);
        WholeEngine("whole engine with the models", reference, settings, new ModelHolder(ModelFiles.Load(EngineBenchmarks.CommittedModels())), warmLines, lines);
    }

    private static void WholeEngine(string name, ReferenceData reference, RuleSettings settings, ModelHolder? models, List<byte[]> warmLines, List<byte[]> lines)
    {
        var heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        var driver = new EngineDriver(reference, settings, models);
        driver.Process(warmLines, 0, warmLines.Count);
        driver.Engine.Aggregator!.Take("warm-up");
        ReportState(driver.Engine, GC.GetTotalMemory(forceFullCollection: true) - heapBefore);
        var alertsBefore = driver.Engine.Counters.Alerts;
        Stage(name, lines.Count, () => driver.Process(lines, 0, lines.Count));
        var raised = driver.Engine.Counters.Alerts - alertsBefore;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    alerts raised: {raised:N0} ({raised * 100.0 / lines.Count:0.00}% of events)"));
    }

    /// <summary>
    /// The memory the warmed engine holds (entity states, windows, string pool, duplicate filter; DESIGN.md §6 asks at
    /// most 2 KiB per active entity), and the window entries per entity that most of it is.
    /// </summary>
    private static void ReportState(FlowEngine engine, long bytes)
    {
        var entities = engine.Shards.Sum(shard => shard.EntityCount);
        var windowEntries = engine.Shards.Sum(shard => shard.Entities.Sum(entity => (long)entity.Window.Count));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"    state after warm-up: {bytes / 1048576.0:0.0} MiB for {entities:N0} entities, {bytes / 1024.0 / entities:0.0} KiB each; {(double)windowEntries / entities:0} window entries each"));
    }

    /// <summary>Times one stage; a stateless stage runs once untimed first, so JIT tiers and first-touch page faults stay out.</summary>
    private static void Stage(string name, int events, Action run, bool stateless = false)
    {
        if (stateless) run();
        var collections = GC.CollectionCount(0);
        var fullCollections = GC.CollectionCount(2);
        var paused = GC.GetTotalPauseDuration();
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        using var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var started = Stopwatch.GetTimestamp();
        run();
        var elapsed = Stopwatch.GetElapsedTime(started);
        process.Refresh();
        // Processor time as well as elapsed time: on a shared machine the first counts only this process's work.
        var cpu = process.TotalProcessorTime - cpuBefore;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {name,-38} {elapsed.TotalNanoseconds / events,7:0} ns/event {events / elapsed.TotalSeconds,12:N0} events/s " +
            $"{cpu.TotalNanoseconds / events,7:0} CPU ns/event " +
            $"{(double)(GC.GetAllocatedBytesForCurrentThread() - allocated) / events,7:0.0} B/event {GC.CollectionCount(0) - collections,3} GCs ({GC.CollectionCount(2) - fullCollections} gen2), " +
            $"paused {(GC.GetTotalPauseDuration() - paused).TotalNanoseconds / events,4:0} ns/event"));
    }
}

/// <summary>
/// The whole engine as DESIGN.md §6 counts it: bytes → decode → state → rules → scores → aggregate rows, handed out
/// as a batch every <see cref="AggregateBatchRecords"/> records as a host with a sink does. Like the worker's partition
/// pipelines, it has the next record's bytes start loading before it processes the current one.
/// </summary>
internal sealed class EngineDriver(ReferenceData reference, RuleSettings settings, ModelHolder? models)
{
    public const int AggregateBatchRecords = 100_000;
    private readonly List<Alert> _alerts = [];
    private long _sequence;

    public FlowEngine Engine { get; } = new(reference, settings, models: models) { Aggregator = new FlowAggregator() };

    /// <summary>Processes records [from, to) of <paramref name="records"/>.</summary>
    public void Process(List<byte[]> records, int from, int to)
    {
        for (var i = from; i < to; i++)
        {
            if (i + 1 < to) FlowEngine.Prefetch(records[i + 1]);
            Engine.Process(records[i], ++_sequence, _alerts, out _);
            _alerts.Clear();
            if (_sequence % AggregateBatchRecords == 0) Engine.Aggregator!.Take("batch");
        }
    }
}
