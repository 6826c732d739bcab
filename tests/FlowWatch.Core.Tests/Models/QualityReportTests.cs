using FlowWatch.Core.Engine;
using FlowWatch.Simulator;
using FlowWatch.Training;

namespace FlowWatch.Core.Tests.Models;

/// <summary>The detection-quality report: what counts as met.</summary>
public sealed class QualityReportTests
{
    private static QualityReport Report(int structuringEpisodes) => new(
        Typologies.All.Select(t => t == Typologies.Structuring
            ? new TypologyQuality(t, QualityReport.RulesFor[t], structuringEpisodes, structuringEpisodes, 0)
            : new TypologyQuality(t, QualityReport.RulesFor[t], 10, 10, 10)).ToList(),
        RuleCodes.Scored.Select(r => new RuleQuality(r, 10, 10)).ToList(), NormalEvents: 100_000, FalseScoredAlerts: 0);

    [Fact]
    public void Meets_TypologyWithoutEpisodes_IsNotMetAndSaysSo()
    {
        var report = Report(structuringEpisodes: 0);

        Assert.False(report.Meets(0.9, 1.0));
        Assert.Contains("| STRUCTURING | 0 | STRUCTURING | none: no episodes | none |", report.ToMarkdown(), StringComparison.Ordinal);
        Assert.True(Report(structuringEpisodes: 3).Meets(0.9, 1.0));
    }

    [Fact]
    public void Meets_ScoredRuleWithoutAlerts_HasNoPrecisionAndIsNotMet()
    {
        // ROUND_TRIPPING is caught by RAPID_PASS_THROUGH alone: recall is met, but ML_ANOMALY, silent, shows no precision.
        var typologies = Typologies.All.Select(t => new TypologyQuality(t, QualityReport.RulesFor[t], 10, 10, 0)).ToList();
        var rules = QualityReport.RulesFor.Values.SelectMany(set => set).Distinct()
            .Where(r => r != RuleCodes.MlAnomaly).Select(r => new RuleQuality(r, 10, 10)).ToList();
        var report = new QualityReport(typologies, rules, NormalEvents: 100_000, FalseScoredAlerts: 0);

        Assert.True(double.IsNaN(new RuleQuality(RuleCodes.MlAnomaly, 0, 0).Precision));
        Assert.False(report.MeetsStatistical(0.9, 1.0));
        Assert.False(report.Meets(0.9, 1.0));
        Assert.EndsWith("| 1.000 | 1.000 | no alerts | 0.00 | no | no |", report.SummaryRow("stream"), StringComparison.Ordinal);
    }

    [Fact]
    public void Meets_ExactRuleWithoutAlerts_RaisedNoFalseAlertAndIsJudgedByRecall()
    {
        // QUOTA_CREEP is caught by PENETRATION_CAP_WARN; PENETRATION_CAP_BREACH, silent, raised no false alert.
        var typologies = Typologies.All.Select(t => new TypologyQuality(t, QualityReport.RulesFor[t], 10, 10, 10)).ToList();
        var rules = QualityReport.RulesFor.Values.SelectMany(set => set).Distinct()
            .Where(r => r != RuleCodes.PenetrationCapBreach).Select(r => new RuleQuality(r, 10, 10)).ToList();

        Assert.True(new QualityReport(typologies, rules, NormalEvents: 100_000, FalseScoredAlerts: 0).Meets(0.9, 1.0));
    }
}
