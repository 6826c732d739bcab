using System.Buffers.Binary;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Decoding;
using FlowWatch.Core.Reference;

namespace FlowWatch.Core.Engine;

/// <summary>
/// Binary form of the engine's durable state, for snapshots (DESIGN.md §4): one entity's state, the duplicate
/// filter's ids, and the supervisory parameters in force. Versioned; decoding checks the version and fails loudly
/// on anything else. Running aggregates are not stored: they are rebuilt from the window entries.
/// </summary>
public static class StateCodec
{
    private const byte EntityVersion = 5;

    /// <summary>
    /// The version before the newest time of events outside the window was kept; still read, with that time taken as
    /// the newest event's, so that an out-of-order event finds its previous activity as it did then, until the entity
    /// has moved on past it.
    /// </summary>
    private const byte NoOutsideTimeEntityVersion = 4;

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
        w.Write(state.OutsideWindowNewestTs);
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
        w.Write(RuleSilences.Count);
        foreach (var fired in state.LastFired) w.Write(fired);
        w.Write(state.DailyKeptFrom);
        w.Write(state.Daily.Count);
        foreach (var accumulator in state.Daily.AsSpan())
        {
            w.Write(accumulator.Day);
            w.Write(accumulator.Key);
            w.Write(accumulator.Cny);
            w.Write(accumulator.Rate);
        }
        w.Write(state.Penetration.Count);
        foreach (var position in state.Penetration.AsSpan())
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

    /// <summary>
    /// Rebuilds an entity; <paramref name="trailingWindow"/> must be the engine's, to rebuild its running sums. Bytes that
    /// are not an entity state of a version read here (cut short, corrupted, with more after its end) are refused with
    /// <see cref="InvalidDataException"/>.
    /// </summary>
    public static EntityState DecodeEntity(byte[] bytes, TimeSpan trailingWindow) =>
        Refusing("entity state", () => ReadEntity(bytes, trailingWindow));

    /// <summary>
    /// Runs a decoding, answering what the reader failed on (bytes cut short, a length or a decimal out of range) as
    /// <see cref="InvalidDataException"/> like every other refusal.
    /// </summary>
    private static T Refusing<T>(string what, Func<T> decode)
    {
        try
        {
            return decode();
        }
        catch (Exception ex) when (ex is IOException or FormatException or ArgumentException or OverflowException)
        {
            throw new InvalidDataException($"{what} cannot be read: {ex.Message}", ex);
        }
    }

