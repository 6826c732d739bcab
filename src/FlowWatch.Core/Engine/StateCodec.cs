using FlowWatch.Core.Contracts;
using FlowWatch.Core.Reference;

namespace FlowWatch.Core.Engine;

/// <summary>
/// Binary form of the engine's durable state, for snapshots (DESIGN.md §4): one entity's state, the duplicate
/// filter's ids, and the supervisory parameters in force. Versioned; decoding checks the version and fails loudly
/// on anything else. Running aggregates are not stored: they are rebuilt from the window entries.
/// </summary>
public static class StateCodec
{
    private const byte EntityVersion = 4;

    /// <summary>The version before large-value accumulators kept their CNY sum and rate; still read.</summary>
    private const byte SingleSumEntityVersion = 3;
    private const byte ParametersVersion = 1;

    /// <summary>
    /// The writer each encoding on a thread reuses: a commit encodes every entity changed since the last, and a
    /// fresh stream grew through four or five discarded arrays per entity, most of the worker's garbage. Its buffer
    /// stays as large as the largest state it has encoded.
    /// </summary>
    [ThreadStatic]
    private static BinaryWriter? t_writer;

    private static BinaryWriter Writer()
    {
        var writer = t_writer ??= new BinaryWriter(new MemoryStream());
        writer.BaseStream.SetLength(0);
        return writer;
    }

    /// <summary>What <paramref name="w"/> wrote, as an array of its own.</summary>
    private static byte[] Written(BinaryWriter w)
    {
        w.Flush();
        return ((MemoryStream)w.BaseStream).ToArray();
    }

    public static byte[] Encode(EntityState state)
    {
        var w = Writer();
        w.Write(EntityVersion);
        w.Write(state.EntityId);
        w.Write(state.NewestTs);
        w.Write(state.Events);
        w.Write(state.LateEvents);
        w.Write(state.LastSequence);
        w.Write(state.Window.Count);
        for (var i = 0; i < state.Window.Count; i++)
        {
            ref readonly var entry = ref state.Window[i];
            w.Write(entry.Ts);
            w.Write((byte)entry.Direction);
            w.Write(entry.AmountCny);
            w.Write(entry.Key);
            w.Write(entry.InBand);
            w.Write(entry.ClassAmount);
            w.Write(entry.CpId != 0);
            if (entry.CpId != 0) w.Write(state.Counterparties.AccountOf(entry.CpId));
        }
        w.Write(state.LastFired.Length);
        foreach (var fired in state.LastFired) w.Write(fired);
        w.Write(state.DailyKeptFrom);
        w.Write(state.Daily.Count);
        foreach (var accumulator in state.Daily)
        {
            w.Write(accumulator.Day);
            w.Write(accumulator.Key);
            w.Write(accumulator.Cny);
            w.Write(accumulator.Rate);
        }
        w.Write(state.Penetration.Count);
        foreach (var position in state.Penetration)
        {
            w.Write(position.Year);
            w.Write(position.NetInflow);
        }
        ref readonly var baseline = ref state.Baseline;
        w.Write(baseline.LogAmountMean);
        w.Write(baseline.LogAmountVariance);
        w.Write(baseline.AmountSamples);
        w.Write(baseline.Hour);
        w.Write(baseline.HourCount);
        w.Write(baseline.HourlyMean);
        w.Write(baseline.HourlySquareMean);
        w.Write(baseline.Hours);
        return Written(w);
    }

