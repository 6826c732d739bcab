using System.Globalization;
using System.Text;
using FlowWatch.Core.Decoding;

namespace FlowWatch.Core.Reference;

/// <summary>Normalises party names for sanctions matching (RULES.md §2, SANCTIONED_PARTY).</summary>
public static class PartyNames
{
    /// <summary>
    /// Unicode NFKC, upper case (invariant, the sharp s as SS), punctuation stripped, runs of blanks collapsed to one space, trimmed.
    /// Invisible characters are stripped too: every format character (zero-width space and joiners, soft hyphen,
    /// direction marks, tag characters) and every other default-ignorable code point (variation selectors, the
    /// combining grapheme joiner); the characters fonts draw as a blank (Hangul fillers, the blank Braille pattern)
    /// count as spaces. A name that reads the same on screen must match, or one such character inserted would pass
    /// the screening.
    /// </summary>
    public static string Normalise(string name)
    {
        // The invariant upper case maps one character to one: the sharp s, whose upper case is SS (Unicode's full
        // mapping), stays as it is, and "Straße" would not match a list's "STRASSE". NFKC has split the ligatures
        // (ﬀ, ﬁ, ﬆ), the other characters whose upper case is longer that names hold.
        var folded = name.Normalize(NormalizationForm.FormKC).ToUpperInvariant().Replace("ß", "SS", StringComparison.Ordinal)
            .Replace("ẞ", "SS", StringComparison.Ordinal);
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
            if (UnseenCharacters.IsBlank(rune))
            {
                pendingSpace = builder.Length > 0;
                continue;
            }
            if (IsPunctuation(category) || UnseenCharacters.IsInvisible(rune)) continue;
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
