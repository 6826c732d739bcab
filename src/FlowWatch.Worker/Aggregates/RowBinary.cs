using System.Buffers.Binary;
using System.Text;

namespace FlowWatch.Worker.Aggregates;

/// <summary>
/// Writes rows in ClickHouse's RowBinary format (the format of every server version): values in column order,
/// little-endian, strings with a LEB128 length, Decimal(38, S) as the 128-bit integer value × 10^S, Nullable with a
/// leading null flag. Straight from typed values into one buffer: no boxing and no per-value dispatch.
/// </summary>
internal sealed class RowBinary : IDisposable
{
    private static readonly Int128[] PowersOfTen = [.. Enumerable.Range(0, 39).Select(Pow10)];

    private readonly MemoryStream _buffer = new(1 << 20);
    private readonly byte[] _scratch = new byte[16];

    public int Rows { get; private set; }

    public void Dispose() => _buffer.Dispose();

    public void EndRow() => Rows++;

    /// <summary>
    /// The rows written so far, as a read-only view of the buffer that the HTTP request may dispose; call
    /// <see cref="Clear"/> once it is sent.
    /// </summary>
    public MemoryStream Content() => new(_buffer.GetBuffer(), 0, (int)_buffer.Length, writable: false);

    public void Clear()
    {
        _buffer.SetLength(0);
        Rows = 0;
    }

    public void String(string value)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        var size = (uint)length;
        while (size >= 0x80)
        {
            _buffer.WriteByte((byte)(size | 0x80));
            size >>= 7;
        }
        _buffer.WriteByte((byte)size);
        Span<byte> bytes = length <= 256 ? stackalloc byte[length] : new byte[length];
        Encoding.UTF8.GetBytes(value, bytes);
        _buffer.Write(bytes);
    }

    /// <summary>DateTime: seconds since the Unix epoch, as UInt32 (the column's time zone only changes how it is shown).</summary>
    public void DateTime(long utcTicks)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_scratch, (uint)((utcTicks - System.DateTime.UnixEpoch.Ticks) / TimeSpan.TicksPerSecond));
        _buffer.Write(_scratch, 0, 4);
    }

    public void UInt16(ushort value)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(_scratch, value);
        _buffer.Write(_scratch, 0, 2);
    }

    public void UInt64(ulong value)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(_scratch, value);
        _buffer.Write(_scratch, 0, 8);
    }

    /// <summary>Decimal(38, <paramref name="scale"/>); a value with more decimals is rounded half to even first.</summary>
    public void Decimal(decimal value, int scale)
    {
        var rounded = decimal.Round(value, scale);
        Span<int> bits = stackalloc int[4];
        decimal.GetBits(rounded, bits);
        var mantissa = ((Int128)(uint)bits[2] << 64) | ((Int128)(uint)bits[1] << 32) | (uint)bits[0];
        var valueScale = (bits[3] >> 16) & 0xFF;
        var scaled = mantissa * PowersOfTen[scale - valueScale];
        if (bits[3] < 0) scaled = -scaled;
        BinaryPrimitives.WriteInt128LittleEndian(_scratch, scaled);
        _buffer.Write(_scratch, 0, 16);
    }

    public void NullableDecimal(decimal? value, int scale)
    {
        _buffer.WriteByte(value is null ? (byte)1 : (byte)0);
        if (value is { } present) Decimal(present, scale);
    }

    private static Int128 Pow10(int exponent)
    {
        Int128 result = 1;
        for (var i = 0; i < exponent; i++) result *= 10;
        return result;
    }
}
