using FlowWatch.Worker.Kafka;

namespace FlowWatch.Core.Tests.Streaming;

public sealed class CheckpointBookTests
{
    [Fact]
    public void Complete_MarkerOfACheckpoint_IsHandedOutOnlyOnceEveryEntitySavedInItIsSavedAgain()
    {
        var book = new CheckpointBook();
        var first = book.Begin();
        book.SavedEntity("A", first);
        book.SavedEntity("B", first);
        Assert.Empty(book.Complete(first));

        var second = book.Begin();
        book.SavedEntity("A", second);
        Assert.Empty(book.Complete(second));   // B still needs the first marker

        var third = book.Begin();
        book.SavedEntity("B", third);
        Assert.Equal([first], book.Complete(third));
        Assert.DoesNotContain(first, book.Complete(book.Begin()));
    }

    [Fact]
    public void Complete_LatestCheckpoint_KeepsItsMarkerWithNothingSavedInIt()
    {
        var book = new CheckpointBook();
        var first = book.Begin();
        Assert.Empty(book.Complete(first));
        var second = book.Begin();
        Assert.Equal([first], book.Complete(second));
        Assert.Equal(1, book.References[second]);
    }

    [Fact]
    public void ExpireIds_IdsPastTheHorizon_HandsOutTheirCheckpointAndThenItsMarker()
    {
        var book = new CheckpointBook();
        var first = book.Begin();
        book.SavedIds(first, newestDay: 10);
        Assert.Empty(book.Complete(first));
        var second = book.Begin();
        book.SavedIds(second, newestDay: 12);

        Assert.Empty(book.ExpireIds(day => day < 10));   // just below: the first checkpoint's newest day is 10
        Assert.Equal([first], book.ExpireIds(day => day < 11));
        Assert.Equal([first], book.Complete(second));
        Assert.Empty(book.ExpireIds(day => day < 11));
    }

    [Fact]
    public void Restored_MarkersNothingNeeds_AreHandedOutAtTheFirstCheckpoint()
    {
        var book = new CheckpointBook(next: 8, entities: new() { ["A"] = 5, ["B"] = 7 }, ids: [(6, 3)], latest: 7, markers: [2, 5, 6, 7]);
        var next = book.Begin();
        Assert.Equal(8, next);
        book.SavedEntity("A", next);
        Assert.Equal([2, 5], book.Complete(next).Order());
    }

    /// <summary>
    /// Random checkpoints against a naive account of which markers a compacted topic needs: those of every entity's
    /// newest state, of every id record not yet expired, and the latest. What the book has not handed out must be
    /// exactly that set after every checkpoint.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Complete_RandomCheckpoints_LeavesExactlyTheMarkersTheNaiveAccountNeeds(int seed)
    {
        var random = new Random(seed);
        var book = new CheckpointBook();
        var newestOf = new Dictionary<string, long>();
        var idDays = new Dictionary<long, int>();
        var alive = new HashSet<long>();
        for (var round = 0; round < 300; round++)
        {
            var checkpoint = book.Begin();
            foreach (var entity in Enumerable.Range(0, random.Next(0, 6)).Select(_ => $"E{random.Next(20)}").Distinct())
            {
                book.SavedEntity(entity, checkpoint);
                newestOf[entity] = checkpoint;
            }
            if (random.Next(3) > 0)
            {
                var day = round / 10 + random.Next(3);
                book.SavedIds(checkpoint, day);
                idDays[checkpoint] = day;
            }
            var forgottenBefore = round / 10 - 2;
            var expired = book.ExpireIds(day => day < forgottenBefore);
            Assert.Equal(idDays.Where(r => r.Value < forgottenBefore).Select(r => r.Key).Order(), expired.Order());
            foreach (var gone in expired) idDays.Remove(gone);
            alive.Add(checkpoint);
            alive.ExceptWith(book.Complete(checkpoint));

            var needed = newestOf.Values.Concat(idDays.Keys).Append(checkpoint).ToHashSet();
            Assert.Equal(needed.Order(), alive.Order());
        }
    }
}
