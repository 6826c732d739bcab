using System.Globalization;
using System.Text;

namespace FlowWatch.Core.Reference;

/// <summary>Normalises party names for sanctions matching (RULES.md §2, SANCTIONED_PARTY).</summary>
public static class PartyNames
{
    /// <summary>
    /// Unicode NFKC, upper case (invariant, the sharp s as SS), punctuation stripped, whitespace runs collapsed to one space, trimmed.
    /// Invisible characters are stripped too: every format character (zero-width space and joiners, soft hyphen,
    /// direction marks, tag characters) and every other default-ignorable code point (variation selectors, the
    /// combining grapheme joiner, Hangul fillers): a name that reads the same on screen must match, or one such
    /// character inserted would pass the screening.
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
            if (Rune.IsWhiteSpace(rune))
            {
                pendingSpace = builder.Length > 0;
                continue;
            }
            if (IsPunctuation(category) || category == UnicodeCategory.Format || IsDefaultIgnorable(rune.Value)) continue;
            if (pendingSpace)
            {
                builder.Append(' ');
                pendingSpace = false;
            }
            builder.Append(units);
        }
        return builder.ToString();
    }

    /// <summary>
    /// Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt) beyond the format characters: code points
    /// that a renderer shows as nothing when it does not support them, reserved ones included.
    /// </summary>
    private static bool IsDefaultIgnorable(int c) => c is 0x034F or 0x115F or 0x1160 or (>= 0x17B4 and <= 0x17B5)
        or (>= 0x180B and <= 0x180F) or 0x2065 or 0x3164 or (>= 0xFE00 and <= 0xFE0F) or 0xFFA0 or (>= 0xFFF0 and <= 0xFFF8)
        or (>= 0xE0000 and <= 0xE0FFF);

    private static bool IsPunctuation(UnicodeCategory category) => category is
        UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation
        or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
        or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;
}
