using System.Text.Json;
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
/// with <see cref="Utf8JsonReader"/> and no reflection. Never throws on bad input: it answers
/// <see cref="RecordType.Rejected"/> with a reason. A record with <c>"type":"PARAMETERS"</c> is a control
/// record (DESIGN.md §3.4), answered as <see cref="RecordType.Control"/> for <see cref="ControlRecordParser"/>.
/// Fields the reference data may supply (<c>accountKind</c>, <c>entityId</c>) are left unresolved here.
/// </summary>
public sealed class EventDecoder(Utf8StringPool strings)
{
    private const int MaxStringBytes = 1024;

    /// <summary>An escape takes at most 6 bytes for 1 byte of text, so a raw value this long always fits unescaped.</summary>
    private const int MaxRawStringBytes = 6 * MaxStringBytes;

    private const int MaxPropertyNameBytes = 64;

    /// <summary>Unescaped string values; a field, not stackalloc, which would zero 6 KiB on every call.</summary>
    private readonly byte[] _scratch = new byte[MaxRawStringBytes];

    public EventDecoder() : this(new Utf8StringPool())
    {
    }

    public RecordType Decode(ReadOnlySpan<byte> json, ref PaymentEvent e, out string? reason)
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
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 64 });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            reason = "not a JSON object";
            return RecordType.Rejected;
        }

        e = default;
        e.Method = PaymentMethod.Transfer;
        Span<byte> scratch = _scratch;
        Fields seen = 0;
        var isControl = false;

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var field = Match(ref reader);
            if (!reader.Read()) break;
            if (field == Fields.None)
            {
                reader.Skip();
                continue;
            }
            if (reader.TokenType == JsonTokenType.Null && (field & Fields.Optional) != 0)
            {
                continue;   // an explicit null is the same as an absent optional field
            }
            reason = ReadField(ref reader, field, ref e, scratch, ref isControl);
            if (reason is not null) return RecordType.Rejected;
            seen |= field;
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

        var missing = Fields.Required & ~seen;
        if (missing != 0)
        {
            reason = "missing field: " + NameOf(LowestField(missing));
            return RecordType.Rejected;
        }
        reason = null;
        return RecordType.Payment;
    }

    private string? ReadField(ref Utf8JsonReader reader, Fields field, ref PaymentEvent e, scoped Span<byte> scratch, ref bool isControl)
    {
        if (field == Fields.Amount)
        {
            if (reader.TokenType is not (JsonTokenType.Number or JsonTokenType.String)) return "amount: must be a number or a decimal string";
            if (reader.ValueSpan.Length > MaxRawStringBytes) return "amount: not a decimal number";
            var valid = true;
            var text = reader.TokenType == JsonTokenType.String ? Unescaped(in reader, scratch, out valid) : reader.ValueSpan;
            if (!valid) return "amount: not valid Unicode text";
            return DecimalText.TryParseAmount(text, out e.Amount) switch
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
            if (reader.TokenType is not (JsonTokenType.True or JsonTokenType.False)) return "customsSpecial: must be true or false";
            e.CustomsSpecial = reader.TokenType == JsonTokenType.True;
            return null;
        }
        if (reader.TokenType != JsonTokenType.String) return NameOf(field) + ": must be a string";
        if (reader.ValueSpan.Length > (reader.ValueIsEscaped ? MaxRawStringBytes : MaxStringBytes))
        {
            return NameOf(field) + ": longer than 1024 bytes";
        }
        var value = Unescaped(in reader, scratch, out var validText);
        if (!validText) return NameOf(field) + ": not valid Unicode text";
        if (value.Length > MaxStringBytes) return NameOf(field) + ": longer than 1024 bytes";
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
                e.Account = strings.GetOrAdd(value);
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
                e.Currency = strings.GetOrAdd(value);
                return null;
            case Fields.CpKind:
                return AccountKinds.TryParse(value, out e.CpKind) ? null : "cpKind: unknown account kind";
            case Fields.CpAccount:
                e.CpAccount = value.IsEmpty ? null : strings.GetOrAdd(value);
                return null;
            case Fields.CpEntityId:
                e.CpEntityId = value.IsEmpty ? null : strings.GetOrAdd(value);
                return null;
            case Fields.CpName:
                e.CpName = value.IsEmpty ? null : strings.GetOrAdd(value);
                return null;
            case Fields.CpCountry:
                e.CpCountry = value.IsEmpty ? null : strings.GetOrAdd(value);
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
                e.Bank = value.IsEmpty ? null : strings.GetOrAdd(value);
                return null;
            case Fields.Type:
                if (!value.SequenceEqual("PARAMETERS"u8)) return "type: unknown record type (only PARAMETERS is known)";
                isControl = true;
                return null;
            default:
                return null;
        }
    }

    /// <summary>The value's text with escapes resolved; <paramref name="valid"/> is false for an escaped lone surrogate.</summary>
    private static ReadOnlySpan<byte> Unescaped(in Utf8JsonReader reader, Span<byte> scratch, out bool valid)
    {
        valid = true;
        if (!reader.ValueIsEscaped) return reader.ValueSpan;
        try
        {
            return scratch[..reader.CopyString(scratch)];
        }
        catch (InvalidOperationException)
        {
            valid = false;
            return default;
        }
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
        if (reader.ValueSpan.Length > name.Length) return Fields.None;
        var written = reader.CopyString(name);
        return written > MaxPropertyNameBytes ? Fields.None : Match(name[..written]);
    }

    private static Fields Match(ReadOnlySpan<byte> name) => name.Length switch
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
        Optional = AccountKind | EntityId | CpAccount | CpEntityId | CpName | CpCountry | Purpose | Method | CustomsSpecial | Bank,
    }
}
