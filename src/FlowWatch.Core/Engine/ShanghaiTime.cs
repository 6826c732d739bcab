namespace FlowWatch.Core.Engine;

/// <summary>
/// Calendar days and years in Asia/Shanghai (RULES.md §1). China has kept UTC+8 without daylight saving since
/// 1991, so a fixed offset is exact for every event the engine sees and needs no time-zone database.
/// </summary>
public static class ShanghaiTime
{
    public const long OffsetTicks = 8 * TimeSpan.TicksPerHour;

    /// <summary>
    /// The latest event time (UTC ticks) the rules can work with: its Shanghai day and the 24 hours after it (a window or
    /// a silence, RULES.md §5) are still days that <see cref="DateTime"/> counts. 9999-12-30T15:59:59.9999999Z.
    /// </summary>
    public const long LatestUtcTicks = 3155378975999999999 - TimeSpan.TicksPerDay - OffsetTicks;

    /// <summary>Days since 0001-01-01 of the Shanghai calendar day holding <paramref name="utcTicks"/>.</summary>
    public static int DayNumber(long utcTicks) => (int)((utcTicks + OffsetTicks) / TimeSpan.TicksPerDay);

    public static int Year(long utcTicks) => new DateTime(utcTicks + OffsetTicks, DateTimeKind.Unspecified).Year;

    public static DateOnly Date(long utcTicks) => DateOnly.FromDayNumber(DayNumber(utcTicks));
}
