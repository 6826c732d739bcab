namespace FlowWatch.Core.Engine;

/// <summary>
/// An entity's own history in a few numbers (DESIGN.md §4), updated in O(1) without allocating: exponentially
/// weighted mean and variance of the log of its CNY-equivalent amounts, and of its event count per clock hour.
/// Until <c>memory</c> samples are seen the weights are 1/n (a plain average), then 1/memory.
/// </summary>
internal struct Baseline
{
    public const long NoHour = long.MinValue;

    public double LogAmountMean;
    public double LogAmountVariance;
    public int AmountSamples;

    /// <summary>The clock hour (UTC ticks / ticks per hour) being counted, and its count so far.</summary>
    public long Hour;
    public int HourCount;
    public double HourlyMean;
    public double HourlySquareMean;
    public int Hours;

    public static Baseline Empty => new() { Hour = NoHour };

    /// <summary>Standard deviation of log-amounts, floored so that a very regular entity is not flagged for noise.</summary>
    public readonly double LogAmountDeviation(double floor) => Math.Max(Math.Sqrt(Math.Max(LogAmountVariance, 0)), floor);

    /// <summary>How many deviations <paramref name="logAmount"/> lies above the entity's mean.</summary>
    public readonly double AmountScore(double logAmount, double floor) => (logAmount - LogAmountMean) / LogAmountDeviation(floor);

    /// <summary>
    /// Spread of the hourly count: its variance plus its mean (the Poisson spread of a count with that mean) plus
    /// one, so that quiet entities get a spread of at least one event.
    /// </summary>
    public readonly double HourlySpread => Math.Sqrt(Math.Max(HourlySquareMean - HourlyMean * HourlyMean, 0) + HourlyMean + 1);

    /// <summary>How many spreads an hourly count of <paramref name="count"/> lies above the entity's mean.</summary>
    public readonly double HourlyScore(int count) => (count - HourlyMean) / HourlySpread;

    /// <summary>Adds a log-amount, clipped to <paramref name="clip"/> deviations so one outlier cannot move the baseline far.</summary>
    public void ObserveAmount(double logAmount, int memory, double floor, double clip)
    {
        if (AmountSamples > 0)
        {
            var deviation = LogAmountDeviation(floor) * clip;
            logAmount = Math.Clamp(logAmount, LogAmountMean - deviation, LogAmountMean + deviation);
        }
        if (AmountSamples < memory) AmountSamples++;
        var weight = 1.0 / AmountSamples;
        var delta = logAmount - LogAmountMean;
        LogAmountMean += weight * delta;
        LogAmountVariance = (1 - weight) * (LogAmountVariance + weight * delta * delta);
    }

    /// <summary>Counts an event in its clock hour; when the hour moves on, folds the finished hour and any empty ones in between.</summary>
    public void ObserveHour(long hour, int memory)
    {
        if (Hour == NoHour)
        {
            Hour = hour;
        }
        else if (hour > Hour)
        {
            FoldHour(HourCount, memory);
            var empty = hour - Hour - 1;
            // Empty hours while the weights are still 1/n are folded one by one (at most `memory` of them in an
            // entity's life); after that the whole run of zeros decays the means at once.
            while (empty > 0 && Hours < memory)
            {
                FoldHour(0, memory);
                empty--;
            }
            if (empty > 0)
            {
                var decay = Math.Pow(1 - 1.0 / memory, empty);
                HourlyMean *= decay;
                HourlySquareMean *= decay;
            }
            Hour = hour;
            HourCount = 0;
        }
        // An event out of order by less than the lateness bound counts in the current hour.
        HourCount++;
    }

    private void FoldHour(int count, int memory)
    {
        if (Hours < memory) Hours++;
        var weight = 1.0 / Hours;
        HourlyMean += weight * (count - HourlyMean);
        HourlySquareMean += weight * ((double)count * count - HourlySquareMean);
    }
}
