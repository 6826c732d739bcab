using System.Diagnostics;

namespace FlowWatch.Integration.Tests.Aggregates;

/// <summary>
/// A real ClickHouse server on loopback (Debian's clickhouse-server). <c>./test.sh</c> starts one and names it in
/// <c>FLOWWATCH_TEST_CLICKHOUSE</c>; without it the tests start their own through deploy/clickhouse/local-server.sh,
/// except under CI, where a missing server is a failure, not a skip.
/// </summary>
public sealed class ClickHouseServer : IDisposable
{
    public const string EnvironmentVariable = "FLOWWATCH_TEST_CLICKHOUSE";

    private readonly string? _ownDirectory;

    public ClickHouseServer()
    {
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } given)
        {
            ConnectionString = given;
            return;
        }
        if (Environment.GetEnvironmentVariable("CI") == "true")
        {
            throw new InvalidOperationException($"{EnvironmentVariable} is not set: ./test.sh starts a ClickHouse server for the tests and names it there");
        }
        _ownDirectory = Directory.CreateTempSubdirectory("flowwatch-clickhouse-").FullName;
        ConnectionString = $"Host=127.0.0.1;Port={Start(_ownDirectory)}";
    }

    /// <summary>Connection string of the server, without a database.</summary>
    public string ConnectionString { get; }

    /// <summary>A connection string to a database of its own, so tests do not see each other's rows.</summary>
    public string NewDatabase() => $"{ConnectionString};Database=t_{Guid.NewGuid():N}";

    public void Dispose()
    {
        if (_ownDirectory is null) return;
        Stop(_ownDirectory);
        Directory.Delete(_ownDirectory, recursive: true);
    }

    /// <summary>Starts a server keeping its data in <paramref name="directory"/> (the same port again when restarted); returns its HTTP port.</summary>
    public static int Start(string directory) => int.Parse(Script("start", directory), System.Globalization.CultureInfo.InvariantCulture);

    public static void Stop(string directory) => Script("stop", directory);

    private static string Script(string command, string directory)
    {
        var script = Path.Combine(AppContext.BaseDirectory, "deploy", "clickhouse", "local-server.sh");
        using var process = Process.Start(new ProcessStartInfo("bash", [script, command, directory])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(60_000) || process.ExitCode != 0)
        {
            throw new InvalidOperationException($"local-server.sh {command} failed: {error.Result}");
        }
        return output.Result.Trim();
    }
}

[CollectionDefinition(Name)]
public sealed class SharedClickHouse : ICollectionFixture<ClickHouseServer>
{
    public const string Name = "ClickHouse";
}
