using FlowWatch.Core.Reference;

namespace FlowWatch.Core.Engine;

/// <summary>
/// What one engine has looked up about the strings its decoder pools, in a slot per pooled string's symbol (see
/// <see cref="Decoding.Utf8StringPool"/>): an account's reference record, its entity's reference record and state, and
/// whether a counterparty name is sanctioned. An event then costs an array index per field where it would cost a
/// dictionary lookup of the string. Everything is forgotten when the reference data or an entity's state is replaced.
/// </summary>
internal sealed class ReferenceMemo
{
    private Slot[] _slots = new Slot[1024];
    private ReferenceData? _reference;

    /// <summary>
    /// Starts afresh unless the slots were filled from the same accounts, entities and sanctions list as
    /// <paramref name="reference"/> holds: a control record's new parameters share them, and keep what was looked up.
    /// </summary>
    public void Use(ReferenceData reference)
    {
        if (ReferenceEquals(reference, _reference)) return;
        if (_reference is null || !ReferenceEquals(reference.Accounts, _reference.Accounts)
            || !ReferenceEquals(reference.Entities, _reference.Entities) || !ReferenceEquals(reference.SanctionedNames, _reference.SanctionedNames))
        {
            Forget();
        }
        _reference = reference;
    }

    public void Forget() => Array.Clear(_slots);

    /// <summary>The state kept under an account's symbol, if it is the state of <paramref name="entityId"/>.</summary>
    public EntityState? StateOf(int accountSymbol, string entityId)
    {
        if (accountSymbol == 0) return null;
        ref var slot = ref this[accountSymbol];
        return string.Equals(slot.EntityId, entityId, StringComparison.Ordinal) ? slot.State : null;
    }

    /// <summary>Keeps <paramref name="state"/> under an account's symbol when the account's events resolve to its entity.</summary>
    public void Keep(int accountSymbol, EntityState state)
    {
        if (accountSymbol == 0) return;
        ref var slot = ref this[accountSymbol];
        // Stored only when it changes: a reference stored into this long-lived array on every event would cost a write
        // barrier each time, and mark a card for the collector while the state is young.
        if (!ReferenceEquals(slot.State, state) && string.Equals(slot.EntityId, state.EntityId, StringComparison.Ordinal)) slot.State = state;
    }

    /// <summary>The slot of a symbol (not 0), growing the slots to hold it.</summary>
    public ref Slot this[int symbol]
    {
        get
        {
            if (symbol >= _slots.Length) Array.Resize(ref _slots, (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)symbol + 1));
            return ref _slots[symbol];
        }
    }

    /// <summary>What is known of one pooled string, as an account and as a counterparty name.</summary>
    internal struct Slot
    {
        /// <summary><see cref="Account"/> has been looked up (it may be null: not in the reference data).</summary>
        public bool AccountKnown;
        public AccountInfo? Account;

        /// <summary>The entity an event of this account was last resolved to; <see cref="Holder"/> and <see cref="State"/> are its.</summary>
        public string? EntityId;
        public EntityInfo? Holder;
        public EntityState? State;

        /// <summary>As a counterparty name: 0 not looked up, 1 not sanctioned, 2 sanctioned.</summary>
        public byte NameSanctioned;
    }
}
