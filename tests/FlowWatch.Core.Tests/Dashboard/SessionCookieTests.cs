using FlowWatch.Worker.Dashboard;

namespace FlowWatch.Core.Tests.Dashboard;

public sealed class SessionCookieTests
{
    private const string Token = "a-token-of-at-least-16-characters";
    private static readonly DateTimeOffset SignedIn = new(2026, 11, 29, 9, 0, 0, TimeSpan.Zero);
    private readonly SessionCookie _sessions = new(Token, TimeSpan.FromHours(12));

    [Fact]
    public void Session_HoldsNoTokenAndEndsAfterItsLifetime()
    {
        var value = _sessions.Issue(SignedIn);

        Assert.DoesNotContain(Token, value, StringComparison.Ordinal);
        var end = SignedIn.AddHours(12);
        Assert.Equal(end, _sessions.ValidUntil(value, SignedIn));
        Assert.Equal(end, _sessions.ValidUntil(value, end.AddSeconds(-1)));
        Assert.Null(_sessions.ValidUntil(value, end));
        Assert.Null(_sessions.ValidUntil(value, end.AddSeconds(1)));
    }

    [Fact]
    public void Session_WithItsEndMovedOrMadeWithAnotherToken_IsRefused()
    {
        var value = _sessions.Issue(SignedIn);
        var dot = value.IndexOf('.', StringComparison.Ordinal);
        var later = (long.Parse(value[..dot], System.Globalization.CultureInfo.InvariantCulture) + 86_400).ToString(System.Globalization.CultureInfo.InvariantCulture);

        Assert.Null(_sessions.ValidUntil(later + value[dot..], SignedIn));
        Assert.Null(new SessionCookie(Token + "!", TimeSpan.FromHours(12)).ValidUntil(value, SignedIn));
        Assert.NotNull(new SessionCookie(Token, TimeSpan.FromHours(1)).ValidUntil(value, SignedIn));   // the end is in the value
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData(".")]
    [InlineData("1800000000")]
    [InlineData("1800000000.")]
    [InlineData(".abc")]
    [InlineData("-1800000000.abc")]
    [InlineData("99999999999999999999999.abc")]
    [InlineData(Token)]
    public void Session_NotOneThisTokenMade_IsRefused(string? value) => Assert.Null(_sessions.ValidUntil(value, SignedIn));
}
