using System.Text;
using FlowWatch.Core.Decoding;

namespace FlowWatch.Core.Tests.Decoding;

/// <summary><see cref="Utf8StringPool"/>: the same bytes give the same instance, different bytes never do.</summary>
public sealed class Utf8StringPoolTests
{
    [Fact]
    public void GetOrAdd_SameBytes_SameInstance()
    {
        var pool = new Utf8StringPool();
        var first = pool.GetOrAdd("EFE0000042"u8);

        Assert.Same(first, pool.GetOrAdd(Encoding.UTF8.GetBytes("EFE0000042")));
        Assert.Equal("EFE0000042", first);
        Assert.Equal(1, pool.Count);
        Assert.Same(string.Empty, pool.GetOrAdd([]));
    }

    [Theory]
    [InlineData("ab", "abb")]
    [InlineData("aba", "aaa")]
    [InlineData("abcde", "abxde")]
    [InlineData("abcdefghijkl", "abcdefgXijkl")]
    [InlineData("0123456789abcdef", "0123456789abcdeF")]
    [InlineData("0123456789-middle-differs-ABCDEFGH", "0123456789-middle-DIFFERS-ABCDEFGH")]
    public void GetOrAdd_BytesSharingTheirEnds_StayApart(string one, string other)
    {
        var pool = new Utf8StringPool();

        Assert.Equal(one, pool.GetOrAdd(Encoding.UTF8.GetBytes(one)));
        Assert.Equal(other, pool.GetOrAdd(Encoding.UTF8.GetBytes(other)));
        Assert.Equal(one, pool.GetOrAdd(Encoding.UTF8.GetBytes(one)));
        Assert.Equal(2, pool.Count);
    }

    [Fact]
    public void GetOrAdd_ManyRandomTextsThroughGrowth_EachKeepsItsInstanceAndSymbol()
    {
        var random = new Random(5);
        var pool = new Utf8StringPool(initialSize: 16);
        var seen = new Dictionary<string, (string Value, int Symbol)>(StringComparer.Ordinal);
        for (var n = 0; n < 20_000; n++)
        {
            // Few letters and short lengths, so many texts share lengths, prefixes and suffixes.
            var text = new string([.. Enumerable.Range(0, random.Next(1, 41)).Select(_ => "ab\u00e9"[random.Next(3)])]);
            var bytes = Encoding.UTF8.GetBytes(text);
            if (n % 3 == 0) pool.Prefetch(bytes);   // a hint only: it must change nothing
            var pooled = pool.GetOrAdd(bytes, out var symbol);
            Assert.Equal(text, pooled);
            if (seen.TryGetValue(text, out var earlier))
            {
                Assert.Same(earlier.Value, pooled);
                Assert.Equal(earlier.Symbol, symbol);
            }
            else
            {
                // Symbols number the strings kept in the order they were added, from 1.
                Assert.Equal(seen.Count + 1, symbol);
                seen[text] = (pooled, symbol);
            }
        }
        Assert.Equal(seen.Count, pool.Count);
    }

    [Fact]
    public void GetOrAdd_AtCapacity_StillAnswersButKeepsNoMore()
    {
        var pool = new Utf8StringPool(capacity: 2);
        pool.GetOrAdd("one"u8);
        pool.GetOrAdd("two"u8);

        Assert.Equal("three", pool.GetOrAdd("three"u8, out var symbol));
        Assert.Equal(0, symbol);   // not kept, so no symbol
        Assert.Equal(2, pool.Count);
    }

    [Fact]
    public void Clear_KeepsNothingAndGivesSymbolsAfreshInANewGeneration()
    {
        var pool = new Utf8StringPool(capacity: 2);
        var one = pool.GetOrAdd("one"u8);
        pool.GetOrAdd("two"u8);
        Assert.True(pool.IsFull);

        pool.Clear();

        Assert.False(pool.IsFull);
        Assert.Equal(0, pool.Count);
        Assert.Equal(1, pool.Generation);
        Assert.Equal("three", pool.GetOrAdd("three"u8, out var three));
        Assert.Equal(1, three);
        var again = pool.GetOrAdd("one"u8, out var symbol);
        Assert.Equal(2, symbol);
        Assert.Equal("one", one);   // what was handed out stays valid
        Assert.NotSame(one, again);
    }
}
