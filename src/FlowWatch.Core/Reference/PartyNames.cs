using System.Globalization;
using System.Text;

namespace FlowWatch.Core.Reference;

/// <summary>Normalises party names for sanctions matching (RULES.md §2, SANCTIONED_PARTY).</summary>
public static class PartyNames
{
    /// <summary>
    /// Unicode NFKC, upper case (invariant), punctuation stripped, whitespace runs collapsed to one space, trimmed.
    /// Invisible format characters (zero-width space and joiners, soft hyphen, direction marks) are stripped too:
    /// a name that reads the same on screen must match, or one such character inserted would pass the screening.
    /// </summary>
    public static string Normalise(string name)
    {
        var folded = name.Normalize(NormalizationForm.FormKC).ToUpperInvariant();
        var builder = new StringBuilder(folded.Length);
        var pendingSpace = false;
        foreach (var c in folded)
        {
            var category = char.GetUnicodeCategory(c);
            if (char.IsWhiteSpace(c))
            {
                pendingSpace = builder.Length > 0;
                continue;
            }
            if (IsPunctuation(category) || category == UnicodeCategory.Format) continue;
            if (pendingSpace)
            {
                builder.Append(' ');
                pendingSpace = false;
            }
            builder.Append(c);
        }
        return builder.ToString();
    }

    private static bool IsPunctuation(UnicodeCategory category) => category is
        UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation
        or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
        or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;
}
