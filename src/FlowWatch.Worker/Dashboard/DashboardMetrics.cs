using System.Diagnostics.Metrics;
using FlowWatch.Worker.Aggregates;
using FlowWatch.Worker.Kafka;

namespace FlowWatch.Worker.Dashboard;

/// <summary>
/// The worker's counters as OpenTelemetry instruments, read when metrics are collected (a scrape of /metrics), so
/// the hot path pays nothing for them. The processing latency histogram is recorded by the pipelines themselves.
/// </summary>
public sealed class DashboardMetrics
{
    /// <summary>The instruments; the aggregate feed's only when this worker writes aggregates to a sink (<paramref name="feed"/>).</summary>
    public DashboardMetrics(IMeterFactory meters, StreamingWorker worker, FeedCounters? feed = null)
    {
        var meter = meters.Create(WorkerMetrics.MeterName);
        meter.CreateObservableCounter("flowwatch.events", () => worker.RecordsRead, "{event}", "Payment records read from the payments topic");
        meter.CreateObservableCounter("flowwatch.dead_letters", () => worker.Counters.DeadLetters, "{record}", "Records rejected to the dead-letter topic");
        meter.CreateObservableCounter("flowwatch.engine_failures", () => worker.Counters.Failures, "{record}",
            "Records the engine failed on, each also a dead letter naming the failure");
        meter.CreateObservableCounter("flowwatch.reference_conflicts", () => worker.Counters.ReferenceConflicts, "{event}",
            "Accepted payments that name another entity or kind for an account, or another entity for a counterparty account, than reference data gives it");
        meter.CreateObservableCounter("flowwatch.differing_duplicates", () => worker.Counters.DifferingDuplicates, "{event}",
            "Payments repeating an accepted txnId with other content: ignored as duplicates, each another payment reusing the id");
        meter.CreateObservableCounter("flowwatch.unknown_fields", () => worker.Counters.UnknownFields, "{event}",
            "Payments carrying a field the event contract does not define, which is passed over (each name is logged once, event 1018)");
        meter.CreateObservableCounter("flowwatch.split_entities", () => worker.SplitEntities, "{entity}",
            "Entities this worker has found with payments in two of its payments partitions: their state, quota and windows are split (payments not keyed by entity); logged, event 1019");
        meter.CreateObservableCounter("flowwatch.payments_deleted_unread", () => worker.PaymentsDeletedUnread, "{event}",
            "Offsets of the payments topic (payments, and any transaction markers) its retention deleted before the worker read them: never processed; logged, event 1021");
        if (feed is not null)
        {
            meter.CreateObservableCounter("flowwatch.aggregates_deleted_unwritten", () => feed.DeletedUnwritten, "{message}",
                "Offsets of the aggregates and alerts topics their retention deleted before the feed wrote them to the sink: rows and alerts missing there; logged, event 2104");
        }
        meter.CreateObservableCounter("flowwatch.alerts", () => worker.Counters.AlertsByRule().Select(a =>
                new Measurement<long>(a.Count, new KeyValuePair<string, object?>("rule", a.Rule), new KeyValuePair<string, object?>("severity", a.Severity.ToString()))),
            "{alert}", "Alerts raised, by rule and severity");
        // No lag while the worker is not consuming: its last look may be long out of date (StreamingWorker.ConsumerLag).
        meter.CreateObservableGauge("flowwatch.consumer.lag", () => worker.ConsumerLag is { } lag ? [new Measurement<long>(lag)] : Array.Empty<Measurement<long>>(),
            "{record}", "Records in the assigned payments partitions not processed yet");
        meter.CreateObservableGauge("flowwatch.consuming", () => worker.Status.IsConsuming ? 1 : 0, "{boolean}",
            "1 while the worker consumes its partitions, 0 while it waits for them, restores them, or the Kafka group coordinator is out of reach");
        meter.CreateObservableGauge("flowwatch.state.unsaved", () => worker.UnsavedPayments, "{record}",
            "Payments processed since the restart point of the latest commit: what a restore would process again");
    }
}
