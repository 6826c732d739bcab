using System.IO.Hashing;
using FlowWatch.Core.Aggregates;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Decoding;
using FlowWatch.Core.Reference;
using FlowWatch.Core.Scoring;

namespace FlowWatch.Core.Engine;

public enum RecordOutcome : byte
{
    Accepted,
    Duplicate,

    /// <summary>
    /// A repeat of an accepted <c>txnId</c> that says something else than the payment accepted with it: ignored and
    /// counted as a duplicate (RULES.md §1), and counted apart, since it is another payment reusing the id.
    /// </summary>
    DifferingDuplicate,
    Control,
    Rejected,
}

/// <summary>Counts of what the engine has seen, for summaries and metrics.</summary>
public sealed class EngineCounters
{
    private const int Severities = 3;

    /// <summary>
    /// Alerts per (rule in evaluation order, severity I–III). One thread counts; others may read while it does, which
    /// needs no lock: each count is read and written whole (<see cref="Volatile"/>).
    /// </summary>
    private readonly long[] _alerts = new long[RuleCodes.Count * Severities];

    public long Read { get; internal set; }
    public long Accepted { get; internal set; }
    public long Duplicates { get; internal set; }

    /// <summary>Duplicates whose content differs from the payment accepted with their id (SEMANTICS.md, txnId); counted in <see cref="Duplicates"/> too.</summary>
    public long DifferingDuplicates { get; internal set; }
    public long Late { get; internal set; }

    /// <summary>Payments naming a field DESIGN.md §3.1 does not define, which is passed over (<see cref="FlowEngine.UnknownFields"/>).</summary>
    public long UnknownFields { get; internal set; }

    /// <summary>Accepted events that name another entity or kind for an account than reference data gives it (SEMANTICS.md, Resolution).</summary>
    public long ReferenceConflicts { get; internal set; }
    public long DeadLetters { get; internal set; }

    /// <summary>Records the engine failed on (an error in FlowWatch, not in the record); each is also a dead letter.</summary>
    public long Failures { get; internal set; }
    public long ControlRecords { get; internal set; }
    public long Alerts { get; private set; }

    /// <summary>Alerts by rule and severity, ordered by rule evaluation order then severity.</summary>
    public IReadOnlyList<(string Rule, Severity Severity, long Count)> AlertsByRule()
    {
        var counts = new List<(string, Severity, long)>();
        for (var i = 0; i < _alerts.Length; i++)
        {
            var count = Volatile.Read(ref _alerts[i]);
            if (count > 0) counts.Add((RuleCodes.InOrder[i / Severities], (Severity)(i % Severities + 1), count));
        }
        return counts;
    }

    /// <summary>Adds another set of counters to this one (e.g. an engine's when its partition is given up).</summary>
    public void Add(EngineCounters other) => Add(other, 1);

    /// <summary>What these counters have counted beyond <paramref name="earlier"/>, a copy of them taken before.</summary>
    public EngineCounters Since(EngineCounters earlier)
    {
        var since = new EngineCounters();
        since.Add(this, 1);
        since.Add(earlier, -1);
        return since;
    }

    /// <summary>Adds <paramref name="sign"/> (1 or −1) times every count of <paramref name="other"/>.</summary>
    private void Add(EngineCounters other, long sign)
    {
        Read += sign * other.Read;
        Accepted += sign * other.Accepted;
        Duplicates += sign * other.Duplicates;
        DifferingDuplicates += sign * other.DifferingDuplicates;
        UnknownFields += sign * other.UnknownFields;
        Late += sign * other.Late;
        ReferenceConflicts += sign * other.ReferenceConflicts;
        DeadLetters += sign * other.DeadLetters;
        Failures += sign * other.Failures;
        ControlRecords += sign * other.ControlRecords;
        Alerts += sign * other.Alerts;
        for (var i = 0; i < _alerts.Length; i++) Volatile.Write(ref _alerts[i], _alerts[i] + sign * Volatile.Read(ref other._alerts[i]));
    }

