using System.Globalization;
using System.Text;

namespace FlowWatch.Core.Decoding;

/// <summary>
/// Characters a screen shows as nothing or as a blank: an id holding one shows to a supervisor as another id, and a
/// name holding one must still match the name it shows as (SEMANTICS.md, Ids and Names).
/// </summary>
public static class UnseenCharacters
{
    /// <summary>
    /// Why an id (UTF-8) cannot be taken, or null. It may hold letters of any script and spaces between them, but not a
    /// control character, an invisible one (a format character such as a direction override, a zero-width space or a
    /// byte order mark; a variation selector, the combining grapheme joiner), a line or paragraph separator, a blank
    /// other than the space (a no-break or ideographic space, a Hangul filler, the blank Braille pattern), a space at
    /// either end, nor two spaces in a row: with any of them, <c>E-HQ-001</c> shows as <c>E-HQ-001</c> and is another
    /// entity.
    /// </summary>
    public static string? IdProblem(ReadOnlySpan<byte> id)
    {
        // Most ids are printable ASCII without a space: one look over them settles it.
        if (id.IndexOfAnyExceptInRange((byte)0x21, (byte)0x7E) < 0) return null;
        if (id[0] == ' ' || id[^1] == ' ') return "begins or ends with a space";
        // A screen (a browser, by default) shows two spaces as one.
        if (id.IndexOf("  "u8) >= 0) return "holds two spaces in a row";
        if (id.IndexOfAnyExceptInRange((byte)0x20, (byte)0x7E) < 0) return null;
        for (var rest = id; !rest.IsEmpty;)
        {
            Rune.DecodeFromUtf8(rest, out var rune, out var consumed);
            if (IsUnseen(rune))
            {
                return string.Create(CultureInfo.InvariantCulture, $"holds an invisible or control character (U+{rune.Value:X4})");
            }
            if (IsBlank(rune) && rune.Value != ' ')
            {
                return string.Create(CultureInfo.InvariantCulture, $"holds a blank character other than the space (U+{rune.Value:X4})");
            }
            rest = rest[consumed..];
        }
        return null;
    }

    /// <summary>
    /// <paramref name="text"/> as a screen or a log may show it: every control, invisible, line or paragraph separator
    /// character written as its code (<c>\u202E</c>), so that input quoted in an alert's sentence or a log line cannot
    /// turn the text after it around (a direction override), break the line, or hide. A backslash is written twice, so
    /// that a text holding the six characters <c>\u202E</c> does not read as one holding U+202E.
    /// </summary>
    public static string Shown(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!text.AsSpan().ContainsAnyExceptInRange(' ', '~') && !text.Contains('\\', StringComparison.Ordinal)) return text;
        var shown = new StringBuilder(text.Length + 16);
        Span<char> units = stackalloc char[2];
        foreach (var rune in text.EnumerateRunes())
        {
            if (IsUnseen(rune))
            {
                if (rune.IsBmp) shown.Append(CultureInfo.InvariantCulture, $"\\u{rune.Value:X4}");
                else shown.Append(CultureInfo.InvariantCulture, $"\\U{rune.Value:X8}");
            }
            else if (rune.Value == '\\')
            {
                shown.Append(@"\\");
            }
            else
            {
                shown.Append(units[..rune.EncodeToUtf16(units)]);
            }
        }
        return shown.ToString();
    }

    /// <summary>Invisible, a control character, or a line or paragraph separator: what neither an id nor a quoted text may show.</summary>
    private static bool IsUnseen(Rune rune) =>
        IsInvisible(rune) || Rune.GetUnicodeCategory(rune) is UnicodeCategory.Control or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;

    /// <summary>
    /// Shown as nothing: format characters and Unicode's other default-ignorable code points (DerivedCoreProperties.txt)
    /// but the fillers, which show as a blank (<see cref="IsBlank"/>).
    /// </summary>
    public static bool IsInvisible(Rune rune) =>
        Rune.GetUnicodeCategory(rune) == UnicodeCategory.Format
        || rune.Value is 0x034F or (>= 0x17B4 and <= 0x17B5) or (>= 0x180B and <= 0x180F) or 0x2065 or (>= 0xFE00 and <= 0xFE0F)
            or (>= 0xFFF0 and <= 0xFFF8) or (>= 0xE0000 and <= 0xE0FFF);

    /// <summary>
    /// Shown as a blank (or a break): white space, the Hangul fillers (default-ignorable, but fonts draw them as a
    /// blank) and the blank Braille pattern.
    /// </summary>
    public static bool IsBlank(Rune rune) => Rune.IsWhiteSpace(rune) || rune.Value is 0x115F or 0x1160 or 0x3164 or 0xFFA0 or 0x2800;
}
