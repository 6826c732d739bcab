using FlowWatch.Worker.Configuration;

namespace FlowWatch.Core.Tests.Configuration;

/// <summary>A <c>--config</c> file that cannot be read stops the command with where and why.</summary>
public sealed class ConfigurationFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flowwatch-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("{\"FlowWatch\":", "LineNumber: 0")]
    [InlineData("{\n  \"FlowWatch\": {\n    \"Rules\": { \"DormantDays\": ninety }\n  }\n}", "LineNumber: 2")]
    public void Build_JsonThatDoesNotParse_NamesTheFileAndThePlace(string json, string place)
    {
        var file = Path.Combine(_dir, "config.json");
        File.WriteAllText(file, json);

        var error = Assert.Throws<ConfigurationException>(() => FlowWatchConfiguration.Build(file));

        Assert.Contains(file, error.Message, StringComparison.Ordinal);
        Assert.Contains(place, error.Message, StringComparison.Ordinal);
    }
}
