using FlowWatch.Worker.Configuration;
using Microsoft.Extensions.Configuration;

namespace FlowWatch.Core.Tests.Configuration;

/// <summary>A key no setting takes is refused with its whole path, every such key at once, nested sections included.</summary>
public sealed class UnknownKeyTests
{
    private static IConfiguration Settings(params (string Key, string Value)[] pairs) =>
        new ConfigurationBuilder().AddInMemoryCollection(pairs.Select(p => KeyValuePair.Create(p.Key, (string?)p.Value))).Build();

    [Fact]
    public void Bind_MisspeltKeys_NamedWithTheirPaths()
    {
        var refused = Assert.Throws<ConfigurationException>(() => FlowWatchSections.Rules.Bind(Settings(
            ("FlowWatch:Rules:DormantDay", "90"), ("FlowWatch:Rules:LargeValue:CashCnyy", "1"), ("FlowWatch:Rules:DormantDays", "90"))));

        Assert.Equal(
            "FlowWatch:Rules:DormantDay: is not a FlowWatch setting" + Environment.NewLine +
            "FlowWatch:Rules:LargeValue:CashCnyy: is not a FlowWatch setting",
            refused.Message);
    }

    /// <summary>The host's logging refuses such a level as it is built, with a stack trace and no key named.</summary>
    [Fact]
    public void RefuseUnknownSections_LogLevelsThatAreNone_NamedWithTheirPaths()
    {
        var refused = Assert.Throws<ConfigurationException>(() => FlowWatchConfiguration.RefuseUnknownSections(Settings(
            ("Logging:LogLevel:Default", "Chatty"), ("Logging:Console:LogLevel:Microsoft", "Warn"), ("Logging:LogLevel:FlowWatch", "debug"),
            ("Logging:LogLevel:FlowWatch:Kafka", "Loud"))));

        Assert.Equal(
            "Logging:Console:LogLevel:Microsoft: 'Warn' is not a log level (Trace, Debug, Information, Warning, Error, Critical or None)" + Environment.NewLine +
            "Logging:LogLevel:Default: 'Chatty' is not a log level (Trace, Debug, Information, Warning, Error, Critical or None)" + Environment.NewLine +
            "Logging:LogLevel:FlowWatch:Kafka: 'Loud' is not a log level (Trace, Debug, Information, Warning, Error, Critical or None)",
            refused.Message);
    }

    /// <summary>Read as a provider that is not there, a misspelt LogLevl had its levels passed over.</summary>
    [Fact]
    public void RefuseUnknownSections_LoggingSectionThatIsNone_NamedWithItsPath()
    {
        var refused = Assert.Throws<ConfigurationException>(() => FlowWatchConfiguration.RefuseUnknownSections(Settings(("Logging:LogLevl:Default", "Debug"))));

        Assert.Equal("Logging:LogLevl: is not a logging setting (they are LogLevel, Console, Debug, EventSource, EventLog, or a provider's type name)", refused.Message);
    }

    [Fact]
    public void RefuseUnknownSections_LogLevelsAsTheHostReadsThem_Accepted() =>
        FlowWatchConfiguration.RefuseUnknownSections(Settings(
            ("Logging:LogLevel:Default", "warning"), ("Logging:LogLevel:Microsoft.AspNetCore", "None"), ("Logging:Console:LogLevel:Default", "2"),
            ("Logging:Console:FormatterName", "simple"), ("Logging:LogLevel:FlowWatch", ""), ("Logging:eventsource:LogLevel:Default", "None"),
            ("Logging:Microsoft.Extensions.Logging.Console.ConsoleLoggerProvider:LogLevel:Default", "Error")));

    [Fact]
    public void Bind_KeysInAnyLetterCaseAndClientProperties_Accepted()
    {
        var rules = FlowWatchSections.Rules.Bind(Settings(("FlowWatch:Rules:dormantdays", "90"), ("FlowWatch:Rules:largevalue:cashcny", "1")));
        var kafka = FlowWatchSections.Kafka.Bind(Settings(("FlowWatch:Kafka:Client:linger.ms", "5")));

        Assert.Equal((90, 1m), (rules.DormantDays, rules.LargeValue.CashCny));
        Assert.Equal("5", kafka.Client["linger.ms"]);
    }

