using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace FlowWatch.Core.Engine;

/// <summary>
/// Remembers accepted <c>txnId</c>s as 128-bit hashes (XXH128; a collision among 10^12 ids has odds below
/// 10^-14). With a horizon of 0 every id is kept, as RULES.md §1 reads. With a horizon of N days an id is
/// forgotten once the newest event day is more than N days past the day of the event that carried it
/// (docs/SEMANTICS.md); a repeat arriving after that is no longer recognised. Ids leave memory in arrival order,
/// so memory stays bounded and steady-state work allocates nothing; an id that is past the horizon but still held
/// (it arrived late, behind newer ones) already counts as forgotten.
/// </summary>
internal sealed class DuplicateFilter(int horizonDays)
{
    /// <summary>Every id, without a horizon.</summary>
    private readonly HashSet<UInt128> _all = new(capacity: horizonDays == 0 ? 1 << 16 : 0);

    /// <summary>With a horizon: each remembered id with the Shanghai day of the event that carried it.</summary>
    private readonly Dictionary<UInt128, int> _seen = new(capacity: horizonDays == 0 ? 0 : 1 << 16);
    private readonly Queue<(UInt128 Key, int Day)> _arrivals = new(capacity: horizonDays == 0 ? 0 : 1 << 16);
    private int _newestDay = int.MinValue;

    public int Count => _all.Count + _seen.Count;

    /// <summary>True when the id is new (and now remembered); false for a duplicate.</summary>
    public bool TryAdd(ReadOnlySpan<byte> txnIdUtf8, long timestampTicks)
    {
        var key = XxHash128.HashToUInt128(txnIdUtf8);
        if (horizonDays == 0) return _all.Add(key);
        ref var carrierDay = ref CollectionsMarshal.GetValueRefOrAddDefault(_seen, key, out var known);
        if (known && !PastHorizon(carrierDay)) return false;
        var day = ShanghaiTime.DayNumber(timestampTicks);
        carrierDay = day;
        _arrivals.Enqueue((key, day));
        if (day > _newestDay)
        {
            _newestDay = day;
            while (_arrivals.TryPeek(out var oldest) && PastHorizon(oldest.Day))
            {
                // Unless the id was accepted again since, and so carries a later arrival.
                if (_seen.TryGetValue(oldest.Key, out var current) && current == oldest.Day) _seen.Remove(oldest.Key);
                _arrivals.Dequeue();
            }
        }
        return true;
    }

    private bool PastHorizon(int day) => (long)_newestDay - day > horizonDays;
}
