using System.Net;
using System.Security.Cryptography;
using System.Text;
using FlowWatch.Core.Decoding;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FlowWatch.Worker.Dashboard;

/// <summary>
/// Every response gets secure headers (a strict CSP: the page loads only its own assets). With a token
/// configured, every request needs it, as <c>Authorization: Bearer …</c>, or the session cookie (<see cref="SessionCookie"/>,
/// valid for <see cref="DashboardOptions.SessionHours"/>) a browser receives by opening a page with <c>?access_token=…</c>
/// once: it is then sent on (303) to the same path and query without the token, so that the token stays neither in the
/// address bar nor in the history; or, with no token in any address, by signing in at <c>/signin</c>, a form posted to
/// its own origin, where a browser asking for a page without the token is sent (API requests get 401). A request
/// admitted by its session carries the session's end (<see cref="SessionEnds"/>): a live stream ends then.
/// Without a token the dashboard listens on loopback only, and answers only loopback host names, so that a web
/// page elsewhere cannot reach it by DNS rebinding. The probes <c>/healthz</c> and <c>/readyz</c> answer without the
/// token: an orchestrator's probe (a kubelet's) cannot carry a secret, and they tell only whether the worker runs and
/// consumes.
/// </summary>
public sealed class DashboardSecurity(RequestDelegate next, IOptions<DashboardOptions> options, TimeProvider clock, ILogger<DashboardSecurity> logger)
{
    public const string SessionCookieName = "flowwatch_session";
    public const string TokenQuery = "access_token";
    public const string SignInPath = "/signin";

    /// <summary>The field of the sign-in form that holds the token.</summary>
    public const string TokenField = "token";

    /// <summary>What the sign-in page needs besides itself, answered without the token: it tells nothing.</summary>
    private const string StyleSheet = "/app.css";

    private const string Policy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "base-uri 'none'; frame-ancestors 'none'; form-action ";
    private const string ContentSecurityPolicy = Policy + "'none'";
    private const string SignInContentSecurityPolicy = Policy + "'self'";

    private static readonly string SignInPage = SignInHtml("");
    private static readonly string SignInFailedPage = SignInHtml("""<p class="notice" role="alert">That token is not valid.</p>""");

    /// <summary>The paths that answer without the token.</summary>
    public static readonly IReadOnlyList<string> Probes = ["/healthz", "/readyz"];

    private readonly bool _tokenless = options.Value.Token.Length == 0;

    private readonly RefusalLog _refusals = new(logger);

    private readonly SessionCookie _sessions = new(options.Value.Token, TimeSpan.FromHours(options.Value.SessionHours));

