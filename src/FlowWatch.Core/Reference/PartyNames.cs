using System.Globalization;
using System.Text;

namespace FlowWatch.Core.Reference;

/// <summary>Normalises party names for sanctions matching (RULES.md §2, SANCTIONED_PARTY).</summary>
public static class PartyNames
{
    /// <summary>
    /// Unicode NFKC, upper case (invariant), punctuation stripped, whitespace runs collapsed to one space, trimmed.
    /// Invisible format characters (zero-width space and joiners, soft hyphen, direction marks, tag characters) are stripped too:
    /// a name that reads the same on screen must match, or one such character inserted would pass the screening.
    /// </summary>
    public static string Normalise(string name)
    {
        var folded = name.Normalize(NormalizationForm.FormKC).ToUpperInvariant();
        var builder = new StringBuilder(folded.Length);
        var pendingSpace = false;
        // By code point, not UTF-16 unit: the tag characters (invisible) and much punctuation lie beyond U+FFFF, where
        // each half of a surrogate pair has a category of its own and would be kept.
        for (var at = 0; at < folded.Length;)
        {
            Rune.DecodeFromUtf16(folded.AsSpan(at), out var rune, out var length);
            var units = folded.AsSpan(at, length);
            at += length;
            var category = Rune.GetUnicodeCategory(rune);
            if (Rune.IsWhiteSpace(rune))
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
            builder.Append(units);
        }
        return builder.ToString();
    }

    private static bool IsPunctuation(UnicodeCategory category) => category is
        UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation
        or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
        or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;
}
