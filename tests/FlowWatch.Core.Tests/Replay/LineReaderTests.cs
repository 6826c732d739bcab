using System.Text;
using FlowWatch.Worker.Replay;

namespace FlowWatch.Core.Tests.Replay;

public sealed class LineReaderTests
{
    private static List<(string Line, long CutFrom, long Number)> ReadAll(Stream stream, int maxLineBytes, int initialBufferSize)
    {
        var reader = new LineReader(stream, maxLineBytes, initialBufferSize);
        var lines = new List<(string, long, long)>();
        while (reader.TryReadLine(out var line)) lines.Add((Encoding.UTF8.GetString(line), reader.CutFrom, reader.LineNumber));
        return lines;
    }

    /// <summary>Just below, at and just above the most a line may hold, between lines that fit, with and without a last newline.</summary>
    [Theory]
    [InlineData(15, "\n")]
    [InlineData(16, "\n")]
    [InlineData(17, "\n")]
    [InlineData(100, "\n")]
    [InlineData(17, "")]
    public void TryReadLine_AroundTheMostALineMayHold_CutsOnlyLinesOfThatLengthOrMore(int length, string end)
    {
        var text = "ab\n" + new string('x', length) + "\ncd" + end;

        var lines = ReadAll(new MemoryStream(Encoding.UTF8.GetBytes(text)), maxLineBytes: 16, initialBufferSize: 4);

        Assert.Equal(("ab", 0L, 1L), lines[0]);
        Assert.Equal((new string('x', Math.Min(length, 16)), length >= 16 ? length : 0L, 2L), lines[1]);
        Assert.Equal(("cd", 0L, 3L), lines[2]);
        Assert.Equal(3, lines.Count);
    }

    [Fact]
    public void TryReadLine_LastLineTooLongWithoutNewline_IsCutAndCounted()
    {
        var lines = ReadAll(new MemoryStream(Encoding.UTF8.GetBytes("ab\n" + new string('y', 50))), maxLineBytes: 16, initialBufferSize: 4);

        Assert.Equal([("ab", 0L, 1L), (new string('y', 16), 50L, 2L)], lines);
    }

    /// <summary>Random lines read through a stream that hands out a few bytes at a time, against a plain split.</summary>
    [Fact]
    public void TryReadLine_RandomLinesInSmallReads_MatchAPlainSplit()
    {
        var random = new Random(7);
        for (var round = 0; round < 300; round++)
        {
            var max = random.Next(1, 40);
            var expected = Enumerable.Range(0, random.Next(1, 30)).Select(_ => new string((char)('a' + random.Next(26)), random.Next(0, 90))).ToList();
            var text = string.Join("\n", expected) + (random.Next(2) == 0 ? "\n" : "");
            var naive = text.Split('\n').ToList();
            if (naive[^1].Length == 0) naive.RemoveAt(naive.Count - 1);

            var lines = ReadAll(new TrickleStream(Encoding.UTF8.GetBytes(text), random.Next(1, 12)), max, random.Next(1, 64));

            Assert.Equal(naive.Select((line, i) => (line.Length >= max ? line[..max] : line, line.Length >= max ? (long)line.Length : 0L, i + 1L)), lines);
        }
    }

    /// <summary>A stream that answers each read with at most a few bytes, as pipes and network files may.</summary>
    private sealed class TrickleStream(byte[] bytes, int most) : MemoryStream(bytes)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, most));
    }
}