    private static EntityState ReadEntity(byte[] bytes, TimeSpan trailingWindow)
    {
        using var r = new BinaryReader(new MemoryStream(bytes, writable: false));
        var version = r.ReadByte();
        if (version is not (EntityVersion or NoOutsideTimeEntityVersion or SingleSumEntityVersion))
        {
            throw new InvalidDataException(
                $"entity state version {version} is none of {EntityVersion}, {NoOutsideTimeEntityVersion} and {SingleSumEntityVersion}");
        }
        var state = new EntityState(r.ReadString())
        {
            Counterparties = new CounterpartyIds(),
            NewestTs = r.ReadInt64(),
            Events = r.ReadInt64(),
            LateEvents = r.ReadInt64(),
            LastSequence = r.ReadInt64(),
        };
        Check(state.EntityId.Length > 0, "no entity id");
        Check(state.NewestTs == EntityState.NoTime || IsTime(state.NewestTs), $"a newest event time of {state.NewestTs} ticks");
        Check(state.Events >= 0 && state.LateEvents >= 0 && state.LateEvents <= state.Events, $"{state.Events} events of which {state.LateEvents} late");
        Check(state.LastSequence >= -1, $"a last sequence of {state.LastSequence}");
        state.OutsideWindowNewestTs = version == EntityVersion ? r.ReadInt64() : state.NewestTs;
        Check(state.OutsideWindowNewestTs == EntityState.NoTime || (IsTime(state.OutsideWindowNewestTs) && state.OutsideWindowNewestTs <= state.NewestTs),
            $"events outside the window as new as {state.OutsideWindowNewestTs} ticks");
        var entries = Count(r, "window entries");
        var previousTs = 0L;
        for (var i = 0; i < entries; i++)
        {
            var ts = r.ReadInt64();
            var direction = (Direction)r.ReadByte();
            var amountCny = r.ReadDecimal();
            var key = r.ReadByte();
            var inBand = r.ReadBoolean();
            var classAmount = r.ReadDecimal();
            var cpId = r.ReadBoolean() ? state.Counterparties.Hold(r.ReadString()) : 0;
            // In time order, none after the newest event; each key belongs to its entry's direction.
            Check(ts >= previousTs && ts <= state.NewestTs, $"window entry {i} at {ts} ticks, out of order or after the newest event");
            Check(direction is Direction.In or Direction.Out && key < StructuringKey.Count && StructuringKey.DirectionOf(key) == direction,
                $"window entry {i} of direction {(byte)direction} and key {key}");
            Check(amountCny >= 0 && amountCny <= MaxAmountCny && classAmount >= 0 && classAmount <= MaxClassAmount,
                $"window entry {i} of amount {amountCny} CNY ({classAmount} in its class's currency)");
            previousTs = ts;
            state.Window.Append(new WindowEntry(ts, direction, amountCny, key, inBand, classAmount, cpId), pool: null);
        }
        // The running window is (newest − window, newest]: entries before it only serve late-but-allowed events.
        var windowStartTs = state.NewestTs - trailingWindow.Ticks;
        var start = 0;
        while (start < state.Window.Count && state.Window[start].Ts <= windowStartTs) start++;
        state.WindowStart = start;
        state.SumRunningWindow();

        var fired = r.ReadInt32();
        if (fired != RuleSilences.Count) throw new InvalidDataException($"entity state has {fired} rule timers, expected {RuleSilences.Count}");
        for (var i = 0; i < fired; i++)
        {
            state.LastFired[i] = r.ReadInt64();
            Check(state.LastFired[i] == EntityState.NoTime || IsTime(state.LastFired[i]), $"rule timer {i} at {state.LastFired[i]} ticks");
        }
        state.DailyKeptFrom = r.ReadInt32();
        var daily = Count(r, "large-value accumulators");
        for (var i = 0; i < daily; i++)
        {
            var accumulator = new DailyAccumulator { Day = r.ReadInt32(), Key = r.ReadByte() };
            accumulator.Cny = r.ReadDecimal();
            // Version 3 kept the sum itself, CNY or USD-equivalent: valued at 1, it is revalued at the next event's rate.
            accumulator.Rate = version == SingleSumEntityVersion ? 1m : r.ReadDecimal();
            Check(accumulator.Key < StructuringKey.Count && !state.Daily.Exists(a => a.Day == accumulator.Day && a.Key == accumulator.Key),
                $"large-value accumulator {i} of day {accumulator.Day} and key {accumulator.Key}: of no key, or twice");
            Check(accumulator.Cny >= 0 && (accumulator.Rate is >= ReferenceDataLoader.MinRate and <= ReferenceDataLoader.MaxRate || accumulator is { Rate: 0, Cny: 0 }),
                $"large-value accumulator {i} of {accumulator.Cny} CNY at rate {accumulator.Rate}");
            state.Daily.Add(accumulator);
        }
        var positions = Count(r, "penetration positions");
        for (var i = 0; i < positions; i++)
        {
            var position = new PenetrationPosition { Year = r.ReadInt32(), NetInflow = r.ReadDecimal() };
            Check(!state.Penetration.Exists(p => p.Year == position.Year), $"two penetration positions of {position.Year}");
            state.Penetration.Add(position);
        }
        var baseline = new Baseline
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
        Check(double.IsFinite(baseline.LogAmountMean) && double.IsFinite(baseline.LogAmountVariance) && baseline.LogAmountVariance >= 0
            && baseline.AmountSamples >= 0 && (baseline.Hour == Baseline.NoHour || baseline.Hour >= 0) && baseline.HourCount >= 0
            && double.IsFinite(baseline.HourlyMean) && baseline.HourlyMean >= 0 && double.IsFinite(baseline.HourlySquareMean)
            && baseline.HourlySquareMean >= 0 && baseline.Hours >= 0, "a baseline out of range");
        state.Baseline = baseline;
        AtEnd(r, "entity state");
        return state;
    }

    /// <summary>The largest CNY-equivalent of an event: the largest amount at the highest rate.</summary>
    private static readonly decimal MaxAmountCny = DecimalText.MaxAmount * ReferenceDataLoader.MaxRate;

    /// <summary>The largest USD-equivalent of an event: the largest amount at the highest rate against the lowest USD rate.</summary>
    private static readonly decimal MaxClassAmount = MaxAmountCny / ReferenceDataLoader.MinRate;

    /// <summary>Whether <paramref name="ticks"/> is a time (UTC ticks of a <see cref="DateTime"/>).</summary>
    private static bool IsTime(long ticks) => ticks >= 0 && ticks <= DateTime.MaxValue.Ticks;

    private static void Check(bool valid, string what)
    {
        if (!valid) throw new InvalidDataException($"entity state has {what}");
    }

    /// <summary>A count of items that follow, refused when negative.</summary>
    private static int Count(BinaryReader r, string what)
    {
        var count = r.ReadInt32();
        if (count < 0) throw new InvalidDataException($"{count} {what}");
        return count;
    }

