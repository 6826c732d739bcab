using System.Buffers;
using System.Text.Json;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Serialization;

namespace FlowWatch.Worker.Replay;

/// <summary>Writes alerts or dead letters as JSON Lines to a file, one object per line; owns the file.</summary>
public sealed class JsonLinesWriter : IDisposable
{
    private readonly FileStream _file;
    private readonly ArrayBufferWriter<byte> _buffer = new(4096);
    private readonly Utf8JsonWriter _json;

    public JsonLinesWriter(FileStream file)
    {
        _file = file;
        _json = new Utf8JsonWriter(_buffer, FlowWatchJsonContext.LineWriterOptions);
    }

    public long Lines { get; private set; }

    public void Write(Alert alert)
    {
        FlowWatchJsonContext.Write(_json, alert);
        EndLine();
    }

    public void Write(DeadLetter deadLetter)
    {
        FlowWatchJsonContext.Write(_json, deadLetter);
        EndLine();
    }

    private void EndLine()
    {
        _json.Flush();
        _file.Write(_buffer.WrittenSpan);
        _file.WriteByte((byte)'\n');
        _buffer.ResetWrittenCount();
        _json.Reset(_buffer);
        Lines++;
    }

    public void Dispose()
    {
        _json.Dispose();
        _file.Dispose();
    }
}
