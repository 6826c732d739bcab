using FlowWatch.Worker.Aggregates;
using FlowWatch.Worker.Cli;
using static FlowWatch.Testing.CommandRunner;

namespace FlowWatch.Core.Tests.Configuration;

/// <summary>
/// <c>FlowWatch:Aggregates:ClickHouse</c>: ClickHouse.Driver passes an unknown key over and takes its default for a value
/// it cannot read, so each key and value is checked at the start, with the key named and no value repeated.
/// </summary>
public sealed class ClickHouseConnectionStringTests
{
    private static IReadOnlyList<string> Problems(string connectionString) => new AggregateOptions { ClickHouse = connectionString }.Validate();

    [Theory]
    [InlineData("Host=127.0.0.1;Port=8123")]
    [InlineData("Host=ch1;Port=8443;Protocol=https;Username=flowwatch;Password=p;Database=flowwatch;Timeout=5")]
    [InlineData("host=ch1;port=8123;compression=False;UseSession=true;ReadBufferSize=65536;Timeout=0.5;JsonReadMode=none;Roles=a,b")]
    [InlineData("Host=ch1;set_max_insert_threads=4;Path=/clickhouse")]
    public void Validate_KeysAndValuesTheDriverReads_Accepted(string connectionString) => Assert.Empty(Problems(connectionString));

    [Theory]
    [InlineData("Host=ch1;Databse=analytics", "'databse' is not a key ClickHouse.Driver reads")]
    [InlineData("Host=ch1;User=flowwatch", "'user' is not a key ClickHouse.Driver reads")]
    [InlineData("Host=ch1;Port=81 23", "Port: must be a port number from 1 to 65535")]
    [InlineData("Host=ch1;Port=70000", "Port: must be a port number from 1 to 65535")]
    [InlineData("Host=ch1;Port=0", "Port: must be a port number from 1 to 65535")]
    [InlineData("Host=ch1;Port=-8123", "Port: must be a port number from 1 to 65535")]
    [InlineData("Host=ch1;Compression=yes", "Compression: must be true or false")]
    [InlineData("Host=ch1;Timeout=5s", "Timeout: must be a number of seconds above 0")]
    [InlineData("Host=ch1;Timeout=0", "Timeout: must be a number of seconds above 0")]
    [InlineData("Host=ch1;ReadBufferSize=8k", "ReadBufferSize: must be a whole number above 0")]
    [InlineData("Host=ch1;Protocol=HTTPS", "Protocol: must be http or https")]
    [InlineData("Host=ch1;JsonWriteMode=Text", "JsonWriteMode: must be one of")]
    public void Validate_KeyOrValueTheDriverWouldPassOver_NamedUnderTheSetting(string connectionString, string problem)
    {
        var problems = Problems(connectionString);

        Assert.StartsWith("FlowWatch:Aggregates:ClickHouse: " + problem, Assert.Single(problems), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Host=ch1;Host=ch2", "Host: given twice")]
    [InlineData("Host=ch1;Password=a;password=b", "Password: given twice")]
    [InlineData("Host=ch1; PASSWORD = 'a;b' ;Password=\"c\"", "Password: given twice")]
    [InlineData("Host=ch1;set_max_threads=1;Set_Max_Threads=2", "set_max_threads: given twice")]
    public void Validate_KeyGivenTwice_NamedAndNeitherValueRepeated(string connectionString, string problem)
    {
        var problems = Problems(connectionString);

        Assert.Equal("FlowWatch:Aggregates:ClickHouse: " + problem + " (the driver would take the last value)", Assert.Single(problems));
    }

    [Theory]
    [InlineData("Host=ch1;Password='a;Password=b'")]
    [InlineData("Host=ch1;Password=\"a;password=b\";Port=8123;")]
    public void Validate_KeyOnlyInsideAQuotedValue_NotGivenTwice(string connectionString) => Assert.Empty(Problems(connectionString));

    [Fact]
    public async Task Migrate_MisspeltKeyAndUnreadablePort_ExitsWith3NamingBothAndNotThePassword()
    {
        var (code, _, err) = await Run("migrate", "--clickhouse", "Host=127.0.0.1;Port=http;Passwrd=hunter2;Password=hunter3");

        Assert.Equal(CommandLine.CannotRun, code);
        Assert.Contains("FlowWatch:Aggregates:ClickHouse (--clickhouse): Port: must be a port number", err, StringComparison.Ordinal);
        Assert.Contains("FlowWatch:Aggregates:ClickHouse (--clickhouse): 'passwrd' is not a key", err, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter", err, StringComparison.Ordinal);
    }
}
