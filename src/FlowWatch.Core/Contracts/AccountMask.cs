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

    /// <summary>
    /// <paramref name="text"/> with every occurrence of <paramref name="account"/> masked, and every other word that
    /// <paramref name="isAccount"/> takes for an account number, as it stands or without a comma, semicolon, colon or
    /// full stop after it: an alert's sentence may name the counterparty's account (a sanctioned holder's) as well as its
    /// own.
    /// </summary>
    public static string Redact(string text, string account, Func<string, bool> isAccount)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(account);
        ArgumentNullException.ThrowIfNull(isAccount);
        // The alert's own account first, whole: an account number may hold a space.
        if (account.Length > 0) text = text.Replace(account, Mask(account), StringComparison.Ordinal);
        var words = text.Split(' ');
        var changed = false;
        for (var i = 0; i < words.Length; i++)
        {
            var word = words[i];
            if (!isAccount(word))
            {
                word = word.TrimEnd(WordEnds);
                if (word.Length == words[i].Length || word.Length == 0 || !isAccount(word)) continue;
            }
            words[i] = Mask(word) + words[i][word.Length..];
            changed = true;
        }
        return changed ? string.Join(' ', words) : text;
    }

    private static readonly char[] WordEnds = [',', ';', ':', '.'];
}
