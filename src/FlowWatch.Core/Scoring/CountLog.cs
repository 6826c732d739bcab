namespace FlowWatch.Core.Scoring;

/// <summary>
/// Natural logarithms of counts as the features take them, <see cref="MathF.Log(float)"/> of the count as a float,
/// read from a table for the small counts most events have (events in the last minute, hour or day, counterparties).
/// </summary>
public static class CountLog
{
    /// <summary>MathF.Log of 0 to 1,023, computed by the same function, so the table gives the very same floats.</summary>
    private static readonly float[] Small = [.. Enumerable.Range(0, 1024).Select(count => MathF.Log(count))];

    public static float Of(long count) => (ulong)count < (ulong)Small.Length ? Small[count] : MathF.Log(count);
}
