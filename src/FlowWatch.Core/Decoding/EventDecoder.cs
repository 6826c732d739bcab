using System.Buffers;
using System.Numerics;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using FlowWatch.Core.Contracts;

namespace FlowWatch.Core.Decoding;

public enum RecordType : byte
{
    Rejected,
    Payment,
    Control,
}

/// <summary>
/// Decodes one payment event (DESIGN.md §3.1) from UTF-8 JSON into a <see cref="PaymentEvent"/> in place,
/// without reflection: a purpose-built scan for the common flat shape, and <see cref="Utf8JsonReader"/> for every
/// other record and every error (both apply fields through the same code). Never throws on bad input: it answers
/// <see cref="RecordType.Rejected"/> with a reason. A record with <c>"type":"PARAMETERS"</c> is a control
/// record (DESIGN.md §3.4), answered as <see cref="RecordType.Control"/> for <see cref="ControlRecordParser"/>;
/// one without <c>type</c>, or with <c>"type":"PAYMENT"</c>, is a payment.
/// Fields the reference data may supply (<c>accountKind</c>, <c>entityId</c>) are left unresolved here.
/// </summary>
public sealed class EventDecoder(Utf8StringPool strings)
{
    private const int MaxStringBytes = 1024;

    /// <summary>An escape takes at most 6 bytes for 1 byte of text, so a raw value this long always fits unescaped.</summary>
    private const int MaxRawStringBytes = 6 * MaxStringBytes;

    private const int MaxPropertyNameBytes = 64;

    /// <summary>
    /// Currencies, countries and banks: few values repeated on nearly every record. Kept apart from the pool of
    /// accounts and names, this small pool stays cached, where a lookup in the large one usually misses.
    /// </summary>
    private readonly Utf8StringPool _codes = new(capacity: 1 << 16, initialSize: 64);

    /// <summary>Bytes a string may hold that need no further look: printable ASCII except the quote and the backslash.</summary>
    private static readonly SearchValues<byte> PlainAsciiStringBytes =
        SearchValues.Create([.. Enumerable.Range(0x20, 0x60).Where(b => b is not ('"' or '\\')).Select(b => (byte)b)]);

    /// <summary>Bytes of a record whose strings all end at their next quote: printable ASCII except the backslash.</summary>
    private static readonly SearchValues<byte> PrintableAsciiButBackslash =
        SearchValues.Create([.. Enumerable.Range(0x20, 0x60).Where(b => b != '\\').Select(b => (byte)b)]);

    /// <summary>Bytes that end a string's plain text: the closing quote, an escape, a control byte JSON forbids.</summary>
    private static readonly SearchValues<byte> QuoteBackslashOrControl =
        SearchValues.Create([.. Enumerable.Range(0, 0x20).Select(b => (byte)b), (byte)'"', (byte)'\\']);

    /// <summary>Each known field's name as it opens a pair in compact JSON, quoted and followed by its colon, by the field's bit.</summary>
    private static readonly byte[][] QuotedNames = [.. Enumerable.Range(0, 32).Select(bit => Encoding.UTF8.GetBytes("\"" + NameOf((Fields)(1u << bit)) + "\":"))];

    /// <summary>Per field (by its bit, plus one; 0 for the start of a record), the field that last came after it.</summary>
    private readonly Fields[] _successor = new Fields[33];

    /// <summary>Pooled strings of the record being decoded on the fast path, looked up once it is scanned.</summary>
    private readonly DeferredString[] _deferred = new DeferredString[64];

    /// <summary>
    /// Where the names of fields DESIGN.md §3.1 does not define are in the record last decoded (start and length of
    /// each name's bytes as written, within its quotes): the first 32, so that a host can say which they are, a
    /// misspelt field among them even after several fields of a producer's own.
    /// </summary>
    private readonly (int Start, int Length)[] _unknownNames = new (int, int)[32];
    private int _unknownCount;

    /// <summary>Unescaped string values; a field, not stackalloc, which would zero 6 KiB on every call.</summary>
    private readonly byte[] _scratch = new byte[MaxRawStringBytes];

    public EventDecoder() : this(new Utf8StringPool())
    {
    }

    /// <summary>
    /// The names, as written, of fields DESIGN.md §3.1 does not define, in the record last decoded: they are passed over,
    /// but a misspelt field (<c>metod</c>) passed over unseen would lose what it says. At most the first 32.
    /// </summary>
    public int UnknownNameCount => _unknownCount;

