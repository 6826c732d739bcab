using FlowWatch.Core.Aggregates;

namespace FlowWatch.Core.Tests.Engine;

public sealed class RowHashTests
{
    /// <summary>Every string of up to three chars over an alphabet with the extreme chars gets its own word.</summary>
    [Fact]
    public void Code_ShortCodes_DistinctWordsForDistinctCodes()
    {
        char[] alphabet = ['\0', 'A', 'Z', 'a', '\u00C9', '\uFFFF'];
        var codes = new List<string> { "" };
        for (var length = 1; length <= 3; length++)
        {
            codes.AddRange(codes.Where(c => c.Length == length - 1).SelectMany(c => alphabet.Select(a => c + a)).ToList());
        }

        Assert.Equal(1 + 6 + 36 + 216, codes.Count);
        Assert.Equal(codes.Count, codes.Select(RowHash.Code).Distinct().Count());
    }

    [Fact]
    public void Code_LongerStrings_SameWordForEqualStrings()
    {
        Assert.Equal(RowHash.Code("EURO"), RowHash.Code(new string("EURO".AsSpan())));
        Assert.NotEqual(RowHash.Code("EURO"), RowHash.Code("EUROS"));
    }

    /// <summary>
    /// Keys that differ only in the high bits of a word (as minutes differ in their ticks) spread over the low bits
    /// that pick an index slot about as random hashes would (79% of 4,096 keys in distinct slots of 8,192).
    /// </summary>
    [Theory]
    [InlineData(29)]
    [InlineData(40)]
    [InlineData(52)]
    public void Finish_KeysDifferingInHighBits_SpreadOverTheLowBits(int shift)
    {
        var slots = Enumerable.Range(0, 4096)
            .Select(i => RowHash.Finish(RowHash.Add(RowHash.Add(42, (ulong)i << shift), RowHash.Code("CNY"))) & 8191)
            .Distinct().Count();

        Assert.InRange(slots, 3_000, 4_096);
    }
}
