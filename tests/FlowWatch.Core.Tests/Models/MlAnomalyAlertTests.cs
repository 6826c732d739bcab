using FlowWatch.Core.Contracts;
using FlowWatch.Core.Engine;
using FlowWatch.Core.Scoring;
using FlowWatch.Simulator;
using FlowWatch.Training;

namespace FlowWatch.Core.Tests.Models;

/// <summary>What an ML_ANOMALY alert shows of its probability agrees with the severity band it was given (RULES.md §6).</summary>
public sealed class MlAnomalyAlertTests
{
    [Fact]
    public void MlAnomaly_ProbabilityJustBelowABand_ShowsAScoreInsideItsOwnBand()
    {
        // With the committed models, this stream scores one payment (S7-000000160) at a probability just below 0.99:
        // shown rounded to the nearest, it would read 0.99, the band of severity III, on an alert of severity II.
        var models = ModelFiles.Load(TrainedModelsFixture.CommittedModels());
        var simulation = LabelledSimulation.Generate(new SimulationOptions { Entities = 300, Days = 10, Seed = 7 });
        var settings = new RuleSettings();
        var engine = new FlowEngine(FlowWatch.Core.Reference.ReferenceDataLoader.Parse(simulation.ReferenceBytes()), settings,
            models: new ModelHolder(models));
        var alerts = new List<Alert>();
        var sequence = 0L;
        foreach (var payment in simulation.Payments) engine.Process(payment.Line, ++sequence, alerts, out _);

        var ml = alerts.Where(a => a.Rule == RuleCodes.MlAnomaly).ToList();
        Assert.Contains(ml, a => a.TxnId == "S7-000000160" && a.Severity == Severity.II);
        Assert.All(ml, a =>
        {
            var score = (double)a.Metrics.Score!.Value;
            var band = score >= settings.MlAnomalySeverityIII ? Severity.III : score >= settings.MlAnomalySeverityII ? Severity.II : Severity.I;
            Assert.True(band == a.Severity, $"{a.TxnId}: score {score} shown on an alert of severity {a.Severity}");
            Assert.Contains(FormattableString.Invariant($"scored {a.Metrics.Score:0.####} "), a.Message, StringComparison.Ordinal);
        });
    }

    [Theory]
    [InlineData(0.99)]
    [InlineData(0.98)]
    [InlineData(0.97)]
    public void ShownProbability_OneDoubleBelowABand_ShowsAScoreBelowIt(double band)
    {
        // The double just below 0.99 is 0.9899999999999999; converted to decimal (15 significant digits) it reads 0.99.
        var shown = EngineShard.ShownProbability(Math.BitDecrement(band));

        Assert.True((double)shown < band, $"{Math.BitDecrement(band):R} shown as {shown}");
        Assert.Equal((decimal)band - 0.0001m, shown);
    }

    [Theory]
    [InlineData(0.99)]
    [InlineData(0.98)]
    [InlineData(0.97)]
    public void ShownProbability_AtABand_ShowsTheBand(double band)
    {
        Assert.Equal((decimal)band, EngineShard.ShownProbability(band));
    }
}