    /// <summary>The token's SHA-256, which an offered token's is compared with: both of one length, so the time a comparison takes tells nothing of the token's length.</summary>
    private readonly byte[] _tokenHash = SHA256.HashData(Encoding.UTF8.GetBytes(options.Value.Token));

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
        if (_tokenless)
        {
            if (IsLoopbackHost(context.Request.Host.Host)) return next(context);
            if (_refusals.Admit()) DashboardLog.ForeignHost(logger, remote, UnseenCharacters.Shown(context.Request.Host.Host));
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return Task.CompletedTask;
        }
        var request = context.Request;
        var query = request.Query;
        // On every path, those answered without the token included: the token then leaves the address bar there too.
        if (query.TryGetValue(TokenQuery, out var offered) && Matches(offered.ToString()))
        {
            SetCookie(context);
            context.Response.StatusCode = StatusCodes.Status303SeeOther;
            // One leading slash: a path of "//host" would make the address protocol-relative, a redirect to another site.
            var path = new PathString("/" + (request.Path.Value ?? "").TrimStart('/', '\\'));
            headers.Location = request.PathBase.Add(path).ToUriComponent()
                + QueryString.Create(query.Where(p => !string.Equals(p.Key, TokenQuery, StringComparison.OrdinalIgnoreCase))).ToUriComponent();
            return Task.CompletedTask;
        }
        if (Probes.Contains(request.Path.Value, StringComparer.OrdinalIgnoreCase))
        {
            // The reason a worker is not ready names brokers, topics and errors: told only to a holder of the token.
            if (!HoldsTheToken(context)) context.Items[AnonymousProbeKey] = true;
            return next(context);
        }
        if (request.Path.Equals(SignInPath, StringComparison.OrdinalIgnoreCase)) return SignInAsync(context, remote);
        if (request.Path.Equals(StyleSheet, StringComparison.OrdinalIgnoreCase) && (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method))) return next(context);
        if (HoldsTheToken(context)) return next(context);
        // A browser asking for a page is sent to sign in; a wrong token in the address is refused as such.
        if (!query.ContainsKey(TokenQuery) && IsPageRequest(request))
        {
            context.Response.StatusCode = StatusCodes.Status303SeeOther;
            headers.Location = request.PathBase.Add(SignInPath).ToUriComponent();
            return Task.CompletedTask;
        }
        if (_refusals.Admit()) DashboardLog.Unauthorized(logger, request.Method, request.Path, remote);
        headers.WWWAuthenticate = "Bearer";
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        return Task.CompletedTask;
    }

    /// <summary>
    /// The sign-in form (GET) and its answer (POST): the token as form data, from a page of this dashboard's own origin
    /// only, sets the cookie and sends the browser on to the page.
    /// </summary>
    private async Task SignInAsync(HttpContext context, string? remote)
    {
        var request = context.Request;
        var response = context.Response;
        response.Headers.ContentSecurityPolicy = SignInContentSecurityPolicy;
        // Under no-referrer a browser sends "Origin: null" with the form, which tells nothing of where it came from.
        response.Headers["Referrer-Policy"] = "same-origin";
        if (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method))
        {
            await WritePageAsync(response, StatusCodes.Status200OK, SignInPage);
            return;
        }
        if (!HttpMethods.IsPost(request.Method))
        {
            response.Headers.Allow = "GET, HEAD, POST";
            response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return;
        }
        // A form another site posts here comes with its own origin (or none): that is not a sign-in.
        var origin = request.Headers.Origin.ToString();
        if (!IsOwnOrigin(request, origin))
        {
            if (_refusals.Admit()) DashboardLog.ForeignSignIn(logger, remote, origin.Length > 0 ? UnseenCharacters.Shown(origin) : "no origin (no Origin header)");
            response.StatusCode = StatusCodes.Status403Forbidden;
            return;
        }
        // One field of a few dozen characters: nothing larger is read from a client not yet signed in.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodySize) bodySize.MaxRequestBodySize = 16 * 1024;
        string? offered;
        try
        {
            offered = request.HasFormContentType ? (await request.ReadFormAsync(context.RequestAborted))[TokenField].ToString() : null;
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException)
        {
            // A form that cannot be read (a multipart body that ends early, a value past the limits, a body past 16 KiB:
            // BadHttpRequestException is an IOException) is the client's mistake, not a fault of the dashboard's.
            response.StatusCode = ex is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status400BadRequest;
            return;
        }
        if (!Matches(offered))
        {
            if (_refusals.Admit()) DashboardLog.Unauthorized(logger, request.Method, request.Path, remote);
            await WritePageAsync(response, StatusCodes.Status401Unauthorized, SignInFailedPage);
            return;
        }
        SetCookie(context);
        response.StatusCode = StatusCodes.Status303SeeOther;
        response.Headers.Location = request.PathBase.Add("/").ToUriComponent();
    }

    /// <summary>
    /// Whether the request carries the token, as a bearer token or a session it signed in to; a session's end is kept
    /// with the request (<see cref="SessionEnds"/>).
    /// </summary>
    private bool HoldsTheToken(HttpContext context)
    {
        if (Matches(BearerToken(context.Request))) return true;
        if (_sessions.ValidUntil(context.Request.Cookies[SessionCookieName], clock.GetUtcNow()) is not { } ends) return false;
        context.Items[SessionEndsKey] = ends;
        return true;
    }

    private void SetCookie(HttpContext context) =>
        context.Response.Cookies.Append(SessionCookieName, _sessions.Issue(clock.GetUtcNow()), new CookieOptions
        {
            // Lax, not Strict: a browser sent here by a link on another site (a ticket, a mail) sends the cookie with that
            // first page, as it does with the page a ?access_token link is sent on to. The dashboard changes nothing on
            // a GET, and the only POST, the sign-in, needs no cookie.
            HttpOnly = true, SameSite = SameSiteMode.Lax, Path = "/", Secure = OverHttps(context.Request), MaxAge = _sessions.Lifetime,
        });

    private const string SessionEndsKey = "FlowWatch.SessionEnds";
    private const string AnonymousProbeKey = "FlowWatch.AnonymousProbe";

    /// <summary>Whether <paramref name="context"/> is a probe without the token, where a token is configured: it is told the status only.</summary>
    public static bool IsAnonymousProbe(HttpContext context) => context.Items.ContainsKey(AnonymousProbeKey);

    /// <summary>When the session that admitted <paramref name="context"/> ends; null for a request admitted otherwise.</summary>
    public static DateTimeOffset? SessionEnds(HttpContext context) =>
        context.Items.TryGetValue(SessionEndsKey, out var ends) ? (DateTimeOffset?)ends : null;

    /// <summary>
    /// Over HTTPS, the TLS proxy's included (it says so in X-Forwarded-Proto): a header that claims it falsely only keeps
    /// the cookie off plain HTTP, or a sign-in from being taken, so it needs no trust.
    /// </summary>
    private static bool OverHttps(HttpRequest request) =>
        request.IsHttps || string.Equals(FirstForwarded(request, "X-Forwarded-Proto"), "https", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The first value of a forwarding header, what the proxy nearest the browser saw: proxies in a chain each add
    /// theirs, after a comma or on a line of their own.
    /// </summary>
    private static string FirstForwarded(HttpRequest request, string header) =>
        request.Headers[header].ToString().Split(',')[0].Trim();

    /// <summary>
    /// Whether <paramref name="origin"/> is the origin a browser gives this dashboard's pages: the proxy's host
    /// (X-Forwarded-Host) when it names one. A default port written out (<c>host:443</c>) is the same origin. A page
    /// elsewhere can set neither header on a browser's form, so neither needs trust.
    /// </summary>
    private static bool IsOwnOrigin(HttpRequest request, string origin)
    {
        var forwardedHost = FirstForwarded(request, "X-Forwarded-Host");
        var own = (OverHttps(request) ? "https://" : "http://") + (forwardedHost.Length > 0 ? forwardedHost : request.Host.Value);
        return Uri.TryCreate(origin, UriKind.Absolute, out var given) && Uri.TryCreate(own, UriKind.Absolute, out var expected)
            && given.AbsolutePath == "/" && Uri.Compare(given, expected, UriComponents.SchemeAndServer, UriFormat.UriEscaped, StringComparison.OrdinalIgnoreCase) == 0;
    }

    /// <summary>A browser's request for a page (it accepts HTML), not the API's.</summary>
    private static bool IsPageRequest(HttpRequest request) =>
        (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method))
        && !request.Path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase)
        && request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase);

    private static Task WritePageAsync(HttpResponse response, int status, string page)
    {
        response.StatusCode = status;
        response.ContentType = "text/html; charset=utf-8";
        return response.WriteAsync(page);
    }

    /// <summary>The sign-in page: no script, so the form works without one; its addresses are relative to /signin.</summary>
    private static string SignInHtml(string notice) => $$"""
        <!doctype html>
        <html lang="en">
        <head>
          <meta charset="utf-8">
          <meta name="viewport" content="width=device-width, initial-scale=1">
          <title>FlowWatch — sign in</title>
          <link rel="stylesheet" href="app.css">
          <link rel="icon" href="data:,">
        </head>
        <body>
          <header><h1>FlowWatch <span class="subtitle">cross-border flows, live</span></h1></header>
          <main>
            <form id="signin" method="post" action="signin">
              <h2>Sign in</h2>
              {{notice}}
              <label for="token">Access token</label>
              <input id="token" name="{{TokenField}}" type="password" required autocomplete="current-password" autofocus>
              <button type="submit">Sign in</button>
            </form>
          </main>
        </body>
        </html>
        """;

    private static string? BearerToken(HttpRequest request)
    {
        var value = request.Headers.Authorization.ToString();
        return value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? value["Bearer ".Length..].Trim() : null;
    }

    private bool Matches(string? offered) =>
        offered is { Length: > 0 } && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(offered)), _tokenHash);

    /// <summary>Whether <paramref name="host"/> is "localhost" or a loopback address (IPv6 in brackets or not).</summary>
    internal static bool IsLoopbackHost(string host) =>
        string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
        || IPAddress.TryParse(host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address);
}
