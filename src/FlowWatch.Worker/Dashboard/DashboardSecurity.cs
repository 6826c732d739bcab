using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FlowWatch.Worker.Dashboard;

/// <summary>
/// Every response gets secure headers (a strict CSP: the page loads only its own assets). With a token
/// configured, every request needs it, as <c>Authorization: Bearer …</c> or as the cookie a browser receives by
/// opening a page with <c>?access_token=…</c> once: it is then sent on (303) to the same path and query without the
/// token, so that the token stays neither in the address bar nor in the history.
/// Without a token the dashboard listens on loopback only, and answers only loopback host names, so that a web
/// page elsewhere cannot reach it by DNS rebinding. The probes <c>/healthz</c> and <c>/readyz</c> answer without the
/// token: an orchestrator's probe (a kubelet's) cannot carry a secret, and they tell only whether the worker runs and
/// consumes.
/// </summary>
public sealed class DashboardSecurity(RequestDelegate next, IOptions<DashboardOptions> options, ILogger<DashboardSecurity> logger)
{
    public const string TokenCookie = "flowwatch_token";
    public const string TokenQuery = "access_token";

    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    /// <summary>The paths that answer without the token.</summary>
    public static readonly IReadOnlyList<string> Probes = ["/healthz", "/readyz"];

    private readonly byte[] _token = Encoding.UTF8.GetBytes(options.Value.Token);

    public Task InvokeAsync(HttpContext context)
    {
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        headers["Cross-Origin-Resource-Policy"] = "same-origin";
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()";
        headers.CacheControl = "no-store";

        var remote = context.Connection.RemoteIpAddress?.ToString();
        if (_token.Length == 0)
        {
            if (IsLoopbackHost(context.Request.Host.Host)) return next(context);
            DashboardLog.ForeignHost(logger, remote, context.Request.Host.Host);
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return Task.CompletedTask;
        }
        if (Probes.Contains(context.Request.Path.Value, StringComparer.OrdinalIgnoreCase)) return next(context);
        var query = context.Request.Query;
        if (query.TryGetValue(TokenQuery, out var offered) && Matches(offered.ToString()))
        {
            context.Response.Cookies.Append(TokenCookie, options.Value.Token, new CookieOptions
            {
                // Secure over HTTPS, the TLS proxy's included (it says so in X-Forwarded-Proto): a header that claims
                // it falsely only keeps the cookie off plain HTTP, so it needs no trust.
                HttpOnly = true, SameSite = SameSiteMode.Strict, Path = "/",
                Secure = context.Request.IsHttps || string.Equals(context.Request.Headers["X-Forwarded-Proto"], "https", StringComparison.OrdinalIgnoreCase),
            });
            context.Response.StatusCode = StatusCodes.Status303SeeOther;
            headers.Location = context.Request.PathBase.Add(context.Request.Path).ToUriComponent()
                + QueryString.Create(query.Where(p => !string.Equals(p.Key, TokenQuery, StringComparison.OrdinalIgnoreCase))).ToUriComponent();
            return Task.CompletedTask;
        }
        if (Matches(BearerToken(context.Request)) || Matches(context.Request.Cookies[TokenCookie])) return next(context);
        DashboardLog.Unauthorized(logger, context.Request.Method, context.Request.Path, remote);
        headers.WWWAuthenticate = "Bearer";
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        return Task.CompletedTask;
    }

    private static string? BearerToken(HttpRequest request)
    {
        var value = request.Headers.Authorization.ToString();
        return value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? value["Bearer ".Length..].Trim() : null;
    }

    private bool Matches(string? offered) =>
        offered is { Length: > 0 } && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(offered), _token);

    /// <summary>Whether <paramref name="host"/> is "localhost" or a loopback address (IPv6 in brackets or not).</summary>
    internal static bool IsLoopbackHost(string host) =>
        string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
        || IPAddress.TryParse(host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address);
}
