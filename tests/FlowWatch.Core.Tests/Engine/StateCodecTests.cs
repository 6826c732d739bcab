using FlowWatch.Core.Contracts;
using FlowWatch.Core.Engine;
using FlowWatch.Core.Reference;
using FlowWatch.Core.Tests.Oracle;

namespace FlowWatch.Core.Tests.Engine;

/// <summary>
/// The binary state of an entity reads back exactly as it was written, and a byte string that is not such a state
/// (truncated, corrupted, lengthened) is refused with <see cref="InvalidDataException"/>: never another exception, and
/// never a state the engine then fails on.
/// </summary>
public sealed class StateCodecTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void EncodeDecode_EntitiesOfRandomStreams_GiveTheSameBytes(int profileIndex)
    {
        for (var seed = 0; seed < 40; seed++)
        {
            var (stream, engine, _) = Snapshot(9_000_000 + seed, (SettingsProfile)profileIndex, cutAt: 1.0);
            foreach (var entity in Entities(engine))
            {
                var bytes = StateCodec.Encode(entity);
                Assert.Equal(bytes, StateCodec.Encode(StateCodec.DecodeEntity(bytes, stream.Settings.TrailingWindow)));
            }
        }
    }

    [Fact]
    public void EncodeDecode_AmountsKeepTheirScale()
    {
        var stream = TestStreams.Reference().Entity("E1").Stream();
        stream.Send(TestStreams.Event().Amount(1.10m));
        stream.Send(TestStreams.Event().Amount(2.5m, "USD"));
        var entity = stream.Engine.FindEntity("E1")!;

        var decoded = StateCodec.DecodeEntity(StateCodec.Encode(entity), stream.Engine.Settings.TrailingWindow);

        string Amounts(EntityState state) => string.Join(" ", Enumerable.Range(0, state.Window.Count)
            .Select(i => $"{state.Window[i].AmountCny}/{state.Window[i].ClassAmount}")
            .Concat(state.Daily.AsSpan().ToArray().Select(d => $"{d.Cny}@{d.Rate}")));
        Assert.Equal(Amounts(entity), Amounts(decoded));
    }

    [Fact]
    public void DecodeEntity_OfVersion4_TakesItsNewestEventAsTheNewestOutsideTheWindow()
    {
        var stream = TestStreams.Reference().Entity("E1").Stream();
        stream.Send(TestStreams.Event("A").At(TestStreams.T0));
        stream.Send(TestStreams.Event("B").At(TestStreams.T0.AddMinutes(1)));
        var current = StateCodec.Encode(stream.Engine.FindEntity("E1")!);
        // Version 4 wrote the same but for that time: 8 bytes after the version, the id (a length byte and 2) and 4 longs.
        var at = 1 + 1 + "E1".Length + 4 * sizeof(long);
        var version4 = current[..at].Concat(current[(at + sizeof(long))..]).ToArray();
        version4[0] = 4;

        var decoded = StateCodec.DecodeEntity(version4, stream.Engine.Settings.TrailingWindow);

        Assert.Equal(EntityState.NoTime, stream.Engine.FindEntity("E1")!.OutsideWindowNewestTs);
        Assert.Equal(decoded.NewestTs, decoded.OutsideWindowNewestTs);
        Assert.Equal(2, decoded.Window.Count);
    }

    /// <summary>
    /// Every mutation of a valid entity state (a byte changed, bytes cut off, inserted, removed or appended) either
    /// decodes to a state that the engine goes on from without failing, or is refused with InvalidDataException.
    /// </summary>
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void DecodeEntity_MutatedStates_AreRefusedOrUsable(int profileIndex)
    {
        for (var seed = 0; seed < 12; seed++)
        {
            var (stream, engine, cut) = Snapshot(9_100_000 + seed, (SettingsProfile)profileIndex, cutAt: 0.7);
            var random = new Random(seed);
            foreach (var entity in Entities(engine).Where(e => e.Window.Count > 0).Take(6))
            {
                var valid = StateCodec.Encode(entity);
                for (var n = 0; n < 150; n++)
                {
                    var (mutated, how) = Mutate(valid, random);
                    EntityState decoded;
                    try
                    {
                        decoded = StateCodec.DecodeEntity(mutated, stream.Settings.TrailingWindow);
                    }
                    catch (InvalidDataException)
                    {
                        continue;
                    }
                    catch (Exception ex)
                    {
                        Assert.Fail($"seed {stream.Seed}, entity {entity.EntityId}, {how}: {ex.GetType().Name}: {ex.Message}");
                        throw;
                    }
                    var restored = new FlowEngine(stream.Reference, stream.Settings);
                    restored.Restore(decoded);
                    var alerts = new List<Alert>();
                    var failure = (string?)null;
                    for (var i = cut; i < stream.Lines.Count && failure is null; i++)
                    {
                        foreach (var change in stream.ChangesBefore(i)) restored.UpdateReference(change.Reference);
                        restored.Process(stream.Lines[i], i + 1, alerts, out var reason);
                        alerts.Clear();
                        if (restored.Counters.Failures > 0) failure = reason;
                    }
                    Assert.True(failure is null, $"seed {stream.Seed}, entity {entity.EntityId}, {how}: decoded, then {failure}");
                }
            }
        }
    }

    /// <summary>Every mutation of valid parameters decodes to parameters within the reference data's bounds, or is refused.</summary>
    [Fact]
    public void DecodeParameters_MutatedParameters_AreRefusedOrWithinTheirBounds()
    {
        var random = new Random(1);
        Parameters[] valid =
        [
            new(),
            new() { MacroPrudentialFactor = 0.25m, InflowLeverage = 1_000m, OutflowLeverage = 3.5m, WhitelistRequired = false,
                PenetrationKinds = new HashSet<AccountKind> { AccountKind.FTE, AccountKind.EFE } },
        ];
        foreach (var parameters in valid)
        {
            var bytes = StateCodec.Encode(parameters);
            for (var n = 0; n < 5_000; n++)
            {
                var (mutated, how) = Mutate(bytes, random);
                Parameters decoded;
                try
                {
                    decoded = StateCodec.DecodeParameters(mutated);
                }
                catch (InvalidDataException)
                {
                    continue;
                }
                catch (Exception ex)
                {
                    Assert.Fail($"{how}: {ex.GetType().Name}: {ex.Message}");
                    throw;
                }
                Assert.True(decoded.MacroPrudentialFactor is >= 0m and <= 1_000m && decoded.InflowLeverage is >= 0m and <= 1_000m
                    && decoded.OutflowLeverage is >= 0m and <= 1_000m && decoded.PenetrationKinds.Contains(AccountKind.EFE)
                    && decoded.PenetrationKinds.All(kind => kind is AccountKind.EFE or AccountKind.FTE), $"{how}: decoded to {decoded}");
            }
        }
    }

    [Fact]
    public void DecodeTxnIds_OfAPartialRecord_IsRefusedAtOnce()
    {
        var bytes = StateCodec.Encode([new TxnIdRecord(1, 2, 20_515, 0, 7)]);

        var error = Assert.Throws<InvalidDataException>(() => StateCodec.DecodeTxnIds([.. bytes, 0]));

        Assert.Equal("txnId records are a version byte 2 and 28 bytes each, or 24 bytes each without a version byte; these 30 bytes start with 2", error.Message);
    }

    [Fact]
    public void DecodeTxnIds_OfAnotherVersion_IsRefused()
    {
        var bytes = StateCodec.Encode([new TxnIdRecord(1, 2, 20_515, 0, 7)]);
        bytes[0] = 3;

        var error = Assert.Throws<InvalidDataException>(() => StateCodec.DecodeTxnIds(bytes));

        Assert.Equal("txnId records are a version byte 2 and 28 bytes each, or 24 bytes each without a version byte; these 29 bytes start with 3", error.Message);
    }

    [Fact]
    public void EncodeTxnIds_RoundTrips_PrintsIncluded()
    {
        TxnIdRecord[] ids = [new(1, 2, 20_515, 0, 7), new(ulong.MaxValue, uint.MaxValue, 20_516, long.MaxValue, uint.MaxValue)];

        Assert.Equal(ids, StateCodec.DecodeTxnIds(StateCodec.Encode(ids)));
        Assert.Empty(StateCodec.DecodeTxnIds(StateCodec.Encode([])));
    }

    [Fact]
    public void DecodeTxnIds_WrittenBeforePrintsWereKept_AreReadWithNoPrint()
    {
        // Two ids as the form before this one wrote them: 24 bytes each, no version byte.
        var bytes = new byte[48];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(bytes, 1);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), 2);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(12), 20_515);
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(16), 40);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(24), 3);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(32), 4);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(36), 20_516);
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(40), 41);

        Assert.Equal([new TxnIdRecord(1, 2, 20_515, 40, 0), new TxnIdRecord(3, 4, 20_516, 41, 0)], StateCodec.DecodeTxnIds(bytes));
        Assert.Empty(StateCodec.DecodeTxnIds([]));
    }

    [Theory]
    [InlineData(int.MaxValue, 1)]
    [InlineData(-1, 1)]
    [InlineData(20_515, -1)]
    public void DecodeTxnIds_OfNoDayOrSequence_IsRefused(int day, long sequence)
    {
        var bytes = StateCodec.Encode([new TxnIdRecord(1, 2, 20_515, 0, 7), new TxnIdRecord(3, 4, day, sequence, 7)]);

        var error = Assert.Throws<InvalidDataException>(() => StateCodec.DecodeTxnIds(bytes));

        Assert.Equal($"txnId record 1 has day {day} and sequence {sequence}", error.Message);
    }

    [Fact]
    public void DecodeEntity_TrailingBytes_AreRefused()
    {
        var stream = TestStreams.Reference().Entity("E1").Stream();
        stream.Send(TestStreams.Event().Amount(10m));
        var bytes = StateCodec.Encode(stream.Engine.FindEntity("E1")!);

        var error = Assert.Throws<InvalidDataException>(() => StateCodec.DecodeEntity([.. bytes, 0], stream.Engine.Settings.TrailingWindow));

        Assert.Equal("entity state has 1 byte after its end", error.Message);
    }

    private static (byte[] Bytes, string How) Mutate(byte[] valid, Random random)
    {
        var at = random.Next(valid.Length);
        var bytes = (byte[])valid.Clone();
        switch (random.Next(6))
        {
            case 0:
                var value = (byte)random.Next(256);
                bytes[at] = value;
                return (bytes, $"byte {at} set to {value}");
            case 1:
                var bit = random.Next(8);
                bytes[at] ^= (byte)(1 << bit);
                return (bytes, $"bit {bit} of byte {at} flipped");
            case 2:
                return (valid[..at], $"cut to {at} bytes");
            case 3:
                var inserted = (byte)random.Next(256);
                return ([.. valid[..at], inserted, .. valid[at..]], $"{inserted} inserted at {at}");
            case 4:
                return ([.. valid[..at], .. valid[(at + 1)..]], $"byte {at} removed");
            default:
                var length = 1 + random.Next(16);
                var appended = new byte[length];
                random.NextBytes(appended);
                return ([.. valid, .. appended], $"{length} bytes appended");
        }
    }

    /// <summary>
    /// An engine that has processed the first <paramref name="cutAt"/> of a random stream, with its reference data changes
    /// (a new USD rate revalues large-value sums), and where it stopped.
    /// </summary>
    private static (GeneratedStream Stream, FlowEngine Engine, int Cut) Snapshot(int seed, SettingsProfile profile, double cutAt)
    {
        var stream = RandomStreams.Generate(seed, profile);
        var engine = new FlowEngine(stream.Reference, stream.Settings);
        engine.TrackChanges();
        var cut = (int)(stream.Lines.Count * cutAt);
        var alerts = new List<Alert>();
        for (var i = 0; i < cut; i++)
        {
            foreach (var change in stream.ChangesBefore(i)) engine.UpdateReference(change.Reference);
            engine.Process(stream.Lines[i], i + 1, alerts, out _);
            alerts.Clear();
        }
        return (stream, engine, cut);
    }

    private static List<EntityState> Entities(FlowEngine engine)
    {
        var entities = new List<EntityState>();
        engine.TakeChanges(entities, []);
        return entities;
    }
}
