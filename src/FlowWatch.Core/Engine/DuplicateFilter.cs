using System.IO.Hashing;

namespace FlowWatch.Core.Engine;

/// <summary>
/// Remembers accepted <c>txnId</c>s as 128-bit hashes (XXH128; a collision among 10^12 ids has odds below
/// 10^-14). With a horizon of 0 every id is kept, as RULES.md §1 reads. With a horizon of N days, ids leave in
/// arrival order once the newest event day is more than N days past theirs, so memory stays bounded and
/// steady-state work allocates nothing; a repeat arriving after that is no longer recognised.
/// </summary>
internal sealed class DuplicateFilter(int horizonDays)
{
    private readonly HashSet<UInt128> _seen = new(capacity: 1 << 16);
    private readonly Queue<(UInt128 Key, int Day)> _arrivals = new(capacity: 1 << 16);
    private int _newestDay = int.MinValue;

    public int Count => _seen.Count;

    /// <summary>True when the id is new (and now remembered); false for a duplicate.</summary>
    public bool TryAdd(ReadOnlySpan<byte> txnIdUtf8, long timestampTicks)
    {
        var key = XxHash128.HashToUInt128(txnIdUtf8);
        if (!_seen.Add(key)) return false;
        if (horizonDays == 0) return true;
        var day = ShanghaiTime.DayNumber(timestampTicks);
        _arrivals.Enqueue((key, day));
        if (day > _newestDay)
        {
            _newestDay = day;
            while (_arrivals.TryPeek(out var oldest) && oldest.Day < _newestDay - horizonDays)
            {
                _seen.Remove(oldest.Key);
                _arrivals.Dequeue();
            }
        }
        return true;
    }
}