    /// <summary>Sets every count back to zero (e.g. after records were processed again only to rebuild state).</summary>
    public void Clear()
    {
        Read = Accepted = Duplicates = DifferingDuplicates = UnknownFields = Late = ReferenceConflicts = DeadLetters = Failures = ControlRecords = Alerts = 0;
        for (var i = 0; i < _alerts.Length; i++) Volatile.Write(ref _alerts[i], 0);
    }

    internal void Count(Alert alert)
    {
        Alerts++;
        ref var count = ref _alerts[RuleCodes.OrderOf(alert.Rule) * Severities + (int)alert.Severity - 1];
        Volatile.Write(ref count, count + 1);
    }
}

/// <summary>
/// The in-memory pipeline: decode → resolve from reference data → drop duplicates → the entity's shard. One
/// instance serves <c>replay</c>, tests and benchmarks, and the streaming worker wraps it. Not thread-safe: the
/// caller drives it from one thread; shards partition entity state so a host can run them on threads of their own.
/// </summary>
public sealed class FlowEngine
{
    private readonly EventDecoder _decoder;
    private readonly Utf8StringPool _strings;
    private readonly EngineShard[] _shards;
    private readonly DuplicateFilter _duplicates;
    private readonly ReferenceMemo _memo = new();
    private readonly ContentPrint _print = new();

    /// <summary>Most names of unknown fields kept, so that a producer writing a new name in every record costs no memory.</summary>
    private const int MaxUnknownFieldNames = 32;

    /// <summary>Bytes of an unknown field's name kept: a longer one is kept by its start, and names sharing it are one.</summary>
    private const int MaxUnknownFieldNameBytes = 64;

    private readonly List<UnknownField> _unknownFields = [];
    private readonly List<byte[]> _unknownFieldNamesUtf8 = [];

    /// <summary>The string pool's generation the memo's slots were filled under.</summary>
    private int _memoGeneration;
    private PaymentEvent _event;

