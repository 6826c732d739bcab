namespace FlowWatch.Core.Contracts;

/// <summary>Account kinds of RULES.md §1. <see cref="None"/> means "not given".</summary>
public enum AccountKind : byte
{
    None = 0,
    FTE, FTN, FTU, FTI, FTF,
    EFE, EFN, EFF, EFU,
    NRA, OSA,
    OFFSHORE, DOMESTIC,
}

/// <summary>The class of an account kind, which decides the channel of a payment (RULES.md §1).</summary>
public enum AccountClass : byte
{
    Zone,
    NonResident,
    Offshore,
    Domestic,
}

public static class AccountKinds
{
    /// <summary>Number of values of <see cref="AccountKind"/>, for tables indexed by kind.</summary>
    public const int Count = (int)AccountKind.DOMESTIC + 1;

    public static AccountClass ClassOf(AccountKind kind) => kind switch
    {
        AccountKind.FTE or AccountKind.FTN or AccountKind.FTU or AccountKind.FTI or AccountKind.FTF
            or AccountKind.EFE or AccountKind.EFN or AccountKind.EFF or AccountKind.EFU => AccountClass.Zone,
        AccountKind.NRA or AccountKind.OSA => AccountClass.NonResident,
        AccountKind.OFFSHORE => AccountClass.Offshore,
        AccountKind.DOMESTIC => AccountClass.Domestic,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "account kind not resolved"),
    };

    /// <summary>Customer type when the entity is not in reference data (RULES.md §1).</summary>
    public static CustomerType DefaultCustomerType(AccountKind kind) => kind switch
    {
        AccountKind.FTI or AccountKind.FTF or AccountKind.EFF => CustomerType.Individual,
        AccountKind.FTU or AccountKind.EFU => CustomerType.FinancialInstitution,
        _ => CustomerType.Corporate,
    };

    /// <summary>Parses a kind name (exact, upper case) from UTF-8.</summary>
    public static bool TryParse(ReadOnlySpan<byte> utf8, out AccountKind kind)
    {
        kind = AccountKind.None;
        if (utf8.Length == 3)
        {
            kind = FromPrefix(utf8);
            return kind != AccountKind.None;
        }
        if (utf8.SequenceEqual("OFFSHORE"u8)) { kind = AccountKind.OFFSHORE; return true; }
        if (utf8.SequenceEqual("DOMESTIC"u8)) { kind = AccountKind.DOMESTIC; return true; }
        return false;
    }

    public static bool TryParse(string text, out AccountKind kind)
    {
        Span<byte> buffer = stackalloc byte[16];
        if (text.Length > buffer.Length) { kind = AccountKind.None; return false; }
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] > 127) { kind = AccountKind.None; return false; }
            buffer[i] = (byte)text[i];
        }
        return TryParse(buffer[..text.Length], out kind);
    }

    /// <summary>The kind a 3-letter account prefix names, or <see cref="AccountKind.None"/>.</summary>
    public static AccountKind FromAccountPrefix(string account)
    {
        if (account.Length < 3) return AccountKind.None;
        Span<byte> prefix = [(byte)account[0], (byte)account[1], (byte)account[2]];
        return account[0] > 127 || account[1] > 127 || account[2] > 127 ? AccountKind.None : FromPrefix(prefix);
    }

    private static AccountKind FromPrefix(ReadOnlySpan<byte> p) => (p[0], p[1], p[2]) switch
    {
        ((byte)'F', (byte)'T', (byte)'E') => AccountKind.FTE,
        ((byte)'F', (byte)'T', (byte)'N') => AccountKind.FTN,
        ((byte)'F', (byte)'T', (byte)'U') => AccountKind.FTU,
        ((byte)'F', (byte)'T', (byte)'I') => AccountKind.FTI,
        ((byte)'F', (byte)'T', (byte)'F') => AccountKind.FTF,
        ((byte)'E', (byte)'F', (byte)'E') => AccountKind.EFE,
        ((byte)'E', (byte)'F', (byte)'N') => AccountKind.EFN,
        ((byte)'E', (byte)'F', (byte)'F') => AccountKind.EFF,
        ((byte)'E', (byte)'F', (byte)'U') => AccountKind.EFU,
        ((byte)'N', (byte)'R', (byte)'A') => AccountKind.NRA,
        ((byte)'O', (byte)'S', (byte)'A') => AccountKind.OSA,
        _ => AccountKind.None,
    };
}