    /// <summary>Where the <paramref name="index"/>th of <see cref="UnknownNameCount"/> names is in the record: its start and length.</summary>
    public (int Start, int Length) UnknownName(int index) => _unknownNames[index];

    public RecordType Decode(ReadOnlySpan<byte> json, ref PaymentEvent e, out string? reason)
    {
        if (TryDecodeFast(json, ref e))
        {
            reason = null;
            return RecordType.Payment;
        }
        return DecodeWithReader(json, ref e, out reason);
    }

    /// <summary>
    /// Decodes the common shape of a payment without <see cref="Utf8JsonReader"/>: one flat object of
    /// <c>"name":value</c> pairs whose strings have no escapes and whose numbers are plain <c>digits[.digits]</c>.
    /// Answers true only for a valid payment; for anything else (another shape, an error, a control record) it
    /// answers false with <paramref name="e"/> half-filled, and <see cref="DecodeWithReader"/> decodes the record
    /// again from the start, so the reader stays the one judge of every error.
    /// </summary>
    internal bool TryDecodeFast(ReadOnlySpan<byte> json, ref PaymentEvent e)
    {
        _unknownCount = 0;
        var at = SkipWhitespace(json, 0);
        if (at >= json.Length || json[at] != '{') return false;
        Begin(ref e);
        Fields seen = 0;
        Fields named = 0;
        var isControl = false;
        var deferred = 0;
        // One vectorized look over the whole record: when it is printable ASCII without a backslash, as records
        // usually are, every string simply ends at the next quote.
        var printable = !json.ContainsAnyExcept(PrintableAsciiButBackslash);
        at = SkipWhitespace(json, at + 1);
        var previous = 0;
        while (true)
        {
            // A stream's records name their fields in much the same order: the name that followed the previous field
            // last time is tried first, as its quoted bytes and colon, before the name is scanned and matched.
            Fields field;
            var expected = _successor[previous];
            var quoted = expected == Fields.None ? default : QuotedNames[BitOf(expected)].AsSpan();
            if (!quoted.IsEmpty && json[at..].StartsWith(quoted))
            {
                field = expected;
                at += quoted.Length;
            }
            else
            {
                var nameStart = at + 1;
                if (!TryReadPlainString(json, printable, ref at, out var name)) return false;
                at = SkipWhitespace(json, at);
                if (at >= json.Length || json[at] != ':') return false;
                at++;
                field = Match(name);
                _successor[previous] = field;
                if (field == Fields.None) NoteUnknownName(nameStart, name.Length);
            }
            previous = field == Fields.None ? 0 : BitOf(field) + 1;
            // A name given twice is the reader's to refuse.
            if ((named & field) != 0) return false;
            named |= field;
            at = SkipWhitespace(json, at);
            var valueAt = at + 1;
            if (!TryReadPlainValue(json, printable, ref at, out var kind, out var value)) return false;
            if ((field & Fields.Pooled) != 0 && kind == JsonTokenType.String && value.Length <= MaxStringBytes)
            {
                if (deferred == _deferred.Length) return false;
                // The pool is too large to stay cached: its slot starts loading now, and the lookup waits for the rest of
                // the record. Every string value of these fields waits, an empty one too, so that they apply in order.
                if (!value.IsEmpty) strings.Prefetch(value);
                _deferred[deferred++] = new DeferredString(field, valueAt, value.Length);
                seen |= field;
            }
            else if (ApplyField(field, kind, value, ref e, ref seen, ref isControl) is not null)
            {
                return false;
            }
            at = SkipWhitespace(json, at);
            if (at >= json.Length) return false;
            if (json[at] == '}') break;
            if (json[at] != ',') return false;
            at = SkipWhitespace(json, at + 1);
        }
        // Trailing bytes, even whitespace, are left to the reader.
        if (at != json.Length - 1 || isControl || (Fields.Required & ~seen) != 0) return false;
        for (var i = 0; i < deferred; i++)
        {
            var (field, start, length) = _deferred[i];
            if (SetField(field, JsonTokenType.String, json.Slice(start, length), ref e, ref isControl) is not null) return false;
        }
        return true;
    }

