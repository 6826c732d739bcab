using System.Runtime.InteropServices;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Engine;
using FlowWatch.Core.Tests.Oracle;

namespace FlowWatch.Core.Tests.Engine;

/// <summary>
/// An engine restored from snapshots continues exactly as if it had never stopped: every stream is cut at random
/// points, each part's changes are snapshotted (entities, ids, parameters) into a store, and a fresh engine
/// restored from the store processes the next part. The alerts must equal an uninterrupted run's. Every engine gets
/// the stream's reference data changes where they come, and starts with the reference data in force where it starts,
/// as a worker restarting loads the reference data of the day.
/// </summary>
public sealed class SnapshotRestoreTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void RestoreFromSnapshots_AtRandomCuts_ContinuesWithTheUninterruptedAlerts(int profileIndex)
    {
        var profile = (SettingsProfile)profileIndex;
        for (var seed = 0; seed < 150; seed++)
        {
            var stream = RandomStreams.Generate(7_000_000 + seed, profile);
            var expected = Run(new FlowEngine(stream.Reference, stream.Settings), stream, 0, stream.Lines.Count);

            var random = new Random(seed);
            var cuts = Enumerable.Range(0, random.Next(1, 5)).Select(_ => random.Next(stream.Lines.Count)).Append(stream.Lines.Count).Distinct().Order().ToList();
            var store = new SnapshotStore();
            var actual = new List<string>();
            var from = 0;
            foreach (var cut in cuts)
            {
                var engine = store.Restore(new FlowEngine(ReferenceAt(stream, from), stream.Settings, shards: 1 + seed % 3));
                actual.AddRange(Run(engine, stream, from, cut));
                store.Save(engine);
                from = cut;
            }

            var firstDifference = Enumerable.Range(0, Math.Max(expected.Count, actual.Count))
                .FirstOrDefault(i => i >= expected.Count || i >= actual.Count || expected[i] != actual[i], -1);
            Assert.True(firstDifference < 0,
                $"seed {stream.Seed} ({profile}), cuts at {string.Join(", ", cuts)}: alert {firstDifference} differs:\n" +
                $"  uninterrupted: {expected.ElementAtOrDefault(firstDifference)}\n  restored:      {actual.ElementAtOrDefault(firstDifference)}");
        }
    }

    /// <summary>
    /// The worker's way (StateBook): entities saved one by one at random moments after they change, ids saved now and
    /// then; at a random cut a fresh engine takes the newest saved state of each entity and the ids before the restart
    /// point (the earliest unsaved change), processes the lines from there again for state only, and goes on. Its
    /// alerts after the cut must equal an uninterrupted run's.
    /// </summary>
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void ReprocessFromTheRestartPoint_AfterStaggeredSaves_ContinuesWithTheUninterruptedAlerts(int profileIndex)
    {
        var profile = (SettingsProfile)profileIndex;
        for (var seed = 0; seed < 100; seed++)
        {
            var stream = RandomStreams.Generate(8_000_000 + seed, profile);
            var random = new Random(seed);
            var cut = random.Next(stream.Lines.Count + 1);
            var expected = Run(new FlowEngine(stream.Reference, stream.Settings), stream, 0, stream.Lines.Count).Skip(AlertsBefore(stream, cut)).ToList();

            // The running engine, with what a state topic would hold of it.
            var running = new FlowEngine(stream.Reference, stream.Settings);
            running.TrackChanges();
            var savedEntities = new Dictionary<string, byte[]>();
            var savedIds = new List<TxnIdRecord>();
            var unsavedIds = new List<TxnIdRecord>();
            var dirtySince = new Dictionary<string, (int Line, EntityState Entity)>();
            var idsSavedThrough = 0;
            var parametersBefore = new List<byte[]>();
            var alerts = new List<Alert>();
            for (var i = 0; i < cut; i++)
            {
                parametersBefore.Add(StateCodec.Encode(running.Reference.Parameters));
                foreach (var change in stream.ChangesBefore(i)) running.UpdateReference(change.Reference);
                running.Process(stream.Lines[i], i + 1, alerts, out _);
                alerts.Clear();
                var changed = new List<EntityState>();
                var ids = new List<TxnIdRecord>();
                running.TakeChanges(changed, ids);
                foreach (var entity in changed) dirtySince.TryAdd(entity.EntityId, (i, entity));
                unsavedIds.AddRange(ids);
                foreach (var (id, (_, entity)) in dirtySince.Where(_ => random.Next(8) == 0).ToList())
                {
                    savedEntities[id] = StateCodec.Encode(entity);
                    dirtySince.Remove(id);
                }
                if (random.Next(10) == 0)
                {
                    savedIds.AddRange(unsavedIds);
                    unsavedIds.Clear();
                    idsSavedThrough = i + 1;
                }
            }
            parametersBefore.Add(StateCodec.Encode(running.Reference.Parameters));
            var restartPoint = dirtySince.Values.Select(d => d.Line).Append(idsSavedThrough).Min();

            var restored = new FlowEngine(ReferenceAt(stream, restartPoint), stream.Settings, shards: 1 + seed % 3);
            foreach (var bytes in savedEntities.Values) restored.Restore(StateCodec.DecodeEntity(bytes, restored.Settings.TrailingWindow));
            foreach (var id in savedIds.Where(id => id.Sequence <= restartPoint)) restored.Restore(id);
            restored.Restore(StateCodec.DecodeParameters(parametersBefore[restartPoint]));
            for (var i = restartPoint; i < cut; i++)
            {
                foreach (var change in stream.ChangesBefore(i)) restored.UpdateReference(change.Reference);
                restored.Reprocess(stream.Lines[i], i + 1, publishedAt: null, alerts);
                alerts.Clear();
            }
            restored.Restore(StateCodec.DecodeParameters(parametersBefore[cut]));
            var actual = Run(restored, stream, cut, stream.Lines.Count);

            var firstDifference = Enumerable.Range(0, Math.Max(expected.Count, actual.Count))
                .FirstOrDefault(i => i >= expected.Count || i >= actual.Count || expected[i] != actual[i], -1);
            Assert.True(firstDifference < 0,
                $"seed {stream.Seed} ({profile}), cut at {cut}, restart point {restartPoint}: alert {firstDifference} differs:\n" +
                $"  uninterrupted: {expected.ElementAtOrDefault(firstDifference)}\n  restored:      {actual.ElementAtOrDefault(firstDifference)}");
        }
    }

    [Fact]
    public void DecodeEntity_Version3LargeValueSums_ContinueAccumulating()
    {
        // The entity state of version 3 kept one sum per accumulator: CNY, or USD-equivalent for FX.
        var day = ShanghaiTime.DayNumber(TestStreams.T0.UtcTicks);
        var cnyKey = StructuringKey.Of(Direction.In, LargeValueCategory.NonIndividualTransfer, CurrencyClass.Cny);
        var fxKey = StructuringKey.Of(Direction.In, LargeValueCategory.NonIndividualTransfer, CurrencyClass.Fx);
        using var bytes = new MemoryStream();
        using (var w = new BinaryWriter(bytes, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            w.Write((byte)3);
            w.Write("E1");
            w.Write(TestStreams.T0.UtcTicks);
            w.Write(2L);   // events
            w.Write(0L);   // late events
            w.Write(0L);   // last sequence
            w.Write(0);    // window entries
            w.Write(StructuringKey.Count + 5);
            for (var i = 0; i < StructuringKey.Count + 5; i++) w.Write(EntityState.NoTime);
            w.Write(day - 7);
            w.Write(2);
            w.Write(day);
            w.Write(cnyKey);
            w.Write(1_999_999.99m);
            w.Write(day);
            w.Write(fxKey);
            w.Write(199_999.99m);
            w.Write(0);    // penetration positions
            w.Write(0.0);  // baseline
            w.Write(0.0);
            w.Write(0);
            w.Write(0L);
            w.Write(0);
            w.Write(0.0);
            w.Write(0.0);
            w.Write(0);
        }
        var stream = TestStreams.Reference().Entity("E1").Stream();
        stream.Engine.Restore(StateCodec.DecodeEntity(bytes.ToArray(), stream.Engine.Settings.TrailingWindow));

        var cny = stream.Send(TestStreams.Event().Amount(0.01m));
        var fx = stream.Send(TestStreams.Event().Amount(0.01m, "USD"));

        Assert.Equal(2_000_000m, cny.Single("LARGE_VALUE_REPORT").Metrics.Observed);
        Assert.Equal(200_000m, fx.Single("LARGE_VALUE_REPORT").Metrics.Observed);
    }

    private static int AlertsBefore(GeneratedStream stream, int line) => Run(new FlowEngine(stream.Reference, stream.Settings), stream, 0, line).Count;

    /// <summary>The reference data in force before the record at <paramref name="line"/> is reached (changes just before it not yet applied).</summary>
    private static FlowWatch.Core.Reference.ReferenceData ReferenceAt(GeneratedStream stream, int line) =>
        stream.ReferenceChanges.LastOrDefault(change => change.BeforeLine < line)?.Reference ?? stream.Reference;

    /// <summary>Records [from, to) of the stream, with its reference data changes where they come.</summary>
    private static List<string> Run(FlowEngine engine, GeneratedStream stream, int from, int to)
    {
        var alerts = new List<Alert>();
        var described = new List<string>();
        for (var i = from; i < to; i++)
        {
            foreach (var change in stream.ChangesBefore(i)) engine.UpdateReference(change.Reference);
            engine.Process(stream.Lines[i], i + 1, alerts, out _);
            described.AddRange(alerts.Select(a => $"{a.AlertId} {a.Rule} {a.Severity} {a.Metrics}"));
            alerts.Clear();
        }
        return described;
    }

    /// <summary>What a state topic would hold: the latest bytes per entity, every id record, the latest parameters.</summary>
    private sealed class SnapshotStore
    {
        private readonly Dictionary<string, byte[]> _entities = [];
        private readonly List<byte[]> _ids = [];
        private byte[]? _parameters;

        public void Save(FlowEngine engine)
        {
            var entities = new List<EntityState>();
            var ids = new List<TxnIdRecord>();
            engine.TakeChanges(entities, ids);
            foreach (var entity in entities) _entities[entity.EntityId] = StateCodec.Encode(entity);
            _ids.Add(StateCodec.Encode(CollectionsMarshal.AsSpan(ids)));
            _parameters = StateCodec.Encode(engine.Reference.Parameters);
        }

        public FlowEngine Restore(FlowEngine engine)
        {
            engine.TrackChanges();
            foreach (var bytes in _entities.Values) engine.Restore(StateCodec.DecodeEntity(bytes, engine.Settings.TrailingWindow));
            foreach (var bytes in _ids)
            {
                foreach (var id in StateCodec.DecodeTxnIds(bytes)) engine.Restore(id);
            }
            if (_parameters is not null) engine.Restore(StateCodec.DecodeParameters(_parameters));
            return engine;
        }
    }
}
