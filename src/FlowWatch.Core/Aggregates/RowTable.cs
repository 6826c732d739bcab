using System.Numerics;

namespace FlowWatch.Core.Aggregates;

/// <summary>
/// Sums by key for one batch of aggregate rows, in insertion order. Nearly every accepted event opens a row (a new
/// minute of its entity), so this is on the engine's hot path: keys and sums live in two arrays in the order they
/// were added, and an open-addressing index of (hash, position) pairs finds a key while touching only the index
/// unless the hash matches. Clearing keeps the arrays, so a steady stream of batches allocates nothing here.
/// </summary>
internal sealed class RowTable<TKey, TSums>
    where TKey : IEquatable<TKey>
    where TSums : struct
{
    private TKey[] _keys = new TKey[1024];
    private TSums[] _sums = new TSums[1024];
    private Slot[] _index = new Slot[2048];

    public int Count { get; private set; }

    public ref readonly TKey KeyAt(int position) => ref _keys[position];

    public ref readonly TSums SumsAt(int position) => ref _sums[position];

    /// <summary>The sums of <paramref name="key"/>, added as zero when the key is new.</summary>
    public ref TSums GetOrAdd(in TKey key)
    {
        var hash = key.GetHashCode();
        var mask = _index.Length - 1;
        var i = hash & mask;
        for (; _index[i].Position != 0; i = (i + 1) & mask)
        {
            if (_index[i].Hash == hash && _keys[_index[i].Position - 1].Equals(key)) return ref _sums[_index[i].Position - 1];
        }
        if (Count == _keys.Length)
        {
            Array.Resize(ref _keys, Count * 2);
            Array.Resize(ref _sums, Count * 2);
        }
        _keys[Count] = key;
        _sums[Count] = default;
        _index[i] = new Slot { Hash = hash, Position = ++Count };
        if (Count * 2 > _index.Length) Reindex();
        return ref _sums[Count - 1];
    }

    public void Clear()
    {
        Array.Clear(_keys, 0, Count);   // releases the strings the keys hold
        Array.Clear(_index);
        Count = 0;
    }

    private void Reindex()
    {
        var old = _index;
        _index = new Slot[(int)BitOperations.RoundUpToPowerOf2((uint)old.Length * 2)];
        var mask = _index.Length - 1;
        foreach (var slot in old)
        {
            if (slot.Position == 0) continue;
            var i = slot.Hash & mask;
            while (_index[i].Position != 0) i = (i + 1) & mask;
            _index[i] = slot;
        }
    }

    /// <summary>A key's hash and its position in the arrays plus one (0: an empty slot).</summary>
    private struct Slot
    {
        public int Hash;
        public int Position;
    }
}
