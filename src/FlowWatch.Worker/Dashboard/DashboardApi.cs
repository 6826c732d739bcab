using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Text.Json.Serialization;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Engine;
using FlowWatch.Worker.Kafka;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Hosting;

namespace FlowWatch.Worker.Dashboard;

/// <summary>A page of alerts, newest first; <see cref="LastEventId"/> is where a live stream opened next carries on.</summary>
public sealed record AlertPage(long LastEventId, IReadOnlyList<FeedEntry> Alerts);

/// <summary>An entity as of the worker's last commit, with its latest alerts.</summary>
public sealed record EntityResponse(EntityView Entity, IReadOnlyList<FeedEntry> RecentAlerts);

/// <summary>The JSON API of the dashboard (README, "Dashboard").</summary>
public static class DashboardApi
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1_000;
    private const int RecentAlertsPerEntity = 20;
    private static readonly TimeSpan EntityTimeout = TimeSpan.FromSeconds(5);

    public static IEndpointRouteBuilder MapDashboardApi(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/api");
        // A parameter given twice would reach a handler as its values joined by commas (id=A&id=B as "A,B").
        api.AddEndpointFilter(async (context, next) =>
        {
            foreach (var (name, values) in context.HttpContext.Request.Query)
            {
                if (values.Count > 1) return TypedResults.Problem($"{name} must be given once, not {values.Count} times", statusCode: StatusCodes.Status400BadRequest);
            }
            return await next(context);
        });
        api.MapGet("/alerts", Alerts).Takes("limit", "severity", "rule", "entity");
        api.MapGet("/alerts/stream", Stream).Takes("after");
        api.MapGet("/entities/{id}", Entity).Takes();
        api.MapGet("/entities", EntityOfQuery).Takes("id");
        api.MapGet("/stats", (LiveStats stats) => TypedResults.Ok(stats.Current)).Takes();
        // Every rule the engine raises, so that a page can filter by a rule none of the alerts it holds has.
        api.MapGet("/rules", () => TypedResults.Ok(RuleCodes.InOrder)).Takes();
        return endpoints;
    }

    /// <summary>
    /// Refuses a query parameter the endpoint does not take: a misspelt filter (<c>entityId=</c> for <c>entity=</c>) would
    /// otherwise be passed over and every alert shown as if filtered. Names are matched in any letter case, as ASP.NET
    /// binds them; <c>access_token</c> belongs to the sign-in (README, Security) and is passed over here.
    /// </summary>
    private static RouteHandlerBuilder Takes(this RouteHandlerBuilder endpoint, params string[] parameters) => endpoint.AddEndpointFilter(async (context, next) =>
    {
        foreach (var name in context.HttpContext.Request.Query.Keys)
        {
            if (parameters.Contains(name, StringComparer.OrdinalIgnoreCase) || name.Equals(DashboardSecurity.TokenQuery, StringComparison.OrdinalIgnoreCase)) continue;
            var takes = parameters.Length == 0 ? "it takes none" : $"it takes {string.Join(", ", parameters)}";
            return TypedResults.Problem($"{name} is not a parameter of {context.HttpContext.Request.Path} ({takes})", statusCode: StatusCodes.Status400BadRequest);
        }
        return await next(context);
    });

    // Query values are taken as text and read here: one ASP.NET could not bind would get a 400 that says nothing.
    private static Results<Ok<AlertPage>, ProblemHttpResult> Alerts(AlertFeed feed, string? limit, string? severity, string? rule, string? entity)
    {
        var take = DefaultLimit;
        if (limit is not null && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out take) || take is < 1 or > MaxLimit))
        {
            return TypedResults.Problem($"limit must be a whole number from 1 to {MaxLimit}", statusCode: StatusCodes.Status400BadRequest);
        }
        var severities = new HashSet<Severity>();
        // An empty value filters nothing; an empty one in a list (I,,II) is a mistake, as any other code that is none.
        foreach (var code in string.IsNullOrWhiteSpace(severity) ? [] : severity.Split(',', StringSplitOptions.TrimEntries))
        {
            Severity? parsed = code switch { "I" => Severity.I, "II" => Severity.II, "III" => Severity.III, _ => null };
            if (parsed is null) return TypedResults.Problem("severity must be I, II or III (several separated by commas)", statusCode: StatusCodes.Status400BadRequest);
            severities.Add(parsed.Value);
        }
        // A code written otherwise (fan_in) matches nothing, which would show as "no such alerts" rather than as the mistake
        // it is. A code this build does not raise may still be another worker's (a newer version's, on the alerts topic).
        if (!string.IsNullOrEmpty(rule) && !rule.All(c => char.IsAsciiLetterUpper(c) || char.IsAsciiDigit(c) || c == '_'))
        {
            return TypedResults.Problem($"rule must be a rule code as alerts carry it, in capitals (such as {RuleCodes.FanIn})", statusCode: StatusCodes.Status400BadRequest);
        }
        var (page, lastEventId) = feed.Latest(take, a =>
            (severities.Count == 0 || severities.Contains(a.Severity))
            && (string.IsNullOrEmpty(rule) || a.Rule == rule)
            && (string.IsNullOrEmpty(entity) || a.EntityId == entity));
        return TypedResults.Ok(new AlertPage(lastEventId, page));
    }

    /// <summary>
    /// Alerts as Server-Sent Events, each with its feed id. A reconnecting browser sends <c>Last-Event-ID</c> and
    /// gets what it missed while still held; <c>?after=</c> does the same for a first connection. Without either,
    /// only alerts committed from now on. When some of what the reader missed is no longer held (it fell behind the
    /// ring, or its id is from an earlier process), a <c>gap</c> event says so before the alerts still held. Each
    /// commit's alerts go out in one write, not one per alert. The stream ends when the application stops, which
    /// would otherwise wait for every open page until its shutdown timeout, and when the browser's sign-in session ends,
    /// so that the page must sign in again to go on. At most <see cref="DashboardOptions.MaxStreams"/>
    /// are open at once; one more is answered 503.
    /// </summary>
    private static async Task Stream(HttpContext context, AlertFeed feed, LiveStreams streams, IHostApplicationLifetime lifetime, TimeProvider clock, string? after)
    {
        var lastEventId = context.Request.Headers["Last-Event-ID"].ToString();
        long from;
        if (lastEventId.Length > 0)
        {
            if (!long.TryParse(lastEventId, NumberStyles.None, CultureInfo.InvariantCulture, out from))
            {
                await TypedResults.Problem("Last-Event-ID must be an alert id of this feed", statusCode: StatusCodes.Status400BadRequest).ExecuteAsync(context);
                return;
            }
        }
        else if (after is null)
        {
            from = feed.LastId;
        }
        else if (!long.TryParse(after, NumberStyles.None, CultureInfo.InvariantCulture, out from))
        {
            await TypedResults.Problem("after must be an alert id of this feed (a whole number, 0 or more)", statusCode: StatusCodes.Status400BadRequest).ExecuteAsync(context);
            return;
        }
        if (!streams.TryOpen())
        {
            context.Response.Headers.RetryAfter = "10";
            await TypedResults.Problem("as many live streams are open as MaxStreams allows; try again later", statusCode: StatusCodes.Status503ServiceUnavailable)
                .ExecuteAsync(context);
            return;
        }
        try
        {
            await Follow(context, feed, lifetime, clock, from);
        }
        finally
        {
            streams.Close();
        }
    }

    private static async Task Follow(HttpContext context, AlertFeed feed, IHostApplicationLifetime lifetime, TimeProvider clock, long from)
    {
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
        if (DashboardSecurity.SessionEnds(context) is { } sessionEnds)
        {
            var left = sessionEnds - clock.GetUtcNow();
            stopping.CancelAfter(left > TimeSpan.Zero ? left : TimeSpan.Zero);
        }
        context.Response.ContentType = "text/event-stream";
        context.Features.GetRequiredFeature<IHttpResponseBodyFeature>().DisableBuffering();
        var body = context.Response.BodyWriter;
        body.Write("retry: 1000\n\n"u8);
        do
        {
            var (entries, missed, more) = feed.After(from);
            if (missed) body.Write("event: gap\ndata: {}\n\n"u8);
            var unflushed = 0L;
            foreach (var entry in entries)
            {
                body.Write("id: "u8);
                entry.Id.TryFormat(body.GetSpan(20), out var written, default, CultureInfo.InvariantCulture);
                body.Advance(written);
                body.Write("\ndata: "u8);
                body.Write(entry.Alert.Json);
                body.Write("\n\n"u8);
                from = entry.Id;
                // A reader catching up on the whole feed is sent it in parts, each once the one before has gone out:
                // written in one piece, a reader that does not read would hold all of it in this process.
                unflushed += entry.Alert.Json.Length + 32;
                if (unflushed < FlushEvery) continue;
                unflushed = 0;
                if (!await Flushed(body, stopping.Token)) return;
            }
            if (!await Flushed(body, stopping.Token)) return;
            if (!await Wait(more, stopping.Token)) return;
        }
        while (true);
    }

    private const int FlushEvery = 64 * 1024;

    /// <summary>
    /// False when the client went away, the application stops or the session ended: a client that stops reading leaves
    /// a flush waiting, and that wait must end with the rest.
    /// </summary>
    private static async Task<bool> Flushed(PipeWriter body, CancellationToken stopping)
    {
        try
        {
            var flushed = await body.FlushAsync(stopping);
            return !flushed.IsCompleted && !flushed.IsCanceled;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>False when the client went away, the application stops or the session ended.</summary>
    private static async Task<bool> Wait(Task more, CancellationToken cancellation)
    {
        try
        {
            await more.WaitAsync(cancellation);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>
    /// The entity named by <c>?id=</c>: any id, where one in the path cannot hold a <c>/</c> (it stays escaped) nor be
    /// <c>.</c> or <c>..</c> (a browser resolves those away before it asks).
    /// </summary>
    private static async Task<Results<Ok<EntityResponse>, ProblemHttpResult>> EntityOfQuery(string? id, StreamingWorker worker, AlertFeed feed,
        CancellationToken cancellation) =>
        string.IsNullOrEmpty(id)
            ? TypedResults.Problem("id must name an entity: /api/entities?id=ID", statusCode: StatusCodes.Status400BadRequest)
            : await Entity(id, worker, feed, cancellation);

    private static async Task<Results<Ok<EntityResponse>, ProblemHttpResult>> Entity(string id, StreamingWorker worker, AlertFeed feed, CancellationToken cancellation)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        timeout.CancelAfter(EntityTimeout);
        EntityView? view;
        try
        {
            view = await worker.DescribeAsync(id, timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
        {
            return TypedResults.Problem("the worker did not answer in time; it may be restarting", statusCode: StatusCodes.Status503ServiceUnavailable);
        }
        return view is null
            ? TypedResults.Problem($"entity '{id}' has no state in this worker's partitions", statusCode: StatusCodes.Status404NotFound)
            : TypedResults.Ok(new EntityResponse(view, feed.Latest(RecentAlertsPerEntity, a => a.EntityId == id).Entries));
    }
}

/// <summary>Source-generated JSON of the dashboard API, with the wire contracts' conventions.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UseStringEnumConverter = true)]
[JsonSerializable(typeof(AlertPage))]
[JsonSerializable(typeof(EntityResponse))]
[JsonSerializable(typeof(StatsSnapshot))]
[JsonSerializable(typeof(IReadOnlyList<string>))]
internal sealed partial class DashboardJsonContext : JsonSerializerContext;
