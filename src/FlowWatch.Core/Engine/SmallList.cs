namespace FlowWatch.Core.Engine;

/// <summary>
/// A short list of structs held inside its owner: an array made at the first item, and a count. Saves an event the
/// wait for a list object before its items; used through its owner's field, never copied.
/// </summary>
internal struct SmallList<T>
    where T : struct
{
    private T[]? _items;

    public int Count { readonly get; private set; }

    public readonly Span<T> AsSpan() => _items.AsSpan(0, Count);

    /// <summary>Whether an item matches <paramref name="match"/>.</summary>
    public readonly bool Exists(Predicate<T> match)
    {
        foreach (var item in AsSpan())
        {
            if (match(item)) return true;
        }
        return false;
    }

    /// <summary>Appends <paramref name="item"/> and answers where it is held (until the next append).</summary>
    public ref T Add(T item)
    {
        if (_items is null) _items = new T[4];
        else if (Count == _items.Length) Array.Resize(ref _items, Count * 2);
        _items[Count] = item;
        return ref _items[Count++];
    }

    /// <summary>Keeps the first <paramref name="count"/> items.</summary>
    public void Truncate(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, Count);
        Count = count;
    }
}