    /// <param name="reference">Reference data in force for the first event.</param>
    /// <param name="settings">Rule thresholds; validated here.</param>
    /// <param name="shards">How many shards partition entity state.</param>
    /// <param name="wallClock">Source of <c>detectedAt</c>; without one, detection time is the event time (replay).</param>
    /// <param name="strings">String pool of the decoder.</param>
    /// <param name="counters">Counters to add to, so that engines driven from one thread can share a total.</param>
    /// <param name="models">The models in force for ML_ANOMALY; without them that rule is not evaluated.</param>
    public FlowEngine(ReferenceData reference, RuleSettings settings, int shards = 1, TimeProvider? wallClock = null,
        Utf8StringPool? strings = null, EngineCounters? counters = null, ModelHolder? models = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shards, 1);
        var problems = settings.Validate();
        if (problems.Count > 0) throw new ArgumentException(string.Join(Environment.NewLine, problems), nameof(settings));
        Reference = reference;
        Settings = settings;
        Counters = counters ?? new EngineCounters();
        _strings = strings ?? new Utf8StringPool();
        _memoGeneration = _strings.Generation;
        _decoder = new EventDecoder(_strings);
        _shards = new EngineShard[shards];
        for (var i = 0; i < shards; i++) _shards[i] = new EngineShard(settings, wallClock, models);
        _duplicates = new DuplicateFilter(settings.DuplicateHorizonDays);
    }

    public ReferenceData Reference { get; private set; }

    /// <summary>The last control record this engine applied from its stream, if any.</summary>
    public ControlRecord? LatestControl { get; private set; }

    public RuleSettings Settings { get; }

    public EngineCounters Counters { get; }

    public IReadOnlyList<EngineShard> Shards => _shards;

    /// <summary>
    /// The fields DESIGN.md §3.1 does not define that payments have carried, by their names as written (their first 64
    /// bytes), in the order first met, each with the sequence of the record that first carried it, at most 32: they are
    /// passed over, and a host says so, since a misspelt field (<c>metod</c>) loses what it says.
    /// </summary>
    public IReadOnlyList<UnknownField> UnknownFields => _unknownFields;

    /// <summary>Ids the duplicate filter remembers.</summary>
    internal int DuplicateIdsHeld => _duplicates.Count;

    /// <summary>
    /// Where the parameters come from when not from control records in the stream (a host's reference or control
    /// topic): a control record in the stream is then a dead letter naming it. Null: control records apply.
    /// </summary>
    public string? ParametersFromElsewhere { get; set; }

    /// <summary>Where accepted events are summed for the aggregate tables; none unless a host writes aggregates.</summary>
    public FlowAggregator? Aggregator { get; set; }

    /// <summary>
    /// Moves what changed since the last call into the lists: the entities touched and the ids accepted.
    /// Call <see cref="TrackChanges"/> first, before any event, so no accepted id is missed.
    /// </summary>
    public void TakeChanges(List<EntityState> entities, List<TxnIdRecord> txnIds)
    {
        foreach (var shard in _shards) shard.TakeChanged(entities);
        _duplicates.TakeAccepted(txnIds);
    }

    /// <summary>Keeps accepted ids for <see cref="TakeChanges"/>; engines that snapshot their state turn this on.</summary>
    public void TrackChanges() => _duplicates.TrackAccepted = true;

    /// <summary>Restores an entity from a snapshot (before any event is processed).</summary>
    public void Restore(EntityState entity)
    {
        ShardOf(entity.EntityId).Adopt(entity);
        _memo.Forget();
    }

    /// <summary>Restores a remembered id from a snapshot.</summary>
    public void Restore(TxnIdRecord txnId) => _duplicates.Restore(txnId);

    /// <summary>
    /// Whether ids accepted on Shanghai day <paramref name="day"/> are past the duplicate horizon, so that a snapshot
    /// of them is no longer needed. Never with a horizon of 0, which keeps every id.
    /// </summary>
    public bool ForgetsIdsOf(int day) => _duplicates.Forgets(day);

    /// <summary>Restores the parameters a snapshot was taken under (control records before it).</summary>
    public void Restore(Parameters parameters) => Reference = Reference.WithParameters(parameters);

    /// <summary>Replaces the reference data for every event after this call (DESIGN.md §3.2).</summary>
    public void UpdateReference(ReferenceData reference) => Reference = reference;

    public EntityState? FindEntity(string entityId) => ShardOf(entityId).Find(entityId);

    /// <summary>
    /// Tells <paramref name="met"/> of each entity a payment brings for the first time, on the thread processing it: a
    /// host running engines side by side, one per partition, can see an entity whose payments reach two of them.
    /// </summary>
    public void OnEntityMet(Action<string> met)
    {
        foreach (var shard in _shards) shard.EntityMet = met;
    }

    /// <summary>Every entity this engine holds.</summary>
    public IEnumerable<EntityState> Entities => _shards.SelectMany(shard => shard.Entities);

    public EngineShard ShardOf(string entityId) => _shards[ShardIndex(entityId, _shards.Length)];

    /// <summary>Stable across processes and machines (unlike string.GetHashCode), so routing is reproducible.</summary>
    public static int ShardIndex(string entityId, int shardCount)
    {
        if (shardCount == 1) return 0;
        var hash = XxHash3.HashToUInt64(System.Runtime.InteropServices.MemoryMarshal.AsBytes(entityId.AsSpan()));
        return (int)(hash % (ulong)shardCount);
    }

    /// <summary>
    /// Starts loading the first bytes of a record into the cache: a host holding a batch calls it for the next record
    /// before it processes the current one, so that decoding does not wait for memory (a median 80 ns an event in
    /// side-by-side runs). A payment is a few hundred bytes; the rest of a longer record loads as it is read.
    /// </summary>
    public static void Prefetch(byte[] record)
    {
        const int CacheLine = 64, MaxBytes = 512;
        for (var at = 0; at < Math.Min(record.Length, MaxBytes); at += CacheLine) CacheHint.Prefetch(ref record[at]);
    }

    /// <summary>
    /// Processes one record (an event or a control record). Alerts are appended to <paramref name="alerts"/>;
    /// a rejected record answers <see cref="RecordOutcome.Rejected"/> with the reason, and a
    /// <see cref="RecordOutcome.DifferingDuplicate"/> comes with a sentence naming its id.
    /// </summary>
    public RecordOutcome Process(ReadOnlySpan<byte> record, long sequence, List<Alert> alerts, out string? reason) =>
        Process(record, sequence, publishedAt: null, alerts, replaying: false, out reason);

    /// <summary>
    /// Processes one record that entered a log at <paramref name="publishedAt"/> (a Kafka record's timestamp): an event
    /// dated more than <see cref="RuleSettings.FutureEventBound"/> after it is also rejected.
    /// </summary>
    public RecordOutcome Process(ReadOnlySpan<byte> record, long sequence, DateTimeOffset? publishedAt, List<Alert> alerts, out string? reason) =>
        Process(record, sequence, publishedAt, alerts, replaying: false, out reason);

    /// <summary>Counts a record that could not be read whole to be processed (a line too long to hold) as read and rejected.</summary>
    public void CountUnread()
    {
        Counters.Read++;
        Counters.DeadLetters++;
    }

    /// <summary>
    /// Processes a record again after a restore, for its effect on state only: its id is remembered and parameters
    /// change as they did, but an entity whose restored state already includes the event (its
    /// <see cref="EntityState.LastSequence"/> is at or above <paramref name="sequence"/>) is left as it is. Records
    /// must come in sequence order; alerts go to <paramref name="alerts"/> for the caller to drop.
    /// </summary>
    public RecordOutcome Reprocess(ReadOnlySpan<byte> record, long sequence, DateTimeOffset? publishedAt, List<Alert> alerts) =>
        Process(record, sequence, publishedAt, alerts, replaying: true, out _);

    private RecordOutcome Process(ReadOnlySpan<byte> record, long sequence, DateTimeOffset? publishedAt, List<Alert> alerts, bool replaying,
        out string? reason)
    {
        Counters.Read++;
        var alertsBefore = alerts.Count;
        try
        {
            return ProcessRecord(record, sequence, publishedAt, alerts, replaying, out reason);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A record the engine fails on also becomes a dead letter naming the failure, and the stream goes on: a host
            // that stopped would meet the same record again after every restart. What the record did before the failure
            // stands, its changes to state and the alerts it raised (counted here: an accepted event's alerts are
            // counted last, after everything that could fail).
            for (var i = alertsBefore; i < alerts.Count; i++) Counters.Count(alerts[i]);
            Counters.DeadLetters++;
            Counters.Failures++;
            reason = $"engine failure: {ex.GetType().Name}: {ex.Message}";
            return RecordOutcome.Rejected;
        }
    }

    private RecordOutcome ProcessRecord(ReadOnlySpan<byte> record, long sequence, DateTimeOffset? publishedAt, List<Alert> alerts, bool replaying,
        out string? reason)
    {
        if (record.StartsWith("\uFEFF"u8)) record = record[3..];   // a UTF-8 byte order mark, as editors write at a file's start
        // A full pool gives the accounts and names a long run meets later no symbol: each of their events would allocate
        // its strings and miss the memo. It starts afresh between records, and what was kept per symbol is forgotten.
        if (_strings.IsFull) _strings.Clear();
        if (_memoGeneration != _strings.Generation)
        {
            _memo.Forget();
            _memoGeneration = _strings.Generation;
        }
        var type = _decoder.Decode(record, ref _event, out reason);
        if (type == RecordType.Control)
        {
            if (ParametersFromElsewhere is { } source)
            {
                reason = $"type: PARAMETERS records come from {source} here, not from the payments stream";
                Counters.DeadLetters++;
                return RecordOutcome.Rejected;
            }
            if (!ControlRecordParser.TryParse(record, Reference.Parameters, out var control, out reason))
            {
                Counters.DeadLetters++;
                return RecordOutcome.Rejected;
            }
            LatestControl = control;
            Reference = Reference.WithParameters(control.Parameters);
            Counters.ControlRecords++;
            return RecordOutcome.Control;
        }
        if (type == RecordType.Payment)
        {
            if (_decoder.UnknownNameCount > 0) CountUnknownFields(record, sequence);
            _duplicates.Prefetch(_event.TxnIdUtf8);
            // Printed as written, before reference data fills in what the event left out: a redelivery after the
            // reference data changed still says the same.
            _event.Print = _print.Of(_event);
        }
        _memo.Use(Reference);
        if (type == RecordType.Rejected || !EventResolver.TryResolve(ref _event, Reference, _memo, out reason)
            || !IsNotFromTheFuture(_event.TimestampTicks, publishedAt, out reason))
        {
            // A repeat of an accepted payment is a duplicate, ignored entirely (RULES.md §1), even when it no longer
            // resolves because the reference data changed since.
            if (type == RecordType.Payment && _duplicates.Check(_event.TxnIdUtf8, _event.Print) is not Repeat.None and var repeat)
            {
                return CountDuplicate(repeat, _event, out reason);
            }
            Counters.DeadLetters++;
            return RecordOutcome.Rejected;
        }
        _event.Sequence = sequence;
        return Apply(ref _event, alerts, replaying, out reason);
    }

    private void CountUnknownFields(ReadOnlySpan<byte> record, long sequence)
    {
        Counters.UnknownFields++;
        for (var i = 0; i < _decoder.UnknownNameCount && _unknownFields.Count < MaxUnknownFieldNames; i++)
        {
            var (start, length) = _decoder.UnknownName(i);
            var name = record.Slice(start, KeptNameBytes(record.Slice(start, length), MaxUnknownFieldNameBytes));
            // Compared as bytes, so that a stream whose every record carries the same extra field allocates nothing.
            if (HasNotedUnknownName(name)) continue;
            _unknownFieldNamesUtf8.Add(name.ToArray());
            // Said in logs and summaries: a line separator or a direction override in a name would forge or turn lines there.
            var text = UnseenCharacters.Shown(NameText(name)) + (name.Length < length ? "…" : "");
            // The same name written with other escapes (\u0061bc for abc) is the same name.
            if (_unknownFields.Exists(field => field.Name == text)) continue;
            _unknownFields.Add(new UnknownField(text, sequence));
        }
    }

    /// <summary>
    /// How many bytes of a name as a record writes it (JSON escapes unresolved) to keep: at most <paramref name="most"/>,
    /// ending neither inside a character nor inside an escape.
    /// </summary>
    private static int KeptNameBytes(ReadOnlySpan<byte> raw, int most)
    {
        if (raw.Length <= most) return raw.Length;
        var kept = 0;
        while (kept < most)
        {
            var next = raw[kept] != '\\' ? kept + 1
                // A character beyond U+FFFF is written as two escapes (a surrogate pair): they are kept or cut together.
                : raw[kept + 1] == 'u' ? kept + (IsHighSurrogateEscape(raw[kept..]) ? 12 : 6)
                : kept + 2;
            if (next > most) break;
            kept = next;
        }
        while (kept > 0 && (raw[kept] & 0xC0) == 0x80) kept--;
        return kept;
    }

    /// <summary><paramref name="escape"/> begins with <c>\uD800</c>–<c>\uDBFF</c>, the first half of a surrogate pair.</summary>
    private static bool IsHighSurrogateEscape(ReadOnlySpan<byte> escape) =>
        escape.Length >= 6 && (escape[2] | 0x20) == 'd' && escape[3] is (byte)'8' or (byte)'9' or (byte)'a' or (byte)'b' or (byte)'A' or (byte)'B';

    /// <summary>The text a name written in JSON stands for; as written when its escapes do not make text (half a surrogate pair).</summary>
    private static string NameText(ReadOnlySpan<byte> raw)
    {
        if (raw.IndexOf((byte)'\\') < 0) return System.Text.Encoding.UTF8.GetString(raw);
        var quoted = new byte[raw.Length + 2];
        quoted[0] = quoted[^1] = (byte)'"';
        raw.CopyTo(quoted.AsSpan(1));
        var reader = new System.Text.Json.Utf8JsonReader(quoted);
        try
        {
            reader.Read();
            return reader.GetString() ?? string.Empty;
        }
        catch (InvalidOperationException)
        {
            return System.Text.Encoding.UTF8.GetString(raw);
        }
    }

    private bool HasNotedUnknownName(ReadOnlySpan<byte> name)
    {
        foreach (var known in _unknownFieldNamesUtf8)
        {
            if (name.SequenceEqual(known)) return true;
        }
        return false;
    }

    private RecordOutcome CountDuplicate(Repeat repeat, in PaymentEvent e, out string? reason)
    {
        Counters.Duplicates++;
        if (repeat == Repeat.Same)
        {
            reason = null;
            return RecordOutcome.Duplicate;
        }
        Counters.DifferingDuplicates++;
        reason = $"txnId {e.TxnId} was accepted before with other content; ignored as a duplicate";
        return RecordOutcome.DifferingDuplicate;
    }

    /// <summary>
    /// An event cannot have happened after its record was published, beyond the skew of the two clocks. One dated far
    /// ahead would blind its entity's windows until the calendar caught up: every later event would be late (SEMANTICS,
    /// Time). Judged by the record's own timestamp, not this host's clock, so a record processed again after a restore
    /// is judged as it was the first time.
    /// </summary>
    private bool IsNotFromTheFuture(long eventTicks, DateTimeOffset? publishedAt, out string? rejectReason)
    {
        rejectReason = null;
        if (publishedAt is not { } published || eventTicks - published.UtcTicks <= Settings.FutureEventBound.Ticks) return true;
        rejectReason = FormattableString.Invariant(
            $"ts: {new DateTime(eventTicks, DateTimeKind.Utc):O} is more than {RuleSettings.SectionName}:{nameof(RuleSettings.FutureEventBound)} ({Settings.FutureEventBound:c}) after the record was published ({published.UtcDateTime:O})");
        return false;
    }

    /// <summary>
    /// Processes an event that is already decoded and resolved (tests and generated streams). Its content is printed as
    /// given here, resolved, so a repeat of its id is compared with it as resolved too; <see cref="Process(ReadOnlySpan{byte}, long, List{Alert}, out string?)"/>
    /// prints a record as written (SEMANTICS.md, txnId), and the two are not to be mixed on one id.
    /// </summary>
    public RecordOutcome Apply(ref PaymentEvent e, List<Alert> alerts)
    {
        e.Print = _print.Of(e);
        return Apply(ref e, alerts, replaying: false, out _);
    }

    private RecordOutcome Apply(ref PaymentEvent e, List<Alert> alerts, bool replaying, out string? reason)
    {
        reason = null;
        if (_duplicates.TryAdd(e.TxnIdUtf8, e.TimestampTicks, e.Print, e.Sequence) is not Repeat.None and var repeat)
        {
            return CountDuplicate(repeat, e, out reason);
        }
        var first = alerts.Count;
        // An event this engine decoded and resolved has its entity's state kept under its account's symbol.
        var known = _memo.StateOf(e.AccountSymbol, e.EntityId!);
        if (replaying && (known ?? FindEntity(e.EntityId!)) is { } restored && restored.LastSequence >= e.Sequence)
        {
            Counters.Accepted++;
            return RecordOutcome.Accepted;
        }
        var late = ShardOf(e.EntityId!).Process(ref e, Reference, alerts, known, out var entity);
        entity.LastSequence = e.Sequence;
        _memo.Keep(e.AccountSymbol, entity);
        Aggregator?.Add(e, entity, Reference);
        // Counted once nothing more can fail: a record the engine fails on is a dead letter, not also an accepted event.
        Counters.Accepted++;
        if (late) Counters.Late++;
        if (e.ContradictsReference) Counters.ReferenceConflicts++;
        for (var i = first; i < alerts.Count; i++) Counters.Count(alerts[i]);
        return RecordOutcome.Accepted;
    }
}

/// <summary>A field DESIGN.md §3.1 does not define, by its name as written, and the sequence of the record that first carried it.</summary>
public readonly record struct UnknownField(string Name, long Sequence);