    /// <summary>Rebuilds an entity; <paramref name="trailingWindow"/> must be the engine's, to rebuild its running sums.</summary>
    public static EntityState DecodeEntity(byte[] bytes, TimeSpan trailingWindow)
    {
        using var r = new BinaryReader(new MemoryStream(bytes, writable: false));
        var version = r.ReadByte();
        if (version is not (EntityVersion or SingleSumEntityVersion))
        {
            throw new InvalidDataException($"entity state version {version} is neither {EntityVersion} nor {SingleSumEntityVersion}");
        }
        var state = new EntityState(r.ReadString())
        {
            Counterparties = new CounterpartyIds(),
            NewestTs = r.ReadInt64(),
            Events = r.ReadInt64(),
            LateEvents = r.ReadInt64(),
            LastSequence = r.ReadInt64(),
        };
        var entries = r.ReadInt32();
        for (var i = 0; i < entries; i++)
        {
            var ts = r.ReadInt64();
            var direction = (Direction)r.ReadByte();
            var amountCny = r.ReadDecimal();
            var key = r.ReadByte();
            var inBand = r.ReadBoolean();
            var classAmount = r.ReadDecimal();
            var cpId = r.ReadBoolean() ? state.Counterparties.Hold(r.ReadString()) : 0;
            state.Window.Append(new WindowEntry(ts, direction, amountCny, key, inBand, classAmount, cpId));
        }
        // The running window is (newest − window, newest]: entries before it only serve late-but-allowed events.
        var windowStartTs = state.NewestTs - trailingWindow.Ticks;
        var start = 0;
        while (start < state.Window.Count && state.Window[start].Ts <= windowStartTs) start++;
        state.WindowStart = start;
        state.SumRunningWindow();

        var fired = r.ReadInt32();
        if (fired != state.LastFired.Length) throw new InvalidDataException($"entity state has {fired} rule timers, expected {state.LastFired.Length}");
        for (var i = 0; i < fired; i++) state.LastFired[i] = r.ReadInt64();
        state.DailyKeptFrom = r.ReadInt32();
        var daily = r.ReadInt32();
        for (var i = 0; i < daily; i++)
        {
            var accumulator = new DailyAccumulator { Day = r.ReadInt32(), Key = r.ReadByte() };
            accumulator.Cny = r.ReadDecimal();
            // Version 3 kept the sum itself, CNY or USD-equivalent: valued at 1, it is revalued at the next event's rate.
            accumulator.Rate = version == EntityVersion ? r.ReadDecimal() : 1m;
            state.Daily.Add(accumulator);
        }
        var positions = r.ReadInt32();
        for (var i = 0; i < positions; i++) state.Penetration.Add(new PenetrationPosition { Year = r.ReadInt32(), NetInflow = r.ReadDecimal() });
        state.Baseline = new Baseline
        {
            LogAmountMean = r.ReadDouble(),
            LogAmountVariance = r.ReadDouble(),
            AmountSamples = r.ReadInt32(),
            Hour = r.ReadInt64(),
            HourCount = r.ReadInt32(),
            HourlyMean = r.ReadDouble(),
            HourlySquareMean = r.ReadDouble(),
            Hours = r.ReadInt32(),
        };
        return state;
    }

    public static byte[] Encode(Parameters parameters)
    {
        var w = Writer();
        w.Write(ParametersVersion);
        w.Write(parameters.MacroPrudentialFactor);
        w.Write(parameters.InflowLeverage);
        w.Write(parameters.OutflowLeverage);
        w.Write(parameters.WhitelistRequired);
        var kinds = parameters.PenetrationKinds.Order().ToList();
        w.Write(kinds.Count);
        foreach (var kind in kinds) w.Write((byte)kind);
        return Written(w);
    }

    public static Parameters DecodeParameters(byte[] bytes)
    {
        using var r = new BinaryReader(new MemoryStream(bytes, writable: false));
        var version = r.ReadByte();
        if (version != ParametersVersion) throw new InvalidDataException($"parameters version {version} is not {ParametersVersion}");
        var parameters = new Parameters
        {
            MacroPrudentialFactor = r.ReadDecimal(),
            InflowLeverage = r.ReadDecimal(),
            OutflowLeverage = r.ReadDecimal(),
            WhitelistRequired = r.ReadBoolean(),
        };
        var count = r.ReadInt32();
        var kinds = new HashSet<AccountKind>();
        for (var i = 0; i < count; i++) kinds.Add((AccountKind)r.ReadByte());
        return parameters with { PenetrationKinds = System.Collections.Frozen.FrozenSet.ToFrozenSet(kinds) };
    }

    /// <summary>Bytes of one encoded id: 64 + 32 bits of the id hash, its day, the sequence of its event.</summary>
    public const int TxnIdBytes = 24;

    public static byte[] Encode(IReadOnlyList<TxnIdRecord> ids)
    {
        var bytes = new byte[ids.Count * TxnIdBytes];
        for (var i = 0; i < ids.Count; i++)
        {
            var span = bytes.AsSpan(i * TxnIdBytes, TxnIdBytes);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(span, ids[i].Low);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(span[8..], ids[i].High);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(span[12..], ids[i].Day);
            System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(span[16..], ids[i].Sequence);
        }
        return bytes;
    }

    public static IEnumerable<TxnIdRecord> DecodeTxnIds(byte[] bytes)
    {
        if (bytes.Length % TxnIdBytes != 0) throw new InvalidDataException($"txnId records are {TxnIdBytes} bytes each");
        for (var offset = 0; offset < bytes.Length; offset += TxnIdBytes)
        {
            yield return new TxnIdRecord(
                System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(offset)),
                System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(offset + 8)),
                System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(offset + 12)),
                System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(offset + 16)));
        }
    }
}

/// <summary>
/// One remembered id of the duplicate filter: its hash bits, the day of the event that carried it, and that event's
/// sequence (its source offset), which says whether a restore that processes events again from some point on will
/// meet it again.
/// </summary>
public readonly record struct TxnIdRecord(ulong Low, uint High, int Day, long Sequence);
