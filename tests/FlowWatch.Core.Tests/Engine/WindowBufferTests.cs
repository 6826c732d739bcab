using FlowWatch.Core.Contracts;
using FlowWatch.Core.Engine;

namespace FlowWatch.Core.Tests.Engine;

public sealed class WindowBufferTests
{
    [Fact]
    public void UpperBound_FromAnyEnd_FindsTheFirstLaterEntryAsALinearScanWould()
    {
        var random = new Random(5);
        for (var round = 0; round < 200; round++)
        {
            var window = new WindowBuffer();
            var ts = 0L;
            var count = random.Next(0, 300);
            for (var i = 0; i < count; i++)
            {
                ts += random.Next(0, 4);   // ties included
                window.Append(new WindowEntry(ts, Direction.In, 1m, 0, false, 1m, null, 0));
            }
            for (var probe = 0; probe < 50; probe++)
            {
                var at = random.Next(-2, (int)ts + 3);
                var end = random.Next(0, count + 1);
                var expected = 0;
                while (expected < end && window[expected].Ts <= at) expected++;

                Assert.Equal(expected, window.UpperBound(at, end));
                Assert.Equal(Enumerable.Range(0, count).FirstOrDefault(i => window[i].Ts > at, count), window.UpperBound(at));
            }
        }
    }
}
