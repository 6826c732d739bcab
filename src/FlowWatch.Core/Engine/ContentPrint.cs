using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using FlowWatch.Core.Contracts;

namespace FlowWatch.Core.Engine;

/// <summary>
/// A 32-bit print of what a payment says, as written (before reference data resolves it), so that a repeat of an
/// accepted <c>txnId</c> can be told apart: a redelivery says the same, another payment reusing the id does not
/// (docs/SEMANTICS.md, txnId). Values are printed as meant, not as spelled: the instant and not the offset it was
/// written in, the amount's value and not its trailing zeros, codes as the decoder reads them. Stable across processes
/// and machines (XXH3, not <c>string.GetHashCode</c>), since prints are saved with the ids. Never 0, which marks a
/// print not known. Two different payments share a print with odds of 1 in 2^32. Not thread-safe: one per engine.
/// </summary>
internal sealed class ContentPrint
{
    /// <summary>Longest text of a field a print takes: the decoder's longest string, in UTF-16 bytes.</summary>
    private const int MaxTextBytes = 2 * 1024;

    private const int TextFields = 8;

    /// <summary>The fixed-size values, then each text as its length (−1 for none) and its UTF-16 bytes.</summary>
    private readonly byte[] _scratch = new byte[48 + TextFields * (4 + MaxTextBytes)];

    public uint Of(in PaymentEvent e)
    {
        var buffer = _scratch.AsSpan();
        BinaryPrimitives.WriteInt64LittleEndian(buffer, e.TimestampTicks);
        WriteValue(buffer[8..], e.Amount);
        buffer[24] = (byte)e.Direction;
        buffer[25] = (byte)e.AccountKind;
        buffer[26] = (byte)e.CpKind;
        buffer[27] = (byte)e.Purpose;
        buffer[28] = (byte)e.Method;
        buffer[29] = e.CustomsSpecial ? (byte)1 : (byte)0;
        var at = 30;
        at = Write(buffer, at, e.Account);
        at = Write(buffer, at, e.EntityId);
        at = Write(buffer, at, e.Currency);
        at = Write(buffer, at, e.CpAccount);
        at = Write(buffer, at, e.CpEntityId);
        at = Write(buffer, at, e.CpName);
        at = Write(buffer, at, e.CpCountry);
        at = Write(buffer, at, e.Bank);
        return (uint)XxHash3.HashToUInt64(buffer[..at]) | 1u;
    }

    private static int Write(Span<byte> buffer, int at, string? text)
    {
        if (text is null)
        {
            BinaryPrimitives.WriteInt32LittleEndian(buffer[at..], -1);
            return at + 4;
        }
        var bytes = MemoryMarshal.AsBytes(text.AsSpan());
        BinaryPrimitives.WriteInt32LittleEndian(buffer[at..], bytes.Length);
        if (bytes.Length > MaxTextBytes)
        {
            // Longer than a decoded record holds: an event built in code. Its own hash stands in for it.
            BinaryPrimitives.WriteUInt64LittleEndian(buffer[(at + 4)..], XxHash3.HashToUInt64(bytes));
            return at + 12;
        }
        bytes.CopyTo(buffer[(at + 4)..]);
        return at + 4 + bytes.Length;
    }

    /// <summary>
    /// A decimal's value in 16 bytes, the same however many trailing zeros it was written with (12.50 as 12.5): its
    /// digits with the zeros after the last decimal removed, its scale, its sign.
    /// </summary>
    private static void WriteValue(Span<byte> buffer, decimal value)
    {
        Span<int> bits = stackalloc int[4];
        decimal.GetBits(value, bits);
        var low = ((ulong)(uint)bits[1] << 32) | (uint)bits[0];
        var scale = (bits[3] >> 16) & 0xFF;
        UInt128 digits;
        if (bits[2] == 0)
        {
            // Amounts below 2^64 minor units, nearly all: 64-bit division, far cheaper than 128-bit.
            while (scale > 0 && low % 10 == 0 && low != 0)
            {
                low /= 10;
                scale--;
            }
            digits = low;
        }
        else
        {
            digits = new UInt128((uint)bits[2], low);
            while (scale > 0 && digits % 10 == 0)
            {
                digits /= 10;
                scale--;
            }
        }
        BinaryPrimitives.WriteUInt64LittleEndian(buffer, (ulong)digits);
        BinaryPrimitives.WriteUInt32LittleEndian(buffer[8..], (uint)(digits >> 64));
        BinaryPrimitives.WriteInt32LittleEndian(buffer[12..], digits == 0 ? 0 : (scale << 1) | (bits[3] < 0 ? 1 : 0));
    }
}
