using FlowWatch.Core.Engine;
using Microsoft.Extensions.Configuration;

namespace FlowWatch.Worker.Configuration;

/// <summary>Settings that do not validate; the message lists every problem with its key.</summary>
public sealed class ConfigurationException(string message) : Exception(message);

/// <summary>
/// Configuration of every command: <c>appsettings.json</c> beside the executable, then an optional
/// <c>--config</c> file, then environment variables (<c>FLOWWATCH_</c> prefix, <c>__</c> between sections).
/// </summary>
public static class FlowWatchConfiguration
{
    public static IConfiguration Build(string? configFile)
    {
        var builder = new ConfigurationBuilder()
            .SetBasePath(AppContext.BaseDirectory)
            .AddJsonFile("appsettings.json", optional: true);
        if (configFile is not null)
        {
            if (!File.Exists(configFile)) throw new ConfigurationException($"configuration file '{configFile}' not found");
            builder.AddJsonFile(Path.GetFullPath(configFile), optional: false);
        }
        return builder.AddEnvironmentVariables("FLOWWATCH_").Build();
    }

    /// <summary>Binds <see cref="RuleSettings"/> and validates it, failing with every problem at once.</summary>
    public static RuleSettings Rules(IConfiguration configuration)
    {
        var settings = new RuleSettings();
        try
        {
            configuration.GetSection(RuleSettings.SectionName).Bind(settings, o => o.ErrorOnUnknownConfiguration = true);
        }
        catch (InvalidOperationException ex)
        {
            throw new ConfigurationException($"{RuleSettings.SectionName}: {ex.Message}");
        }
        var problems = settings.Validate();
        return problems.Count == 0 ? settings : throw new ConfigurationException(string.Join(Environment.NewLine, problems));
    }
}
