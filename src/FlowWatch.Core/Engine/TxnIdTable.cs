using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace FlowWatch.Core.Engine;

/// <summary>
/// The ids the duplicate filter remembers: 96 bits of each id's XXH128 (a collision among 10^9 ids has odds
/// near 10^-11) with the Shanghai day of the event that carried it and the print of that event's content
/// (<see cref="ContentPrint"/>), 20 bytes a slot. The keys are uniform hashes,
/// so their low bits index an open-addressing table directly: one probe sequence in one array, no per-entry
/// objects. Forgotten ids are dropped by <see cref="RemoveDaysBefore"/>, a sequential rebuild into a second array
/// of the same size once per new day, so steady-state work neither allocates nor chases a removal queue.
/// </summary>
internal sealed class TxnIdTable
{
    private const int InitialSlots = 1 << 16;

    private Slot[] _slots = new Slot[InitialSlots];
    private Slot[] _spare = [];

    public int Count { get; private set; }

    /// <summary>The 96 bits of an id's XXH128 that the table keeps; <c>High</c> is never zero.</summary>
    public static (ulong Low, uint High) KeyOf(ReadOnlySpan<byte> txnIdUtf8)
    {
        var hash = XxHash128.HashToUInt128(txnIdUtf8);
        return ((ulong)hash, (uint)(hash >> 64) | 1u);   // (0, 0) marks an empty slot
    }

    /// <summary>Starts loading the slot where the id with this key would be looked for first.</summary>
    public void Prefetch(ulong low) => CacheHint.Prefetch(ref _slots[(int)low & (_slots.Length - 1)]);

    /// <summary>The slot of the id, adding the id with <paramref name="day"/> and <paramref name="print"/> when absent.</summary>
    public ref Slot GetOrAdd(ulong low, uint high, int day, uint print, out bool known)
    {
        if ((Count + 1) * 4 > _slots.Length * 3) Resize(_slots.Length * 2);
        var mask = _slots.Length - 1;
        for (var index = (int)low & mask; ; index = (index + 1) & mask)
        {
            ref var slot = ref _slots[index];
            if (slot.High == 0)
            {
                slot = new Slot { Low = low, High = high, Day = day, Print = print };
                Count++;
                known = false;
                return ref slot;
            }
            if (slot.Low == low && slot.High == high)
            {
                known = true;
                return ref slot;
            }
        }
    }

    /// <summary>Whether the id with this key is held, and the day and print stored with it.</summary>
    public bool TryGet(ulong low, uint high, out int day, out uint print)
    {
        var mask = _slots.Length - 1;
        for (var index = (int)low & mask; _slots[index].High != 0; index = (index + 1) & mask)
        {
            if (_slots[index].Low == low && _slots[index].High == high)
            {
                day = _slots[index].Day;
                print = _slots[index].Print;
                return true;
            }
        }
        day = 0;
        print = 0;
        return false;
    }

    /// <summary>Forgets every id whose day is before <paramref name="oldestKept"/>.</summary>
    public void RemoveDaysBefore(int oldestKept)
    {
        if (_spare.Length != _slots.Length) _spare = new Slot[_slots.Length];
        else Array.Clear(_spare);
        var mask = _spare.Length - 1;
        var kept = 0;
        foreach (ref readonly var slot in _slots.AsSpan())
        {
            if (slot.High == 0 || slot.Day < oldestKept) continue;
            var index = (int)slot.Low & mask;
            while (_spare[index].High != 0) index = (index + 1) & mask;
            _spare[index] = slot;
            kept++;
        }
        (_slots, _spare) = (_spare, _slots);
        Count = kept;
    }

    private void Resize(int size)
    {
        var old = _slots;
        _slots = new Slot[size];
        _spare = [];
        var mask = size - 1;
        foreach (ref readonly var slot in old.AsSpan())
        {
            if (slot.High == 0) continue;
            var index = (int)slot.Low & mask;
            while (_slots[index].High != 0) index = (index + 1) & mask;
            _slots[index] = slot;
        }
    }

    /// <summary>Packed to 4 bytes, not 8, so that the print adds 4 bytes a slot rather than 8.</summary>
    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    public struct Slot
    {
        public ulong Low;
        public uint High;
        public int Day;

        /// <summary>The print of the content of the event that carried the id; 0 when not known (an older snapshot).</summary>
        public uint Print;
    }
}
