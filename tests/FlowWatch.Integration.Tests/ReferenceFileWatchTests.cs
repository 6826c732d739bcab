using FlowWatch.Worker.Kafka;
using static FlowWatch.Integration.Tests.TestKafka;

namespace FlowWatch.Integration.Tests;

/// <summary>A reference file changed while the worker runs is not read, but the change is reported, and a broken one named.</summary>
public sealed class ReferenceFileWatchTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("flowwatch-reference-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Check_FileChangedBrokenThenGood_ReportsEachChangeOnce()
    {
        var path = Path.Combine(_directory, "reference.json");
        File.Copy(Samples("reference.json"), path);
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var watch = new ReferenceFileWatch(path, new LineLogger(lines.Enqueue));

        watch.Check();
        await File.WriteAllTextAsync(path, """{"parameters": {""");
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(1));
        watch.Check();
        watch.Check();
        await Until(() => !lines.IsEmpty);
        File.Copy(Samples("reference.json"), path, overwrite: true);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(2));
        watch.Check();
        await Until(() => lines.Count >= 2);
        await Task.Delay(200);

        Assert.Equal(2, lines.Count);
        Assert.StartsWith($"reference file {path} changed, and the next start would refuse it: reference data: ", lines.First(), StringComparison.Ordinal);
        Assert.Equal($"reference file {path} changed: the worker goes on with the reference data it has; the file is read at the next start (changes while running go through the reference topic)",
            lines.Last());
    }

    [Fact]
    public void Check_NoFileThere_WatchesNothing()
    {
        var lines = new List<string>();
        var path = Path.Combine(_directory, "(generated)");
        var watch = new ReferenceFileWatch(path, new LineLogger(lines.Add));
        File.Copy(Samples("reference.json"), path);

        watch.Check();

        Assert.Empty(lines);
    }

    private static async Task Until(Func<bool> condition)
    {
        using var waited = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!condition()) await Task.Delay(20, waited.Token);
    }
}
