namespace FlowWatch.Worker.Dashboard;

/// <summary>Settings of the supervisor dashboard, bound from <c>FlowWatch:Dashboard</c>.</summary>
public sealed class DashboardOptions
{
    public const string SectionName = "FlowWatch:Dashboard";
    public const string DefaultUrls = "http://127.0.0.1:8080";

    /// <summary>Serve the dashboard and its API from the worker.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Where to listen, <c>http://host:port</c>, several separated by <c>;</c>. Port 0 takes a free port.</summary>
    public string Urls { get; set; } = DefaultUrls;

    /// <summary>
    /// Bearer token every request must carry. Required when any URL is not a loopback address; with it set,
    /// loopback requests need it too.
    /// </summary>
    public string Token { get; set; } = "";

    /// <summary>
    /// How long a browser's sign-in lasts (its session cookie, which holds no token), in hours; a live stream opened in
    /// it ends with it, and the page then asks to sign in again.
    /// </summary>
    public int SessionHours { get; set; } = 12;

    /// <summary>How many of the latest committed alerts are kept in memory for the API and the live feed.</summary>
    public int RecentAlerts { get; set; } = 10_000;

    /// <summary>
    /// Show the alerts of every worker of the group, read from the alerts topic (<see cref="AlertTopicFeed"/>), rather
    /// than this worker's own, handed over at each of its commits. For a group of several workers.
    /// </summary>
    public bool AlertsFromTopic { get; set; }

    /// <summary>Live alert streams open at once, at most (pages open); one more is answered 503.</summary>
    public int MaxStreams { get; set; } = 1_000;

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        void Check(bool ok, string key, string problem)
        {
            if (!ok) errors.Add($"{SectionName}:{key}: {problem}");
        }
        var urls = Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Check(urls.Length > 0, nameof(Urls), "is required (http://host:port)");
        foreach (var url in urls)
        {
            Check(ParseUrl(url) is not null, nameof(Urls), $"'{url}' is not http://host:port (TLS ends at a proxy in front)");
        }
        // Loopback as Kestrel binds it: "localhost" or a loopback address. It listens on every address for any other
        // name, even "loopback", which Uri counts as loopback (and turns into "localhost"): the host is read as written.
        var offLoopback = urls.Where(u => ParseUrl(u) is not null && !DashboardSecurity.IsLoopbackHost(HostAsWritten(u))).ToList();
        Check(offLoopback.Count == 0 || Token.Length > 0, nameof(Token),
            $"is required to listen on {string.Join(", ", offLoopback)}, which is not a loopback address");
        if (Token.Length > 0 && TokenProblem(Token) is { } tokenProblem) Check(false, nameof(Token), tokenProblem);
        Check(SessionHours is >= 1 and <= 720, nameof(SessionHours), "must be from 1 to 720 (30 days)");
        Check(RecentAlerts is >= 100 and <= 1_000_000, nameof(RecentAlerts), "must be from 100 to 1,000,000");
        Check(MaxStreams is >= 1 and <= 100_000, nameof(MaxStreams), "must be from 1 to 100,000");
        return errors;
    }

    /// <summary>
    /// Why a token would guard the dashboard poorly, or null. A token must come the same in a bearer header as in the
    /// sign-in form: a header's value is trimmed, and its characters other than printable ASCII are refused. A token of a
    /// few characters repeated is guessed however long it is.
    /// </summary>
    private static string? TokenProblem(string token)
    {
        if (token.Length < MinTokenLength) return $"must be at least {MinTokenLength} characters";
        if (token.AsSpan().ContainsAnyExceptInRange('!', '~')) return "must hold printable ASCII characters only, no blanks";
        return token.Distinct().Count() < MinDistinctTokenCharacters
            ? $"must hold at least {MinDistinctTokenCharacters} different characters (a random string of {MinTokenLength} or more)"
            : null;
    }

    private const int MinTokenLength = 16;
    private const int MinDistinctTokenCharacters = 8;

    /// <summary>The host of a URL <see cref="ParseUrl"/> accepts, as written: its authority without the port.</summary>
    private static string HostAsWritten(string url)
    {
        var authority = url[(url.IndexOf("://", StringComparison.Ordinal) + 3)..].TrimEnd('/');
        if (authority.StartsWith('[')) return authority[..(authority.IndexOf(']', StringComparison.Ordinal) + 1)];
        var colon = authority.LastIndexOf(':');
        return colon >= 0 ? authority[..colon] : authority;
    }

    private static Uri? ParseUrl(string url) =>
        Uri.TryCreate(url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var uri)
        && uri.Scheme == Uri.UriSchemeHttp && uri.AbsolutePath == "/" && !url.Contains('?', StringComparison.Ordinal)
            ? uri
            : null;
}
