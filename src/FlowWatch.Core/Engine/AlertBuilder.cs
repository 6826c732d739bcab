using System.Globalization;
using System.IO.Hashing;
using System.Text;
using FlowWatch.Core.Contracts;

namespace FlowWatch.Core.Engine;

/// <summary>Builds alerts for one engine: deterministic ids, the event's identity, references and detection time.</summary>
internal sealed class AlertBuilder(TimeProvider? wallClock)
{
    public Alert Build(in PaymentEvent e, string rule, Severity severity, string message, AlertMetrics metrics)
    {
        var txnId = e.TxnId;
        var ts = e.Timestamp;
        return new Alert
        {
            AlertId = AlertIdOf(rule, e.TxnIdUtf8, e.TimestampTicks),
            Rule = rule,
            Severity = severity,
            EntityId = e.EntityId!,
            Account = e.Account,
            TxnId = txnId,
            Ts = ts,
            // Without a wall clock (replay, backtesting) detection time is the event time, so output is reproducible.
            DetectedAt = wallClock?.GetUtcNow() ?? ts,
            Message = message,
            Metrics = metrics.Canonical(),
            Refs = RuleCodes.References(rule),
            Sequence = e.Sequence,
        };
    }

    /// <summary>
    /// XXH128 of "rule|txnId|time" in hex, the time the event's in UTC to 100 ns (<c>2026-03-01T01:30:00.0000000Z</c>):
    /// the same event and rule give the same id everywhere, cheaply. The time tells apart two payments that carry one
    /// <c>txnId</c> once its first is forgotten (<c>DuplicateHorizonDays</c>): a bank keying alerts on their id would
    /// otherwise take the second payment's alert for the first's.
    /// </summary>
    public static string AlertIdOf(string rule, ReadOnlySpan<byte> txnIdUtf8, long utcTicks)
    {
        Span<byte> input = stackalloc byte[64 + 1 + PaymentEvent.MaxTxnIdBytes + 1 + 28];
        var length = Encoding.ASCII.GetBytes(rule, input);
        input[length++] = (byte)'|';
        txnIdUtf8.CopyTo(input[length..]);
        length += txnIdUtf8.Length;
        input[length++] = (byte)'|';
        new DateTime(utcTicks, DateTimeKind.Utc).TryFormat(input[length..], out var timeLength, "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);
        length += timeLength;
        Span<byte> hash = stackalloc byte[16];
        XxHash128.Hash(input[..length], hash);
        return Convert.ToHexStringLower(hash);
    }

    public static string Money(decimal amount, string currency) =>
        amount.ToString("#,0.####", CultureInfo.InvariantCulture) + " " + currency;

    /// <summary>
    /// A utilisation at or below the cap as a percentage to 2 decimals, rounded down as
    /// <see cref="PenetrationQuota.Utilisation"/> rounds it there: a position below the cap never reads 100%.
    /// </summary>
    public static string Percent(decimal utilisation) =>
        decimal.Round(utilisation * 100m, 2, MidpointRounding.ToNegativeInfinity).ToString("0.##", CultureInfo.InvariantCulture) + "%";
}
