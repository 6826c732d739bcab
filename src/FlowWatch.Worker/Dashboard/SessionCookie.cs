using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace FlowWatch.Worker.Dashboard;

/// <summary>
/// The value of the cookie a browser gets when it signs in: proof that the token was given, until an expiry, without the
/// token itself. It is the expiry (Unix seconds) and an HMAC-SHA256 of it keyed by a hash of the token, so only a holder of
/// the token can make one, a copy taken from a browser lapses at its expiry, and a new token ends every session.
/// </summary>
internal sealed class SessionCookie(string token, TimeSpan lifetime)
{
    private readonly byte[] _key = SHA256.HashData(Encoding.UTF8.GetBytes("FlowWatch dashboard session\n" + token));

    /// <summary>How long a session lasts from its sign-in.</summary>
    public TimeSpan Lifetime => lifetime;

    /// <summary>A session that starts at <paramref name="now"/>.</summary>
    public string Issue(DateTimeOffset now)
    {
        var expires = (now + lifetime).ToUnixTimeSeconds();
        return string.Create(CultureInfo.InvariantCulture, $"{expires}.{Sign(expires)}");
    }

    /// <summary>When the session of <paramref name="value"/> ends, if it is one this token made and it has not ended by <paramref name="now"/>; else null.</summary>
    public DateTimeOffset? ValidUntil(string? value, DateTimeOffset now)
    {
        var dot = value?.IndexOf('.', StringComparison.Ordinal) ?? -1;
        if (dot <= 0 || !long.TryParse(value.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out var expires)) return null;
        // Compared in fixed time: how long a wrong signature takes to refuse tells nothing of the right one.
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(value![(dot + 1)..]), Encoding.ASCII.GetBytes(Sign(expires)))) return null;
        return expires > now.ToUnixTimeSeconds() ? DateTimeOffset.FromUnixTimeSeconds(expires) : null;
    }

    private string Sign(long expires) =>
        Base64Url.EncodeToString(HMACSHA256.HashData(_key, Encoding.ASCII.GetBytes(expires.ToString(CultureInfo.InvariantCulture))));
}
