using System.Diagnostics;
using System.Numerics;

namespace FlowWatch.Core.Engine;

/// <summary>
/// Room for entities' windows: segments of 4, 8, 16 … entries carved from arrays on the large object heap, which the
/// garbage collector never moves. A window that grows then costs the collector nothing to copy, where a window array
/// of its own is copied by each young collection it survives: with many entities, windows still growing were most of
/// what those collections copied. A segment a window grows out of is taken by the next window that needs one of that
/// size. Used by its shard's thread only.
/// </summary>
internal sealed class WindowPool
{
    /// <summary>Entries in a chunk: 2,048 × 48 bytes, above the 85,000 bytes from which arrays go to the large object heap.</summary>
    internal const int ChunkEntries = 2048;

    /// <summary>The smallest segment: a new window's.</summary>
    public const int MinCapacity = 4;

    /// <summary>Segments given back, by the base-2 logarithm of their size.</summary>
    private readonly Stack<(WindowEntry[] Items, int Offset)>?[] _free = new Stack<(WindowEntry[] Items, int Offset)>?[32];
    private WindowEntry[] _chunk = [];
    private int _used;

    /// <summary>A segment of <paramref name="capacity"/> entries (a power of two, at least <see cref="MinCapacity"/>): an array and where in it the segment starts.</summary>
    public (WindowEntry[] Items, int Offset) Rent(int capacity)
    {
        Debug.Assert(BitOperations.IsPow2(capacity) && capacity >= MinCapacity);
        if (_free[BitOperations.Log2((uint)capacity)] is { Count: > 0 } free) return free.Pop();
        // A segment as large as a chunk is an array of its own, on the large object heap too.
        if (capacity >= ChunkEntries) return (new WindowEntry[capacity], 0);
        if (_used + capacity > _chunk.Length)
        {
            KeepRest();
            _chunk = new WindowEntry[ChunkEntries];
            _used = 0;
        }
        var segment = (_chunk, _used);
        _used += capacity;
        return segment;
    }

    /// <summary>Takes back a segment no window uses any more (one of <see cref="Rent"/>'s, or an array of its own of that size).</summary>
    public void Return(WindowEntry[] items, int offset, int capacity) =>
        (_free[BitOperations.Log2((uint)capacity)] ??= new()).Push((items, offset));

    /// <summary>Keeps what is left of the current chunk as segments: every segment is a multiple of the smallest, and so is the rest.</summary>
    private void KeepRest()
    {
        for (var size = ChunkEntries / 2; size >= MinCapacity; size /= 2)
        {
            if (_chunk.Length - _used < size) continue;
            Return(_chunk, _used, size);
            _used += size;
        }
    }
}
