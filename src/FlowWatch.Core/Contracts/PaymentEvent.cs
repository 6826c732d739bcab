using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Text;
using FlowWatch.Core.Reference;

namespace FlowWatch.Core.Contracts;

/// <summary>
/// A payment event (DESIGN.md §3.1), decoded and resolved. A mutable struct so that a batch is one array
/// and decoding fills it in place without allocating; pass it by reference.
/// </summary>
[SuppressMessage("Design", "CA1051", Justification = "A hot-path value filled in place by the decoder; fields, not properties.")]
public struct PaymentEvent
{
    /// <summary>Largest <c>txnId</c> in UTF-8 bytes.</summary>
    public const int MaxTxnIdBytes = 64;

    /// <summary>Position in the source (line number of a file, or offset of a message).</summary>
    public long Sequence;

    private TxnIdBuffer _txnId;
    private byte _txnIdLength;

    /// <summary>Event time in UTC ticks.</summary>
    public long TimestampTicks;

    /// <summary>The offset the event was written with, in minutes, so alerts echo the time as given.</summary>
    public short OffsetMinutes;

    public string Account;
    public AccountKind AccountKind;
    public string? EntityId;
    public Direction Direction;
    public decimal Amount;
    public string Currency;
    public string? CpAccount;
    public AccountKind CpKind;
    public string? CpEntityId;
    public string? CpName;
    public string? CpCountry;
    public Purpose Purpose;
    public PaymentMethod Method;
    public bool CustomsSpecial;
    public string? Bank;

    /// <summary>
    /// Symbols of the account, the counterparty account and the counterparty name in the decoder's string pool (0: none),
    /// under which the engine keeps what it looked up about them.
    /// </summary>
    internal int AccountSymbol;
    internal int CpAccountSymbol;
    internal int CpNameSymbol;

    /// <summary>The print of what the event says as written, which tells a redelivery of its id from another payment reusing it.</summary>
    internal uint Print;

    // Derived by EventResolver from the fields above and the reference data in force.

    /// <summary>The holder's reference record, if it has one; looked up once so that no rule looks it up again.</summary>
    public EntityInfo? Holder;

    /// <summary>The counterparty holder's reference record, if it is known and has one.</summary>
    public EntityInfo? CpHolder;

    /// <summary>The holder, the counterparty's holder or the counterparty's name is sanctioned (SANCTIONED_PARTY).</summary>
    public bool InvolvesSanctionedParty;

    /// <summary>
    /// The event names another entity or kind for its account, or another entity for its counterparty account, than
    /// reference data gives them.
    /// </summary>
    public bool ContradictsReference;

    public CustomerType CustomerType;
    public Channel Channel;
    public LargeValueCategory Category;
    public CurrencyClass CurrencyClass;

    /// <summary>amount × rate (CNY per unit), exact.</summary>
    public decimal AmountCny;

    /// <summary>CNY per USD in force when the event was resolved.</summary>
    public decimal UsdRate;

    /// <summary>USD-equivalent of a foreign-currency amount, worked out once at resolution.</summary>
    public decimal FxAmountUsd;

    /// <summary>
    /// amount × rate / rate(USD) (RULES.md §1). Kept for foreign currencies; for CNY, where only
    /// SERVICES_TAX_FILING needs it, divided on use so that ordinary CNY payments skip a decimal division.
    /// </summary>
    public readonly decimal AmountUsd => CurrencyClass == CurrencyClass.Fx ? FxAmountUsd : Amount / UsdRate;

    /// <summary>The amount in its currency class: CNY for CNY, USD-equivalent for every other currency (RULES.md §4).</summary>
    public readonly decimal ClassAmount => CurrencyClass == CurrencyClass.Cny ? Amount : FxAmountUsd;

    public readonly bool IsCny => CurrencyClass == CurrencyClass.Cny;

    [UnscopedRef]
    public readonly ReadOnlySpan<byte> TxnIdUtf8 => ((ReadOnlySpan<byte>)_txnId)[.._txnIdLength];

    public readonly string TxnId => Encoding.UTF8.GetString(TxnIdUtf8);

    /// <summary>Event time with the offset it was written in.</summary>
    public readonly DateTimeOffset Timestamp =>
        new DateTimeOffset(TimestampTicks, TimeSpan.Zero).ToOffset(TimeSpan.FromMinutes(OffsetMinutes));

    public void SetTxnId(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length is 0 or > MaxTxnIdBytes)
            throw new ArgumentOutOfRangeException(nameof(utf8), utf8.Length, "txnId must be 1 to 64 UTF-8 bytes");
        utf8.CopyTo(_txnId);
        _txnIdLength = (byte)utf8.Length;
    }

    public void SetTxnId(string txnId) => SetTxnId(Encoding.UTF8.GetBytes(txnId));

    [InlineArray(MaxTxnIdBytes)]
    private struct TxnIdBuffer
    {
        private byte _element;
    }
}