    /// <summary>Decodes any record with <see cref="Utf8JsonReader"/>: every shape the fast path declines, and every error.</summary>
    internal RecordType DecodeWithReader(ReadOnlySpan<byte> json, ref PaymentEvent e, out string? reason)
    {
        try
        {
            return DecodeCore(json, ref e, out reason);
        }
        catch (JsonException ex)
        {
            reason = "malformed JSON: " + FirstSentence(ex.Message);
            return RecordType.Rejected;
        }
        catch (InvalidOperationException)
        {
            // Utf8JsonReader.CopyString refuses escapes that are not valid Unicode (a lone surrogate).
            reason = "malformed JSON: a string escape is not valid Unicode";
            return RecordType.Rejected;
        }
    }

    private RecordType DecodeCore(ReadOnlySpan<byte> json, ref PaymentEvent e, out string? reason)
    {
        _unknownCount = 0;
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 64 });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            reason = "not a JSON object";
            return RecordType.Rejected;
        }

        Begin(ref e);
        Span<byte> scratch = _scratch;
        Fields seen = 0;
        Fields named = 0;
        var isControl = false;
        string? fieldReason = null;

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            Fields field;
            try
            {
                field = Match(ref reader);
            }
            catch (InvalidOperationException)
            {
                // An escape of half a surrogate pair: the name cannot be read, so its field is no field of the event.
                fieldReason ??= "a field's name: not valid Unicode text";
                field = Fields.None;
            }
            var nameAt = (int)reader.TokenStartIndex;
            var nameLength = reader.ValueSpan.Length;
            if (!reader.Read()) break;
            if (field == Fields.None)
            {
                NoteUnknownName(nameAt + 1, nameLength);
                reader.Skip();
                // A field that is none of the event's is passed over, but a record is UTF-8 text throughout (the reader
                // passes bytes >= 0x80 through unchecked).
                if (!System.Text.Unicode.Utf8.IsValid(json[nameAt..(int)reader.BytesConsumed])) fieldReason ??= UnknownFieldNotUtf8(json.Slice(nameAt + 1, nameLength));
                continue;
            }
            // Of a name given twice a reader would keep one value and drop the other unseen: an amount written twice,
            // say, would be counted as whichever it kept. Such a record is refused (a control record's parser refuses
            // it too).
            if ((named & field) != 0)
            {
                fieldReason ??= NameOf(field) + ": given twice";
                reader.Skip();
                continue;
            }
            named |= field;
            // The record is read to its end before a field's error counts: a control record is judged by
            // ControlRecordParser alone (DESIGN.md §3.4), as on the control topic, and a value that would be wrong in
            // a payment is no error of it, whichever comes first, the value or its type.
            if (ReadField(ref reader, field, ref e, scratch, ref seen, ref isControl) is { } wrong)
            {
                fieldReason ??= wrong;
                reader.Skip();
            }
        }
        if (reader.TokenType != JsonTokenType.EndObject || reader.Read() || reader.BytesConsumed != json.Length)
        {
            // Read() past the end of a complete object throws for trailing bytes; the length check covers
            // trailing whitespace-free garbage the reader did not reach.
            reason = "malformed JSON: trailing data after the object";
            return RecordType.Rejected;
        }
        if (isControl)
        {
            reason = null;
            return RecordType.Control;
        }
        if (fieldReason is not null)
        {
            reason = fieldReason;
            return RecordType.Rejected;
        }

        var missing = Fields.Required & ~seen;
        if (missing != 0)
        {
            reason = "missing field: " + NameOf(LowestField(missing));
            return RecordType.Rejected;
        }
        reason = null;
        return RecordType.Payment;
    }

    private void NoteUnknownName(int start, int length)
    {
        if (_unknownCount < _unknownNames.Length) _unknownNames[_unknownCount++] = (start, length);
    }

    private static string UnknownFieldNotUtf8(ReadOnlySpan<byte> name) =>
        (name.Length <= MaxPropertyNameBytes && System.Text.Unicode.Utf8.IsValid(name) ? Encoding.UTF8.GetString(name) : "a field's name") + ": not valid UTF-8 text";

    /// <summary>The event before its first field: every field absent, the method defaulting to a transfer.</summary>
    private static void Begin(ref PaymentEvent e)
    {
        e = default;
        e.Method = PaymentMethod.Transfer;
    }

    /// <summary>Resolves the escapes of the reader's current value, if any, then applies it like the fast path does.</summary>
    private string? ReadField(ref Utf8JsonReader reader, Fields field, ref PaymentEvent e, scoped Span<byte> scratch, ref Fields seen, ref bool isControl)
    {
        scoped var value = reader.ValueSpan;
        // customsSpecial takes no string at all: its type error comes before anything about a string's escapes.
        if (reader.ValueIsEscaped && field != Fields.CustomsSpecial)
        {
            // The raw text is bounded first, so an oversized escaped value is never copied.
            if (value.Length > MaxRawStringBytes) return field == Fields.Amount ? "amount: not a decimal number" : NameOf(field) + ": longer than 1024 bytes";
            if (!TryUnescape(in reader, scratch, out value)) return NameOf(field) + ": not valid Unicode text";
        }
        // The reader checks a string's escapes but not its UTF-8; the fast path leaves such records to it.
        if (reader.TokenType == JsonTokenType.String && !System.Text.Unicode.Utf8.IsValid(value)) return NameOf(field) + ": not valid UTF-8 text";
        return ApplyField(field, reader.TokenType, value, ref e, ref seen, ref isControl);
    }

    /// <summary>
    /// Applies one value to the event, for both decoding paths: <paramref name="value"/> is a string's text with
    /// escapes resolved, or a number's or literal's raw text. Answers the rejection reason, or null.
    /// </summary>
    private string? ApplyField(Fields field, JsonTokenType kind, ReadOnlySpan<byte> value, ref PaymentEvent e, ref Fields seen, ref bool isControl)
    {
        if (field == Fields.None) return null;
        if (kind == JsonTokenType.Null && (field & Fields.Optional) != 0) return null;   // an explicit null is the same as an absent optional field
        var reason = SetField(field, kind, value, ref e, ref isControl);
        if (reason is null) seen |= field;
        return reason;
    }

    private string? SetField(Fields field, JsonTokenType kind, ReadOnlySpan<byte> value, ref PaymentEvent e, ref bool isControl)
    {
        if (field == Fields.Amount)
        {
            if (kind is not (JsonTokenType.Number or JsonTokenType.String)) return "amount: must be a number or a decimal string";
            if (value.Length > MaxRawStringBytes) return "amount: not a decimal number";
            return DecimalText.TryParseAmount(value, out e.Amount) switch
            {
                AmountError.None => null,
                AmountError.NotPositive => "amount: must be greater than 0",
                AmountError.TooLarge => "amount: must not exceed 10^15",
                AmountError.TooManyDecimals => "amount: at most 4 decimals",
                _ => "amount: not a decimal number",
            };
        }
        if (field == Fields.CustomsSpecial)
        {
            if (kind is not (JsonTokenType.True or JsonTokenType.False)) return "customsSpecial: must be true or false";
            e.CustomsSpecial = kind == JsonTokenType.True;
            return null;
        }
        if (kind != JsonTokenType.String) return NameOf(field) + ": must be a string";
        if (value.Length > MaxStringBytes) return NameOf(field) + ": longer than 1024 bytes";
        if (field is Fields.TxnId or Fields.Account or Fields.EntityId or Fields.CpAccount or Fields.CpEntityId
            && UnseenCharacter(field, value) is { } unseen)
        {
            return unseen;
        }
        switch (field)
        {
            case Fields.TxnId:
                if (value.Length is 0 or > PaymentEvent.MaxTxnIdBytes) return "txnId: must be 1 to 64 UTF-8 bytes";
                e.SetTxnId(value);
                return null;
            case Fields.Ts:
                return IsoTimestamp.TryParse(value, out e.TimestampTicks, out e.OffsetMinutes)
                    ? null
                    : "ts: not an ISO-8601 time with offset (e.g. 2026-03-01T09:30:00+08:00)";
            case Fields.Account:
                if (value.IsEmpty) return "account: must not be empty";
                e.Account = strings.GetOrAdd(value, out e.AccountSymbol);
                return null;
            case Fields.AccountKind:
                return AccountKinds.TryParse(value, out e.AccountKind) ? null : "accountKind: unknown account kind";
            case Fields.EntityId:
                e.EntityId = value.IsEmpty ? null : strings.GetOrAdd(value);
                return null;
            case Fields.Direction:
                if (value.SequenceEqual("IN"u8)) e.Direction = Direction.In;
                else if (value.SequenceEqual("OUT"u8)) e.Direction = Direction.Out;
                else return "direction: must be IN or OUT";
                return null;
            case Fields.Currency:
                if (value.Length != 3 || !IsUpperAscii(value)) return "currency: must be a 3-letter ISO-4217 code";
                e.Currency = _codes.GetOrAdd(value);
                return null;
            case Fields.CpKind:
                return AccountKinds.TryParse(value, out e.CpKind) ? null : "cpKind: unknown account kind";
            case Fields.CpAccount:
                e.CpAccount = value.IsEmpty ? null : strings.GetOrAdd(value, out e.CpAccountSymbol);
                return null;
            case Fields.CpEntityId:
                e.CpEntityId = value.IsEmpty ? null : strings.GetOrAdd(value);
                return null;
            case Fields.CpName:
                e.CpName = value.IsEmpty ? null : strings.GetOrAdd(value, out e.CpNameSymbol);
                return null;
            case Fields.CpCountry:
                // Matched exactly against the reference's high-risk countries (RULES.md §2): a code written
                // otherwise ("kp", "PRK") would pass them unseen, so it is refused like a malformed currency.
                if (value.IsEmpty)
                {
                    e.CpCountry = null;
                    return null;
                }
                if (value.Length != 2 || !IsUpperAscii(value)) return "cpCountry: must be a 2-letter ISO 3166-1 code";
                e.CpCountry = _codes.GetOrAdd(value);
                return null;
            case Fields.Purpose:
                e.Purpose = Purposes.Parse(value);
                return null;
            case Fields.Method:
                if (value.SequenceEqual("TRANSFER"u8)) e.Method = PaymentMethod.Transfer;
                else if (value.SequenceEqual("CASH"u8)) e.Method = PaymentMethod.Cash;
                else return "method: must be TRANSFER or CASH";
                return null;
            case Fields.Bank:
                e.Bank = value.IsEmpty ? null : _codes.GetOrAdd(value);
                return null;
            case Fields.Type:
                // A payment may say what it is: producers that put a type on every message of a topic are common.
                if (value.SequenceEqual("PAYMENT"u8)) isControl = false;
                else if (value.SequenceEqual("PARAMETERS"u8)) isControl = true;
                else return "type: unknown record type (PAYMENT or PARAMETERS)";
                return null;
            default:
                return null;
        }
    }

    /// <summary>Why an id (of a payment, an account or an entity) cannot be taken (<see cref="UnseenCharacters.IdProblem"/>); null when it can.</summary>
    private static string? UnseenCharacter(Fields field, ReadOnlySpan<byte> value) =>
        UnseenCharacters.IdProblem(value) is { } problem ? $"{NameOf(field)}: {problem}" : null;

    /// <summary>The escaped value's text with escapes resolved; false for an escaped lone surrogate.</summary>
    private static bool TryUnescape(scoped in Utf8JsonReader reader, Span<byte> scratch, out ReadOnlySpan<byte> text)
    {
        try
        {
            text = scratch[..reader.CopyString(scratch)];
            return true;
        }
        catch (InvalidOperationException)
        {
            text = default;
            return false;
        }
    }

    private static int SkipWhitespace(ReadOnlySpan<byte> json, int at)
    {
        while (at < json.Length && json[at] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r') at++;
        return at;
    }

    /// <summary>
    /// A string value or name at <paramref name="at"/> without escapes or control bytes, its non-ASCII text valid
    /// UTF-8; moves <paramref name="at"/> past the closing quote. False for any other string, left to the reader.
    /// <paramref name="printable"/> says the whole record is printable ASCII without a backslash.
    /// </summary>
    private static bool TryReadPlainString(ReadOnlySpan<byte> json, bool printable, ref int at, out ReadOnlySpan<byte> text)
    {
        text = default;
        if (at >= json.Length || json[at] != '"') return false;
        var rest = json[(at + 1)..];
        var end = printable ? IndexOfQuote(rest) : rest.IndexOfAnyExcept(PlainAsciiStringBytes);
        if (end < 0) return false;
        if (rest[end] >= 0x80)
        {
            // The reader passes any byte >= 0x80 through unchecked; taking only valid UTF-8 keeps this path
            // within what the reader accepts even if that changes.
            end = rest.IndexOfAny(QuoteBackslashOrControl);
            if (end < 0 || !Utf8.IsValid(rest[..end])) return false;
        }
        if (rest[end] != '"') return false;
        text = rest[..end];
        at += end + 2;
        return true;
    }

    /// <summary>A plain loop: the strings of a record are short, and a vectorized search costs more to call than it saves.</summary>
    private static int IndexOfQuote(ReadOnlySpan<byte> text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '"') return i;
        }
        return -1;
    }

    /// <summary>
    /// A value at <paramref name="at"/> the fast path understands: a plain string, a number <c>digits[.digits]</c>
    /// without a leading zero, or <c>true</c>, <c>false</c>, <c>null</c>. A number or literal running on into other
    /// bytes (<c>1e5</c>, <c>01</c>, <c>truex</c>) is caught by the caller, which expects a separator next.
    /// </summary>
    private static bool TryReadPlainValue(ReadOnlySpan<byte> json, bool printable, ref int at, out JsonTokenType kind, out ReadOnlySpan<byte> value)
    {
        kind = JsonTokenType.None;
        value = default;
        if (at >= json.Length) return false;
        switch (json[at])
        {
            case (byte)'"':
                kind = JsonTokenType.String;
                return TryReadPlainString(json, printable, ref at, out value);
            case (byte)'t':
                kind = JsonTokenType.True;
                return TryReadLiteral(json, ref at, "true"u8, out value);
            case (byte)'f':
                kind = JsonTokenType.False;
                return TryReadLiteral(json, ref at, "false"u8, out value);
            case (byte)'n':
                kind = JsonTokenType.Null;
                return TryReadLiteral(json, ref at, "null"u8, out value);
            case >= (byte)'0' and <= (byte)'9':
                kind = JsonTokenType.Number;
                var start = at;
                at = json[at] == '0' ? at + 1 : SkipDigits(json, at);
                if (at < json.Length && json[at] == '.')
                {
                    var fraction = at + 1;
                    at = SkipDigits(json, fraction);
                    if (at == fraction) return false;
                }
                value = json[start..at];
                return true;
            default:
                return false;
        }
    }

    private static bool TryReadLiteral(ReadOnlySpan<byte> json, ref int at, ReadOnlySpan<byte> literal, out ReadOnlySpan<byte> value)
    {
        value = literal;
        if (!json[at..].StartsWith(literal)) return false;
        at += literal.Length;
        return true;
    }

    private static int SkipDigits(ReadOnlySpan<byte> json, int at)
    {
        while (at < json.Length && char.IsAsciiDigit((char)json[at])) at++;
        return at;
    }

    private static bool IsUpperAscii(ReadOnlySpan<byte> value)
    {
        foreach (var b in value)
        {
            if (b is < (byte)'A' or > (byte)'Z') return false;
        }
        return true;
    }

    private static Fields Match(ref Utf8JsonReader reader)
    {
        if (reader.ValueIsEscaped) return MatchEscaped(ref reader);
        return Match(reader.ValueSpan);
    }

    private static Fields MatchEscaped(ref Utf8JsonReader reader)
    {
        // Every known name is short: a longer one, escaped or not, is an unknown field.
        Span<byte> name = stackalloc byte[6 * MaxPropertyNameBytes];
        if (reader.ValueSpan.Length > name.Length)
        {
            _ = reader.GetString();   // read only for its escapes, which throw when they are not valid Unicode
            return Fields.None;
        }
        var written = reader.CopyString(name);
        return written > MaxPropertyNameBytes ? Fields.None : Match(name[..written]);
    }

    /// <summary>
    /// The field of a name. A known name in other letter case is that field (<c>Method</c> is <c>method</c>), as a known
    /// purpose code in other case is that code: passed over as unknown, <c>"Method":"CASH"</c> would leave a cash payment
    /// out of its large-value report unseen. Two names of one field in a record are refused, as a name given twice is.
    /// </summary>
    private static Fields Match(ReadOnlySpan<byte> name)
    {
        var field = MatchExact(name);
        if (field != Fields.None || name.Length > MaxPropertyNameBytes) return field;
        foreach (var (known, utf8) in KnownNames)
        {
            if (utf8.Length == name.Length && System.Text.Ascii.EqualsIgnoreCase(name, utf8)) return known;
        }
        return Fields.None;
    }

    /// <summary>Every field with its name: the single bits up to the last, <see cref="Fields.Type"/>.</summary>
    private static readonly (Fields Field, byte[] Utf8)[] KnownNames =
        [.. Enumerable.Range(0, BitOf(Fields.Type) + 1).Select(bit => (Fields)(1u << bit)).Select(field => (field, Encoding.UTF8.GetBytes(NameOf(field))))];

    private static Fields MatchExact(ReadOnlySpan<byte> name) => name.Length switch
    {
        2 when name.SequenceEqual("ts"u8) => Fields.Ts,
        4 when name.SequenceEqual("bank"u8) => Fields.Bank,
        4 when name.SequenceEqual("type"u8) => Fields.Type,
        5 when name.SequenceEqual("txnId"u8) => Fields.TxnId,
        6 when name.SequenceEqual("amount"u8) => Fields.Amount,
        6 when name.SequenceEqual("cpKind"u8) => Fields.CpKind,
        6 when name.SequenceEqual("cpName"u8) => Fields.CpName,
        6 when name.SequenceEqual("method"u8) => Fields.Method,
        7 when name.SequenceEqual("account"u8) => Fields.Account,
        7 when name.SequenceEqual("purpose"u8) => Fields.Purpose,
        8 when name.SequenceEqual("entityId"u8) => Fields.EntityId,
        8 when name.SequenceEqual("currency"u8) => Fields.Currency,
        9 when name.SequenceEqual("direction"u8) => Fields.Direction,
        9 when name.SequenceEqual("cpAccount"u8) => Fields.CpAccount,
        9 when name.SequenceEqual("cpCountry"u8) => Fields.CpCountry,
        10 when name.SequenceEqual("cpEntityId"u8) => Fields.CpEntityId,
        11 when name.SequenceEqual("accountKind"u8) => Fields.AccountKind,
        14 when name.SequenceEqual("customsSpecial"u8) => Fields.CustomsSpecial,
        _ => Fields.None,
    };

    /// <summary>The bit of a single field, which indexes tables by field.</summary>
    private static int BitOf(Fields field) => BitOperations.TrailingZeroCount((uint)field);

    private static Fields LowestField(Fields set) => (Fields)((uint)set & (uint)-(int)set);

    private static string NameOf(Fields field) => field switch
    {
        Fields.TxnId => "txnId",
        Fields.Ts => "ts",
        Fields.Account => "account",
        Fields.Direction => "direction",
        Fields.Amount => "amount",
        Fields.Currency => "currency",
        Fields.CpKind => "cpKind",
        Fields.AccountKind => "accountKind",
        Fields.EntityId => "entityId",
        Fields.CpAccount => "cpAccount",
        Fields.CpEntityId => "cpEntityId",
        Fields.CpName => "cpName",
        Fields.CpCountry => "cpCountry",
        Fields.Purpose => "purpose",
        Fields.Method => "method",
        Fields.CustomsSpecial => "customsSpecial",
        Fields.Bank => "bank",
        Fields.Type => "type",
        _ => "?",
    };

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". ", StringComparison.Ordinal);
        return end < 0 ? message : message[..(end + 1)];
    }

    /// <summary>A pooled string field's value, by where it lies in the record.</summary>
    private readonly record struct DeferredString(Fields Field, int Start, int Length);

    [Flags]
    private enum Fields : uint
    {
        None = 0,
        TxnId = 1 << 0,
        Ts = 1 << 1,
        Account = 1 << 2,
        Direction = 1 << 3,
        Amount = 1 << 4,
        Currency = 1 << 5,
        CpKind = 1 << 6,
        AccountKind = 1 << 7,
        EntityId = 1 << 8,
        CpAccount = 1 << 9,
        CpEntityId = 1 << 10,
        CpName = 1 << 11,
        CpCountry = 1 << 12,
        Purpose = 1 << 13,
        Method = 1 << 14,
        CustomsSpecial = 1 << 15,
        Bank = 1 << 16,
        Type = 1 << 17,
        Required = TxnId | Ts | Account | Direction | Amount | Currency | CpKind,
        Pooled = Account | EntityId | CpAccount | CpEntityId | CpName,
        Optional = AccountKind | EntityId | CpAccount | CpEntityId | CpName | CpCountry | Purpose | Method | CustomsSpecial | Bank,
    }
}
