namespace FlowWatch.Worker.Replay;

/// <summary>
/// Reads a stream line by line as UTF-8 bytes without allocating per line. A line's span is valid until the next
/// call. Lines end at '\n'; a trailing '\r' is dropped; a last line without '\n' still counts. A line of
/// <c>maxLineBytes</c> or more is not held whole: its first <c>maxLineBytes</c> bytes are returned, <see cref="CutFrom"/> gives its
/// length, and the rest is read past, so that one runaway line (a file missing its newlines, say) cannot exhaust memory.
/// </summary>
public sealed class LineReader(Stream stream, int maxLineBytes = LineReader.DefaultMaxLineBytes, int initialBufferSize = 1 << 20)
{
    /// <summary>Far beyond any event (its text fields hold at most 1,024 bytes each) and any Kafka record by default.</summary>
    public const int DefaultMaxLineBytes = 16 << 20;

    private byte[] _buffer = new byte[Math.Min(initialBufferSize, maxLineBytes)];
    private int _start;
    private int _end;
    private bool _endOfStream;
    private byte[]? _cut;

    /// <summary>1-based number of the line last returned.</summary>
    public long LineNumber { get; private set; }

    /// <summary>The length of the line last returned when it was cut (its first <c>maxLineBytes</c> bytes were returned); else 0.</summary>
    public long CutFrom { get; private set; }

    public bool TryReadLine(out ReadOnlySpan<byte> line)
    {
        CutFrom = 0;
        while (true)
        {
            var pending = _buffer.AsSpan(_start, _end - _start);
            var newline = pending.IndexOf((byte)'\n');
            if (newline >= 0)
            {
                line = TrimCarriageReturn(pending[..newline]);
                _start += newline + 1;
                LineNumber++;
                return true;
            }
            if (_endOfStream)
            {
                _start = _end;
                if (pending.IsEmpty)
                {
                    line = default;
                    return false;
                }
                line = TrimCarriageReturn(pending);
                LineNumber++;
                return true;
            }
            if (pending.Length >= maxLineBytes)
            {
                line = ReadPastLongLine();
                LineNumber++;
                return true;
            }
            Fill();
        }
    }

    /// <summary>Keeps the first bytes of the line that fills the buffer, reads to its end and answers those bytes.</summary>
    private ReadOnlySpan<byte> ReadPastLongLine()
    {
        _cut ??= new byte[maxLineBytes];
        _buffer.AsSpan(_start, maxLineBytes).CopyTo(_cut);
        long length = _end - _start;
        _start = _end = 0;
        while (true)
        {
            var read = stream.Read(_buffer, 0, _buffer.Length);
            if (read == 0)
            {
                _endOfStream = true;
                break;
            }
            var newline = _buffer.AsSpan(0, read).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                length += newline;
                _start = newline + 1;
                _end = read;
                break;
            }
            length += read;
        }
        CutFrom = length;
        return _cut;
    }

    private void Fill()
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        if (_end == _buffer.Length) Array.Resize(ref _buffer, Math.Min(_buffer.Length * 2, maxLineBytes));   // a line longer than the buffer
        var read = stream.Read(_buffer, _end, _buffer.Length - _end);
        if (read == 0) _endOfStream = true;
        _end += read;
    }

    private static ReadOnlySpan<byte> TrimCarriageReturn(ReadOnlySpan<byte> line) =>
        line.Length > 0 && line[^1] == '\r' ? line[..^1] : line;
}
