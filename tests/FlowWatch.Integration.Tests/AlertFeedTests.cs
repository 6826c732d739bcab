using System.Text;
using System.Text.Json;
using FlowWatch.Core.Contracts;
using FlowWatch.Worker.Dashboard;
using FlowWatch.Worker.Kafka;

namespace FlowWatch.Integration.Tests;

/// <summary>The bounded ring behind the alert API and the live stream.</summary>
public sealed class AlertFeedTests
{
    private static PublishedAlert Alert(int n, Severity severity = Severity.I) =>
        new(severity, "RULE", $"E{n % 3}", Encoding.UTF8.GetBytes($$"""{"alertId":"a{{n}}"}"""));

    private static string AlertIdOf(FeedEntry entry) => JsonDocument.Parse(entry.Alert.Json).RootElement.GetProperty("alertId").GetString()!;

    [Fact]
    public void After_AnIdStillHeld_AnswersTheAlertsAfterItOldestFirst()
    {
        var feed = new AlertFeed(capacity: 10);
        feed.Publish([.. Enumerable.Range(1, 5).Select(n => Alert(n))]);

        var (entries, missed, _) = feed.After(2);

        Assert.False(missed);
        Assert.Equal([3L, 4L, 5L], entries.Select(e => e.Id));
        Assert.Equal(["a3", "a4", "a5"], entries.Select(AlertIdOf));
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(5, true)]     // 6 is forgotten
    [InlineData(6, false)]    // just below the oldest held: nothing missed
    [InlineData(99, true)]    // an id this feed never gave
    [InlineData(-5, true)]
    public void After_AnIdAroundTheOldestHeld_AnswersFromTheOldestHeldAndSaysWhetherSomeWereMissed(long afterId, bool missed)
    {
        var feed = new AlertFeed(capacity: 4);
        feed.Publish([.. Enumerable.Range(1, 10).Select(n => Alert(n))]);

        var after = feed.After(afterId);

        Assert.Equal([7L, 8L, 9L, 10L], after.Entries.Select(e => e.Id));
        Assert.Equal(missed, after.Missed);
        Assert.Empty(feed.After(10).Entries);
        Assert.False(feed.After(10).Missed);
    }

    [Fact]
    public void After_AnIdOfAnEarlierProcess_SaysSomeWereMissed()
    {
        var started = new DateTimeOffset(2026, 11, 28, 9, 0, 0, TimeSpan.Zero);
        var earlier = new AlertFeed(capacity: 100, AlertFeed.FirstIdAt(started));
        earlier.Publish([.. Enumerable.Range(1, 50).Select(n => Alert(n))]);
        var later = new AlertFeed(capacity: 100, AlertFeed.FirstIdAt(started.AddSeconds(1)));
        later.Publish([.. Enumerable.Range(51, 60).Select(n => Alert(n))]);

        var after = later.After(earlier.LastId);

        Assert.True(after.Missed);
        Assert.Equal(60, after.Entries.Count);
        Assert.True(later.LastId > earlier.LastId);
        Assert.True(later.LastId < 1L << 53);   // exact as a JavaScript number
        Assert.False(later.After(later.LastId - 60).Missed);   // where a page that loaded the latest alerts resumes
    }

    [Fact]
    public async Task After_TheNewest_CompletesItsTaskOnTheNextPublish()
    {
        var feed = new AlertFeed(capacity: 4);
        var (entries, _, more) = feed.After(feed.LastId);
        Assert.Empty(entries);
        Assert.False(more.IsCompleted);

        feed.Publish([Alert(1)]);

        await more.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Single(feed.After(0).Entries);
    }

    [Fact]
    public void Latest_WithAFilter_AnswersNewestFirstUpToTheLimitAndCountsBySeverity()
    {
        var feed = new AlertFeed(capacity: 100);
        feed.Publish([.. Enumerable.Range(1, 9).Select(n => Alert(n, n % 2 == 0 ? Severity.III : Severity.I))]);

        var (latest, lastId) = feed.Latest(3, a => a.Severity == Severity.III);

        Assert.Equal(["a8", "a6", "a4"], latest.Select(AlertIdOf));
        Assert.Equal(9, lastId);
        Assert.Equal([5L, 0L, 4L], feed.CountBySeverity());
    }

    [Fact]
    public async Task Latest_WhileItsFilterRuns_DoesNotHoldUpPublishing()
    {
        var feed = new AlertFeed(capacity: 10);
        feed.Publish([Alert(1)]);
        using var filtering = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var reading = Task.Run(() => feed.Latest(10, _ =>
        {
            filtering.Set();
            return release.Wait(TimeSpan.FromSeconds(30));
        }));
        Assert.True(filtering.Wait(TimeSpan.FromSeconds(30)));

        var publishing = Task.Run(() => feed.Publish([Alert(2)]));
        var published = await Task.WhenAny(publishing, Task.Delay(TimeSpan.FromSeconds(10))) == publishing;
        release.Set();
        var (latest, lastId) = await reading;

        Assert.True(published, "a commit's alerts waited for a reader's scan");
        Assert.Equal(["a1"], latest.Select(AlertIdOf));
        Assert.Equal(1, lastId);
    }

    [Fact]
    public void Latest_AlertsOverwrittenDuringTheScan_EndsWhereTheyWereAndListsNoNewerOne()
    {
        var feed = new AlertFeed(capacity: 3);
        feed.Publish([.. Enumerable.Range(1, 3).Select(n => Alert(n))]);
        var first = true;

        // While the newest is being looked at, three more alerts take the places of all three.
        var (latest, lastId) = feed.Latest(10, _ =>
        {
            if (first) feed.Publish([.. Enumerable.Range(4, 3).Select(n => Alert(n))]);
            first = false;
            return true;
        });

        Assert.Equal(["a3"], latest.Select(AlertIdOf));
        Assert.Equal(3, lastId);
    }

    [Fact]
    public void Entry_AsJson_CarriesItsIdAndThePublishedAlertAsIs()
    {
        Assert.Equal("""{"id":7,"alert":{"alertId":"a1"}}""", JsonSerializer.Serialize(new FeedEntry(7, Alert(1))));
    }
}
