using FlowWatch.Worker.Configuration;
using FlowWatch.Worker.Kafka;
using Microsoft.Extensions.Configuration;

namespace FlowWatch.Core.Tests.Configuration;

/// <summary>The appsettings.json shipped beside the executable names every key of its sections, each at the code's default.</summary>
public sealed class AppSettingsTests
{
    private static readonly IConfiguration Shipped = new ConfigurationBuilder()
        .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: false).Build();

    [Fact]
    public void Rules_AreTheDefaults() => AssertDefaults(FlowWatchSections.Rules);

    [Fact]
    public void Kafka_AreTheDefaults() => AssertDefaults(FlowWatchSections.Kafka, nameof(KafkaOptions.InstanceId));

    [Fact]
    public void Aggregates_AreTheDefaults() => AssertDefaults(FlowWatchSections.Aggregates);

    /// <summary>Every settable key of the section's options is shipped, bound to their defaults; <paramref name="unset"/> have none.</summary>
    private static void AssertDefaults<T>(OptionsSection<T> section, params string[] unset)
        where T : class, new()
    {
        var settings = typeof(T).GetProperties().Where(p => p.SetMethod is { IsPublic: true }).Select(p => p.Name).Except(unset);
        Assert.Equal(settings.Order(StringComparer.Ordinal), Shipped.GetSection(section.Name).GetChildren().Select(c => c.Key).Order(StringComparer.Ordinal));
        Assert.Equivalent(new T(), section.Bind(Shipped), strict: true);
    }
}
