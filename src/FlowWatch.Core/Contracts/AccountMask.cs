namespace FlowWatch.Core.Contracts;

/// <summary>Account numbers as logs and consoles may show them: the kind prefix and the last four characters.</summary>
public static class AccountMask
{
    private const int Prefix = 3;
    private const int Suffix = 4;

    public static string Mask(string account) =>
        account.Length <= Prefix + Suffix
            ? account[..Math.Min(Prefix, account.Length)] + "****"
            : account[..Prefix] + new string('*', account.Length - Prefix - Suffix) + account[^Suffix..];

    /// <summary><paramref name="text"/> with every occurrence of <paramref name="account"/> masked.</summary>
    public static string Redact(string text, string account) =>
        account.Length == 0 ? text : text.Replace(account, Mask(account), StringComparison.Ordinal);
}
