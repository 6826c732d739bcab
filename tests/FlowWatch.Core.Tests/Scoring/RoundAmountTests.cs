using FlowWatch.Core.Scoring;

namespace FlowWatch.Core.Tests.Scoring;

public sealed class RoundAmountTests
{
    [Theory]
    [InlineData("20000", 1f)]
    [InlineData("20000.00", 1f)]
    [InlineData("1230000.0000", 1f)]
    [InlineData("3000", 0.5f)]
    [InlineData("3000.10", 0f)]
    [InlineData("12345.67", 0f)]
    [InlineData("999", 0f)]
    [InlineData("0.0001", 0f)]
    [InlineData("100000000000000000000", 1f)]   // beyond 64 bits of mantissa
    public void Of_Amount_FlagsMultiplesOfTenAndOneThousand(string amount, float expected) =>
        Assert.Equal(expected, RoundAmount.Of(decimal.Parse(amount, System.Globalization.CultureInfo.InvariantCulture)));

    [Fact]
    public void Of_RandomAmounts_AgreesWithDecimalRemainders()
    {
        var random = new Random(3);
        for (var i = 0; i < 100_000; i++)
        {
            var amount = new decimal(random.Next(), random.Next(4), 0, false, (byte)random.Next(0, 6));
            var expected = amount % 10_000m == 0 ? 1 : amount % 1_000m == 0 ? 0.5f : 0;
            Assert.Equal(expected, RoundAmount.Of(amount));
        }
    }
}