    /// <summary>Refuses bytes after the end of what <paramref name="r"/> has read: they are not of this version.</summary>
    private static void AtEnd(BinaryReader r, string what)
    {
        var left = r.BaseStream.Length - r.BaseStream.Position;
        if (left > 0) throw new InvalidDataException($"{what} has {left} byte{(left == 1 ? "" : "s")} after its end");
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

    /// <summary>Rebuilds parameters; bytes that are not parameters of this version, or out of their bounds, are refused with <see cref="InvalidDataException"/>.</summary>
    public static Parameters DecodeParameters(byte[] bytes) => Refusing("parameters", () => ReadParameters(bytes));

    private static Parameters ReadParameters(byte[] bytes)
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
        foreach (var value in (ReadOnlySpan<decimal>)[parameters.MacroPrudentialFactor, parameters.InflowLeverage, parameters.OutflowLeverage])
        {
            if (value < 0 || value > ReferenceDataLoader.MaxParameter) throw new InvalidDataException($"parameters have a factor or leverage of {value}");
        }
        // Written in ascending order: EFE, and FTE when it counts too (what the reference data accepts).
        var count = Count(r, "penetration kinds");
        var kinds = new HashSet<AccountKind>();
        for (var i = 0; i < count; i++)
        {
            var kind = (AccountKind)r.ReadByte();
            if (kind is not (AccountKind.EFE or AccountKind.FTE) || !kinds.Add(kind)) throw new InvalidDataException($"parameters have penetration kind {(byte)kind} once more or of no use");
        }
        if (!kinds.Contains(AccountKind.EFE)) throw new InvalidDataException("parameters have penetration kinds without EFE");
        AtEnd(r, "parameters");
        return parameters with { PenetrationKinds = System.Collections.Frozen.FrozenSet.ToFrozenSet(kinds) };
    }

    /// <summary>The Shanghai day of the last time an event can have.</summary>
    private static readonly int MaxDay = ShanghaiTime.DayNumber(DateTime.MaxValue.Ticks);

    /// <summary>Bytes of one encoded id: 64 + 32 bits of the id hash, its day, the sequence of its event, its content's print.</summary>
    public const int TxnIdBytes = 28;

    /// <summary>
    /// The first byte of encoded ids. Ids written before prints were kept are 24 bytes each with no version byte: an even
    /// number of bytes, where the version byte makes this form's an odd number, so the two are told apart by length.
    /// </summary>
    private const byte TxnIdVersion = 2;

    /// <summary>Bytes of one id written before prints were kept (no print); still read.</summary>
    private const int PrintlessTxnIdBytes = 24;

    public static byte[] Encode(ReadOnlySpan<TxnIdRecord> ids)
    {
        var bytes = new byte[1 + ids.Length * TxnIdBytes];
        bytes[0] = TxnIdVersion;
        for (var i = 0; i < ids.Length; i++)
        {
            var span = bytes.AsSpan(1 + i * TxnIdBytes, TxnIdBytes);
            BinaryPrimitives.WriteUInt64LittleEndian(span, ids[i].Low);
            BinaryPrimitives.WriteUInt32LittleEndian(span[8..], ids[i].High);
            BinaryPrimitives.WriteInt32LittleEndian(span[12..], ids[i].Day);
            BinaryPrimitives.WriteInt64LittleEndian(span[16..], ids[i].Sequence);
            BinaryPrimitives.WriteUInt32LittleEndian(span[24..], ids[i].Print);
        }
        return bytes;
    }

    /// <summary>
    /// Rebuilds ids, of this form or the one before it; bytes that are not whole ids of a day and a sequence are refused
    /// with <see cref="InvalidDataException"/> at once.
    /// </summary>
    public static TxnIdRecord[] DecodeTxnIds(byte[] bytes)
    {
        var printless = bytes.Length % PrintlessTxnIdBytes == 0;
        if (!printless && (bytes[0] != TxnIdVersion || (bytes.Length - 1) % TxnIdBytes != 0))
        {
            throw new InvalidDataException(
                $"txnId records are a version byte {TxnIdVersion} and {TxnIdBytes} bytes each, or {PrintlessTxnIdBytes} bytes each without a version byte; these {bytes.Length} bytes start with {bytes[0]}");
        }
        var size = printless ? PrintlessTxnIdBytes : TxnIdBytes;
        var body = printless ? bytes.AsSpan() : bytes.AsSpan(1);
        var ids = new TxnIdRecord[body.Length / size];
        for (var i = 0; i < ids.Length; i++)
        {
            var span = body.Slice(i * size, size);
            ids[i] = new TxnIdRecord(
                BinaryPrimitives.ReadUInt64LittleEndian(span),
                BinaryPrimitives.ReadUInt32LittleEndian(span[8..]),
                BinaryPrimitives.ReadInt32LittleEndian(span[12..]),
                BinaryPrimitives.ReadInt64LittleEndian(span[16..]),
                printless ? 0 : BinaryPrimitives.ReadUInt32LittleEndian(span[24..]));
            // A day past any event's would put every other id past the duplicate horizon.
            if (ids[i].Day < 0 || ids[i].Day > MaxDay || ids[i].Sequence < 0)
            {
                throw new InvalidDataException($"txnId record {i} has day {ids[i].Day} and sequence {ids[i].Sequence}");
            }
        }
        return ids;
    }
}

/// <summary>
/// One remembered id of the duplicate filter: its hash bits, the day of the event that carried it, and that event's
/// sequence (its source offset), which says whether a restore that processes events again from some point on will
/// meet it again, and the print of its content (0: not known), which tells a redelivery from another payment reusing the id.
/// </summary>
public readonly record struct TxnIdRecord(ulong Low, uint High, int Day, long Sequence, uint Print);
