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
        [], NormalEvents: 100_000, FalseScoredAlerts: 0);

    [Fact]
    public void Meets_TypologyWithoutEpisodes_IsNotMetAndSaysSo()
    {
        var report = Report(structuringEpisodes: 0);

        Assert.False(report.Meets(0.9, 1.0));
        Assert.Contains("| STRUCTURING | 0 | STRUCTURING | none: no episodes | none |", report.ToMarkdown(), StringComparison.Ordinal);
        Assert.True(Report(structuringEpisodes: 3).Meets(0.9, 1.0));
    }
}
