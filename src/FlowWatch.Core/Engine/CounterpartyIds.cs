using System.Runtime.InteropServices;

namespace FlowWatch.Core.Engine;

/// <summary>
/// Numbers for the counterparty accounts in one shard's windows, so that window entries and counterparty sets hold
/// numbers instead of strings. Every event writes an entry into a long-lived window array: a string reference there
/// marks a card that the next gen0 collection must scan, which set the tail of alert latency (docs/PERFORMANCE.md); a
/// number does not. Each number counts the window entries that hold it and is given back with the last of them, so the
/// table holds only the counterparties still in some window. One account has one number while it has entries.
/// </summary>
internal sealed class CounterpartyIds
{
    private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);
    private readonly Stack<int> _free = new();

    /// <summary>Accounts by number; 0 is no counterparty.</summary>
    private string?[] _accounts = new string?[64];

    /// <summary>How many window entries hold each number.</summary>
    private int[] _holders = new int[64];

    /// <summary>
    /// The number last handed out for each string-pool symbol (<see cref="Decoding.Utf8StringPool"/>): a decoded event
    /// finds its counterparty's number here without hashing the account, once it is checked to still name that account.
    /// </summary>
    private int[] _bySymbol = new int[64];

    private int _next = 1;

    /// <summary>Counterparties with a number.</summary>
    public int Count => _ids.Count;

    /// <summary>The number of <paramref name="account"/>, for one more window entry that holds it.</summary>
    public int Hold(string account)
    {
        ref var id = ref CollectionsMarshal.GetValueRefOrAddDefault(_ids, account, out var exists);
        if (!exists)
        {
            id = _free.Count > 0 ? _free.Pop() : _next++;
            if (id == _accounts.Length)
            {
                Array.Resize(ref _accounts, id * 2);
                Array.Resize(ref _holders, id * 2);
            }
            _accounts[id] = account;
        }
        _holders[id]++;
        return id;
    }

    /// <summary>
    /// As <see cref="Hold(string)"/>, for an account the string pool gave <paramref name="symbol"/> (0: none). The pool
    /// hands out one instance per symbol, so the number remembered for the symbol is the account's while the account
    /// it names is that very instance.
    /// </summary>
    public int Hold(string account, int symbol)
    {
        if (symbol <= 0) return Hold(account);
        if (symbol < _bySymbol.Length && _bySymbol[symbol] is var known and not 0 && ReferenceEquals(_accounts[known], account))
        {
            _holders[known]++;
            return known;
        }
        var id = Hold(account);
        // The pool's instance from now on, so that the check above holds even if the account was first held by a
        // state restored from a snapshot (an equal string, not the same instance).
        _accounts[id] = account;
        if (symbol >= _bySymbol.Length) Array.Resize(ref _bySymbol, Math.Max(symbol + 1, _bySymbol.Length * 2));
        _bySymbol[symbol] = id;
        return id;
    }

    /// <summary>A window entry holding <paramref name="id"/> is gone; with the last one the number is given back.</summary>
    public void Release(int id)
    {
        if (--_holders[id] > 0) return;
        _ids.Remove(_accounts[id]!);
        _accounts[id] = null;
        _free.Push(id);
    }

    public string AccountOf(int id) => _accounts[id] ?? throw new InvalidOperationException($"counterparty number {id} is not held");
}