    [Fact]
    public void Bind_AFieldOfTheOptions_IsNoSetting()
    {
        var refused = Assert.Throws<ConfigurationException>(() => FlowWatchSections.Kafka.Bind(Settings(("FlowWatch:Kafka:PublishAggregates", "true"))));

        Assert.Equal("FlowWatch:Kafka:PublishAggregates: is not a FlowWatch setting", refused.Message);
    }

    [Fact]
    public void Bind_KeysUnderASettingThatTakesAValue_Refused()
    {
        // The binder reads a value there and passes keys under it over: the setting kept its default.
        var refused = Assert.Throws<ConfigurationException>(() => FlowWatchSections.Kafka.Bind(Settings(
            ("FlowWatch:Kafka:CommitInterval:Milliseconds", "5"), ("FlowWatch:Kafka:GroupId:Name", "workers"))));

        Assert.Equal(
            "FlowWatch:Kafka:CommitInterval:Milliseconds: is not a FlowWatch setting" + Environment.NewLine +
            "FlowWatch:Kafka:GroupId:Name: is not a FlowWatch setting",
            refused.Message);
    }

    [Fact]
    public void Bind_KeysUnderAClientProperty_Refused()
    {
        // FLOWWATCH_FlowWatch__Kafka__Client__sasl__password, meant as sasl.password: the map took no entry and the
        // clients would connect without the password.
        var refused = Assert.Throws<ConfigurationException>(() => FlowWatchSections.Kafka.Bind(Settings(
            ("FlowWatch:Kafka:Client:sasl:password", "secret"), ("FlowWatch:Kafka:Client:security.protocol", "SASL_SSL"))));

        Assert.Equal("FlowWatch:Kafka:Client:sasl:password: is not a FlowWatch setting", refused.Message);
    }

    [Fact]
    public void Bind_ValuesWhereASectionOfSettingsBelongs_Refused()
    {
        // The binder passes them over: the large-value thresholds kept their defaults, the clients got no property.
        var rules = Assert.Throws<ConfigurationException>(() => FlowWatchSections.Rules.Bind(Settings(("FlowWatch:Rules:LargeValue", "50000"))));
        var kafka = Assert.Throws<ConfigurationException>(() => FlowWatchSections.Kafka.Bind(Settings(("FlowWatch:Kafka:Client", "sasl.password=secret"))));

        Assert.Equal("FlowWatch:Rules:LargeValue: is a section of settings, not a value", rules.Message);
        Assert.Equal("FlowWatch:Kafka:Client: is a section of settings, not a value", kafka.Message);
    }

    [Fact]
    public void Bind_EmptyValueOfASettingThatTakesOne_Refused()
    {
        // FLOWWATCH_FlowWatch__Rules__DormantDays= (set to nothing) or "DormantDays": null: the default held, unsaid.
        var refused = Assert.Throws<ConfigurationException>(() => FlowWatchSections.Rules.Bind(Settings(
            ("FlowWatch:Rules:DormantDays", ""), ("FlowWatch:Rules:LargeValue:CashCny", ""), ("FlowWatch:Rules:LateEventBound", ""))));
        var kafka = Assert.Throws<ConfigurationException>(() => FlowWatchSections.Kafka.Bind(Settings(("FlowWatch:Kafka:CommitInterval", ""))));

        Assert.Equal(
            "FlowWatch:Rules:DormantDays: is empty; give it a value, or leave it out for the default" + Environment.NewLine +
            "FlowWatch:Rules:LargeValue:CashCny: is empty; give it a value, or leave it out for the default" + Environment.NewLine +
            "FlowWatch:Rules:LateEventBound: is empty; give it a value, or leave it out for the default",
            refused.Message);
        Assert.Equal("FlowWatch:Kafka:CommitInterval: is empty; give it a value, or leave it out for the default", kafka.Message);
        // A text setting may be empty: it says "none" where that is allowed, and its own validation judges it.
        Assert.Equal("", FlowWatchSections.Kafka.Bind(Settings(("FlowWatch:Kafka:ReferenceTopic", ""))).ReferenceTopic);
    }

    [Fact]
    public void Bind_EmptySectionsOfSettings_Accepted()
    {
        // appsettings.json's "Client": {} is read as an empty value.
        var settings = Settings(("FlowWatch:Kafka:Client", ""), ("FlowWatch:Rules:LargeValue", ""));

        Assert.Empty(FlowWatchSections.Kafka.Bind(settings).Client);
        Assert.Equal(50_000m, FlowWatchSections.Rules.Bind(settings).LargeValue.CashCny);
    }
}
