using FlowWatch.Core.Engine;

namespace FlowWatch.Core.Tests.Rules;

public sealed class RuleSettingsTests
{
    [Fact]
    public void Validate_Defaults_HaveNoProblem() => Assert.Empty(new RuleSettings().Validate());

    /// <summary>A scored rule's score or baseline bound that no value can reach, or none can be compared with, switches the rule off: refused.</summary>
    [Theory]
    [InlineData(nameof(RuleSettings.HighFrequencyScore), double.PositiveInfinity)]
    [InlineData(nameof(RuleSettings.AmountAnomalyScore), double.PositiveInfinity)]
    [InlineData(nameof(RuleSettings.AmountAnomalyScore), double.NaN)]
    [InlineData(nameof(RuleSettings.BaselineAmountDeviationFloor), double.PositiveInfinity)]
    [InlineData(nameof(RuleSettings.BaselineAmountClip), double.PositiveInfinity)]
    [InlineData(nameof(RuleSettings.HighFrequencyScore), 0d)]
    public void Validate_ScoreThatIsNotAPositiveFiniteNumber_IsRefusedNamingTheKey(string key, double value)
    {
        var settings = new RuleSettings();
        typeof(RuleSettings).GetProperty(key)!.SetValue(settings, value);

        var problem = Assert.Single(settings.Validate());

        Assert.Equal($"FlowWatch:Rules:{key}: must be a positive finite number", problem);
    }

    [Theory]
    [InlineData(nameof(RuleSettings.HighFrequencyScore), double.Epsilon)]
    [InlineData(nameof(RuleSettings.AmountAnomalyScore), double.MaxValue)]
    public void Validate_AnyPositiveFiniteScore_IsAccepted(string key, double value)
    {
        var settings = new RuleSettings();
        typeof(RuleSettings).GetProperty(key)!.SetValue(settings, value);

        Assert.Empty(settings.Validate());
    }

    [Fact]
    public void Validate_NegativeFutureEventBound_IsRefusedNamingTheKey()
    {
        var problem = Assert.Single(new RuleSettings { FutureEventBound = TimeSpan.FromTicks(-1) }.Validate());

        Assert.Equal("FlowWatch:Rules:FutureEventBound: must not be negative", problem);
    }
}
