using System.Diagnostics.Metrics;

namespace FlowWatch.Worker.Kafka;

/// <summary>Instruments the worker records into; nothing is measured until a listener (e.g. /metrics) enables them.</summary>
internal static class WorkerMetrics
{
    public const string MeterName = "FlowWatch";

    private static readonly Meter Meter = new(MeterName);

    /// <summary>Bucket bounds of the durations below, from a millisecond to seconds. Declared before them: static fields start in order.</summary>
    private static readonly double[] SecondsBuckets = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5];

    public static readonly Histogram<double> ProcessingLatency = Meter.CreateHistogram(
        "flowwatch.processing.latency", unit: "s",
        description: "From a payment's Kafka timestamp to the end of its processing by the engine",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });

    /// <summary>Alerts become visible to read_committed consumers only when their transaction commits, after this long.</summary>
    public static readonly Histogram<double> CommitDuration = Meter.CreateHistogram(
        "flowwatch.commit.duration", unit: "s",
        description: "From the start of a commit (draining the engines, writing state) to the return of CommitTransaction",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });
}
