using System.Reflection;
using FlowWatch.Core.Engine;
using FlowWatch.Worker.Aggregates;
using FlowWatch.Worker.Dashboard;
using FlowWatch.Worker.Kafka;
using FlowWatch.Worker.Models;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace FlowWatch.Worker.Configuration;

/// <summary>
/// One section of the settings: where it is, how it is bound and how it validates itself. Bound strictly: a misspelt
/// key or a value of the wrong type is a <see cref="ConfigurationException"/> naming it, as an invalid value is. The
/// binding is a lambda written for each type: the configuration-binding source generator binds only a type known
/// where it is called (SYSLIB1104).
/// </summary>
public sealed class OptionsSection<T>(string name, Action<IConfiguration, T> bind, Func<T, IReadOnlyList<string>> validate)
    where T : class, new()
{
    public string Name => name;

    /// <summary>The section bound, not yet validated (a switch read before the host is built, or options a command line amends).</summary>
    public T Bind(IConfiguration configuration)
    {
        var options = new T();
        BindInto(configuration, options);
        return options;
    }

    /// <summary>The section bound and validated, failing with every problem at once.</summary>
    public T Read(IConfiguration configuration) => Valid(Bind(configuration));

    /// <summary>The options, failing with every problem at once.</summary>
    public T Valid(T options) => validate(options) is { Count: > 0 } problems
        ? throw new ConfigurationException(string.Join(Environment.NewLine, problems))
        : options;

    /// <summary>Registers the options in a host, bound from its configuration and validated when the host starts.</summary>
    public void AddTo(IHostApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        builder.Services.AddOptions<T>().Configure(o => BindInto(configuration, o)).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<T>>(new SelfValidation(validate));
    }

    private void BindInto(IConfiguration configuration, T options)
    {
        // The binder refuses an unknown key too, but names neither its path nor all of them.
        if (Misplaced(configuration.GetSection(name), typeof(T)).ToList() is { Count: > 0 } problems)
        {
            throw new ConfigurationException(string.Join(Environment.NewLine, problems));
        }
        FlowWatchConfiguration.Bind(name, () => bind(configuration.GetSection(name), options));
    }

    /// <summary>
    /// The problems of the keys under <paramref name="section"/> that no property of <paramref name="type"/> takes (in
    /// any letter case, as binding reads them), looking into nested settings; a dictionary of values (librdkafka's
    /// properties) takes any key, but no key under one of its entries. A setting that takes a value takes no key under
    /// it, and one that takes a section (<c>LargeValue</c>, <c>Client</c>) no value: the binder passes both over, leaving
    /// the default (<c>Client__sasl__password</c>, meant as <c>sasl.password</c>, would never reach the Kafka clients).
    /// </summary>
    private static IEnumerable<string> Misplaced(IConfigurationSection section, Type type)
    {
        foreach (var child in section.GetChildren())
        {
            var property = type.GetProperty(child.Key, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
            var nested = property is not null && property.PropertyType.IsClass && property.PropertyType != typeof(string);
            if (property is null || !property.CanWrite && !nested)
            {
                yield return FlowWatchConfiguration.NotASetting(child.Path);
                continue;
            }
            if (!nested)
            {
                // The binder leaves the default in place of an empty value (an environment variable set to nothing, a
                // JSON null), for a setting that has to have one: a number, a time, a switch.
                if (string.IsNullOrEmpty(child.Value) && !child.GetChildren().Any()
                    && property.PropertyType.IsValueType && Nullable.GetUnderlyingType(property.PropertyType) is null)
                {
                    yield return FlowWatchConfiguration.Empty(child.Path);
                }
                foreach (var key in child.GetChildren()) yield return FlowWatchConfiguration.NotASetting(key.Path);
                continue;
            }
            if (!string.IsNullOrEmpty(child.Value)) yield return FlowWatchConfiguration.NotAValue(child.Path);
            var problems = typeof(System.Collections.IEnumerable).IsAssignableFrom(property.PropertyType)
                ? child.GetChildren().SelectMany(entry => entry.GetChildren()).Select(key => FlowWatchConfiguration.NotASetting(key.Path))
                : Misplaced(child, property.PropertyType);
            foreach (var problem in problems) yield return problem;
        }
    }

    /// <summary>Options that know their own cross-field rules: their problems become validation failures, each naming its key.</summary>
    private sealed class SelfValidation(Func<T, IReadOnlyList<string>> validate) : IValidateOptions<T>
    {
        public ValidateOptionsResult Validate(string? name, T options) =>
            validate(options) is { Count: > 0 } problems ? ValidateOptionsResult.Fail(problems) : ValidateOptionsResult.Success;
    }
}

/// <summary>The sections of <c>FlowWatch</c>: every one a command reads.</summary>
public static class FlowWatchSections
{
    public const string Root = "FlowWatch";

    public static readonly OptionsSection<KafkaOptions> Kafka =
        new(KafkaOptions.SectionName, (section, o) => section.Bind(o, FlowWatchConfiguration.Strict), o => o.Validate());

    public static readonly OptionsSection<RuleSettings> Rules =
        new(RuleSettings.SectionName, (section, o) => section.Bind(o, FlowWatchConfiguration.Strict), o => o.Validate());

    public static readonly OptionsSection<AggregateOptions> Aggregates =
        new(AggregateOptions.SectionName, (section, o) => section.Bind(o, FlowWatchConfiguration.Strict), o => o.Validate());

    public static readonly OptionsSection<DashboardOptions> Dashboard =
        new(DashboardOptions.SectionName, (section, o) => section.Bind(o, FlowWatchConfiguration.Strict), o => o.Validate());

    /// <summary>Not bound: its one key, <see cref="ModelWatcher.DirectoryKey"/>, is read as it is.</summary>
    public static readonly string Models = ConfigurationPath.GetParentPath(ModelWatcher.DirectoryKey)!;

    public static readonly IReadOnlyList<string> Names = [Kafka.Name, Rules.Name, Aggregates.Name, Dashboard.Name, Models];
}
