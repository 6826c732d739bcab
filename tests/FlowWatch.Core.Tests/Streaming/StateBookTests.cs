using FlowWatch.Core.Engine;
using FlowWatch.Core.Reference;
using FlowWatch.Worker.Kafka;

namespace FlowWatch.Core.Tests.Streaming;

public sealed class StateBookTests
{
    private static readonly DateTime Start = new(2026, 3, 1, 0, 0, 0, DateTimeKind.Utc);
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);
    private static readonly Parameters Base = new() { MacroPrudentialFactor = 1m };

    private static Parameters Factor(decimal factor) => Base with { MacroPrudentialFactor = factor };

    private static StateBook NewBook() => new(boundary: 100, Base, [], nextIdRecord: 0);

    private static (IReadOnlyList<EntityState> Entities, List<TxnIdRecord>? Ids) Commit(StateBook book, long boundary, TimeSpan at,
        IEnumerable<EntityState>? changed = null, IEnumerable<TxnIdRecord>? ids = null, Parameters? parameters = null, bool all = false) =>
        book.Commit(boundary, parameters ?? Base, changed ?? [], ids ?? [], Start + at, Interval, commitInterval: Interval, all);

    [Fact]
    public void Commit_ChangedEntity_IsSavedOnceTheIntervalHasPassedSinceItsFirstUnsavedChange()
    {
        var book = NewBook();
        var entity = new EntityState("A");
        Commit(book, 110, TimeSpan.Zero, [entity]);
        Assert.Empty(Commit(book, 120, Interval - TimeSpan.FromTicks(1), [entity]).Entities);   // just below
        Assert.Equal([entity], Commit(book, 130, Interval).Entities);                             // at
        Assert.Empty(Commit(book, 140, Interval + TimeSpan.FromTicks(1)).Entities);              // saved: nothing left
    }

    [Fact]
    public void Commit_ManyEntitiesDueAtOnce_SavesTwiceACommitsShareOfThemOldestFirst()
    {
        var book = NewBook();
        var entities = Enumerable.Range(0, 1_000).Select(i => new EntityState($"E{i}")).ToList();
        book.Commit(110, Base, entities.Take(500), [], Start, Interval, TimeSpan.FromMilliseconds(50), all: false);
        book.Commit(120, Base, entities.Skip(500), [], Start + TimeSpan.FromSeconds(1), Interval, TimeSpan.FromMilliseconds(50), all: false);

        // 1,000 unsaved, commits every 50 ms of a 5 s interval: 2 × 1,000 × 1/100 = 20 a commit.
        var first = book.Commit(130, Base, [], [], Start + TimeSpan.FromSeconds(6), Interval, TimeSpan.FromMilliseconds(50), all: false);
        Assert.Equal(entities.Take(20), first.Entities);
        Assert.Equal(100, book.RestartPoint().Offset);   // the first 500 changed after boundary 100
        var rest = new List<EntityState>();
        for (var commit = 0; commit < 60 && rest.Count < 980; commit++)
        {
            rest.AddRange(book.Commit(140 + commit, Base, [], [], Start + TimeSpan.FromSeconds(7), Interval, TimeSpan.FromMilliseconds(50), all: false).Entities);
        }
        Assert.Equal(entities.Skip(20), rest);
        Assert.Empty(book.Commit(300, Base, [], [], Start + TimeSpan.FromSeconds(7), Interval, TimeSpan.FromMilliseconds(1), all: true).Entities);
    }

    [Fact]
    public void RestartPoint_UnsavedEntity_IsTheBoundaryBeforeItsFirstUnsavedChangeWithTheParametersThere()
    {
        var book = NewBook();
        Commit(book, 110, TimeSpan.Zero);   // ids saved: first commit
        Commit(book, 120, TimeSpan.FromSeconds(1), parameters: Factor(0.5m));
        Commit(book, 130, TimeSpan.FromSeconds(2), [new EntityState("A")], parameters: Factor(0.4m));
        Commit(book, 140, TimeSpan.FromSeconds(3), [new EntityState("B")], parameters: Factor(0.3m));
        Assert.Equal((110, Base), book.RestartPoint());   // the ids accepted after 110 are not saved yet
        Commit(book, 150, Interval, parameters: Factor(0.3m));   // ids saved; A and B not due yet

        Assert.Equal((120, Factor(0.5m)), book.RestartPoint());
        Assert.Equal(120, book.SavedThrough);
    }

    [Fact]
    public void RestartPoint_IdsSavedEveryInterval_IsNeverPastTheLastSaveOfIds()
    {
        var book = NewBook();
        var first = Commit(book, 110, TimeSpan.Zero, ids: [new TxnIdRecord(1, 1, 1, 105, 7)]);
        Assert.Single(first.Ids!);
        Assert.Null(Commit(book, 120, TimeSpan.FromSeconds(1), ids: [new TxnIdRecord(2, 2, 1, 115, 7)]).Ids);
        Assert.Equal(110, book.RestartPoint().Offset);
        var later = Commit(book, 130, Interval, ids: [new TxnIdRecord(3, 3, 1, 125, 7)]);
        Assert.Equal([115L, 125L], later.Ids!.Select(id => id.Sequence));
        Assert.Equal(130, book.RestartPoint().Offset);
    }

    [Fact]
    public void Commit_All_SavesEveryChangeAndMovesTheRestartPointToTheBoundary()
    {
        var book = NewBook();
        Commit(book, 110, TimeSpan.Zero);
        var a = new EntityState("A");
        var b = new EntityState("B");
        Commit(book, 120, TimeSpan.FromSeconds(1), [a, b], [new TxnIdRecord(1, 1, 1, 112, 7)]);
        var saved = Commit(book, 130, TimeSpan.FromSeconds(2), all: true);
        Assert.Equal([a, b], saved.Entities);
        Assert.Single(saved.Ids!);
        Assert.Equal(130, book.RestartPoint().Offset);
        Assert.Equal(DateTime.MaxValue, book.NextDue(Interval));
    }

    [Fact]
    public void Replayed_ChangesFromTheRestartPoint_AreDueAtOnceAndHoldTheRestartPointUntilSaved()
    {
        var book = new StateBook(boundary: 200, Factor(0.5m), [], nextIdRecord: 7);
        var a = new EntityState("A");
        book.Replayed(150, Factor(0.8m), [a], [new TxnIdRecord(1, 1, 1, 160, 7)]);
        Assert.Equal((150, Factor(0.8m)), book.RestartPoint());
        Assert.True(book.NextDue(Interval) < Start);

        var saved = Commit(book, 210, TimeSpan.Zero);
        Assert.Equal([a], saved.Entities);
        Assert.Single(saved.Ids!);
        Assert.Equal((210, Base), book.RestartPoint());
        Assert.Equal(7, book.SavedIds(1, 1));
    }

    [Fact]
    public void ExpireIds_RecordsWhoseNewestDayIsForgotten_AreHandedOutOnce()
    {
        var book = new StateBook(boundary: 0, Base, [(3, 2, 10), (4, 1, 12)], nextIdRecord: 5);
        Assert.Empty(book.ExpireIds(day => day < 10));
        Assert.Equal([(3L, 2)], book.ExpireIds(day => day < 11));
        Assert.Empty(book.ExpireIds(day => day < 11));
    }

    /// <summary>
    /// A record found forgotten at a commit is deleted only once the restart point has reached that commit: payments
    /// after the restart point are processed again by a restore, and one of them may have been refused as a repeat of
    /// one of its ids. It used to be deleted at once.
    /// </summary>
    [Fact]
    public void ExpireIds_RestartPointBeforeTheCommitThatFoundTheRecordForgotten_KeepsItUntilThePointPasses()
    {
        var book = new StateBook(boundary: 100, Base, [(3, 1, 10)], nextIdRecord: 4);
        var entity = new EntityState("A");
        Commit(book, 110, TimeSpan.Zero, [entity]);                  // A changed after 100, not saved yet
        Commit(book, 120, TimeSpan.FromSeconds(1));
        Assert.Empty(book.ExpireIds(day => day < 11));                 // found forgotten at 120; restart point 100
        Commit(book, 130, TimeSpan.FromSeconds(2));
        Assert.Empty(book.ExpireIds(day => day < 11));
        Assert.Equal([entity], Commit(book, 140, Interval).Entities);  // A saved: restart point 140
        Assert.Equal([(3L, 1)], book.ExpireIds(day => day < 11));
        Assert.Empty(book.ExpireIds(day => day < 11));
    }

    /// <summary>
    /// Random commits against a naive account kept from the whole history: each entity's first change after its last
    /// save, the last save of ids, and the parameters at every boundary. The restart point must be the earliest
    /// boundary before an unsaved change, never past the last save of ids, with the parameters of that boundary; and
    /// no entity may wait more than the interval after its first unsaved change once a commit comes.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void RestartPoint_RandomCommits_MatchesTheNaiveAccount(int seed)
    {
        var random = new Random(seed);
        var entities = Enumerable.Range(0, 30).Select(i => new EntityState($"E{i}")).ToArray();
        var book = NewBook();
        var parametersAt = new Dictionary<long, Parameters> { [100] = Base };
        var firstUnsaved = new Dictionary<EntityState, (long Boundary, TimeSpan At)>();
        long boundary = 100, idsSavedThrough = 100;
        var now = TimeSpan.Zero;
        for (var round = 0; round < 400; round++)
        {
            now += TimeSpan.FromMilliseconds(random.Next(1, 800));
            var changed = entities.Where(_ => random.Next(10) == 0).ToList();
            foreach (var entity in changed) firstUnsaved.TryAdd(entity, (boundary, now));
            var next = boundary + random.Next(0, 50);
            var parameters = random.Next(20) == 0 ? Factor(random.Next(1, 10) / 10m) : parametersAt[boundary];
            parametersAt[next] = parameters;
            var all = random.Next(50) == 0;
            var (saved, ids) = Commit(book, next, now, changed, parameters: parameters, all: all);
            boundary = next;

            foreach (var entity in saved)
            {
                Assert.True(all || firstUnsaved[entity].At + Interval <= now, $"{entity.EntityId} saved early");
                firstUnsaved.Remove(entity);
            }
            Assert.DoesNotContain(firstUnsaved, pending => pending.Value.At + Interval <= now);
            if (ids is not null) idsSavedThrough = boundary;
            var expected = firstUnsaved.Values.Select(pending => pending.Boundary).Append(idsSavedThrough).Min();
            Assert.Equal((expected, parametersAt[expected]), book.RestartPoint());
        }
    }
}
