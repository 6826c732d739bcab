using FlowWatch.Core.Contracts;
using FlowWatch.Core.Engine;
using FlowWatch.Core.Reference;
using FlowWatch.Simulator;
using Microsoft.ML.Data;

namespace FlowWatch.Training;

/// <summary>One event's features as the engine computed them, and whether the event belongs to an episode.</summary>
public sealed class FeatureRow
{
    [VectorType(Core.Scoring.Features.Count)]
    public float[] Features { get; set; } = [];

    public bool Label { get; set; }
}

/// <summary>
/// Training data: a labelled simulation run through the engine itself, with the features each shard computed for
/// each event (the same code that scores events in production, not a second pipeline).
/// </summary>
public static class FeatureTable
{
    public static List<FeatureRow> From(LabelledSimulation simulation, RuleSettings settings)
    {
        ArgumentNullException.ThrowIfNull(simulation);
        var episodeTxns = simulation.Episodes.SelectMany(e => e.TxnIds).ToHashSet(StringComparer.Ordinal);
        var rows = new List<FeatureRow>(simulation.Payments.Count);
        var engine = new FlowEngine(ReferenceDataLoader.Parse(simulation.ReferenceBytes()), settings);
        foreach (var shard in engine.Shards)
        {
            shard.Observer = (in PaymentEvent e, ReadOnlySpan<float> features) =>
            {
                rows.Add(new FeatureRow { Features = features.ToArray(), Label = episodeTxns.Contains(e.TxnId) });
            };
        }
        var alerts = new List<Alert>();
        var sequence = 0L;
        foreach (var payment in simulation.Payments)
        {
            engine.Process(payment.Line, ++sequence, alerts, out _);
            alerts.Clear();
        }
        return rows;
    }
}
