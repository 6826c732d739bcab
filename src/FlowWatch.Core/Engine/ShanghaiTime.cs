namespace FlowWatch.Core.Engine;

/// <summary>
/// Calendar days and years in Asia/Shanghai (RULES.md §1). China has kept UTC+8 without daylight saving since
/// 1991, so a fixed offset is exact for every event the engine sees and needs no time-zone database.
/// </summary>
public static class ShanghaiTime
{
    public const long OffsetTicks = 8 * TimeSpan.TicksPerHour;

    /// <summary>Days since 0001-01-01 of the Shanghai calendar day holding <paramref name="utcTicks"/>.</summary>
    public static int DayNumber(long utcTicks) => (int)((utcTicks + OffsetTicks) / TimeSpan.TicksPerDay);

    public static int Year(long utcTicks) => new DateTime(utcTicks + OffsetTicks, DateTimeKind.Unspecified).Year;

    public static DateOnly Date(long utcTicks) => DateOnly.FromDayNumber(DayNumber(utcTicks));
}
