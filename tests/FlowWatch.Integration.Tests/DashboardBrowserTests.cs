using Microsoft.Playwright;

namespace FlowWatch.Integration.Tests;

/// <summary>Debian's chromium, headless, driven by Playwright, and one worker with its dashboard for the browser tests.</summary>
public class BrowserFixture : IAsyncLifetime
{
    public const string Chromium = "/usr/bin/chromium";

    private IPlaywright? _playwright;

    internal DashboardHarness Harness { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    /// <summary>The dashboard's settings on top of the harness's.</summary>
    protected virtual IReadOnlyDictionary<string, string?>? Settings => null;

    public async Task InitializeAsync()
    {
        // A missing browser is a failure, never a skip: ./test.sh installs it (apt-get install chromium).
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: install Debian's chromium package (./test.sh does)");
        Harness = await DashboardHarness.StartAsync(Settings);
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = Chromium, Headless = true });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.DisposeAsync();
        _playwright?.Dispose();
        if (Harness is not null) await Harness.DisposeAsync();
    }
}

/// <summary>The page at / in a real browser: it loads, follows the live feed, filters, and opens an entity.</summary>
public sealed class DashboardBrowserTests(BrowserFixture fixture) : IClassFixture<BrowserFixture>, IAsyncLifetime
{
    private IBrowserContext _context = null!;
    private IPage _page = null!;
    private readonly List<string> _consoleErrors = [];

    private DashboardHarness Harness => fixture.Harness;

    public async Task InitializeAsync()
    {
        _context = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 900 } });
        _page = await _context.NewPageAsync();
        _page.Console += (_, message) =>
        {
            if (message.Type == "error") _consoleErrors.Add(message.Text);
        };
        await _page.GotoAsync(Harness.BaseAddress.ToString());
        // Live once the stream is open and the stats came back.
        await Assertions.Expect(_page.Locator("#stat-status")).ToHaveTextAsync("live", new LocatorAssertionsToHaveTextOptions { Timeout = 10_000 });
    }

    public async Task DisposeAsync() => await _context.DisposeAsync();

    [Fact]
    public async Task Page_Opened_ShowsTheFeedFiltersAndSystemPanelWithoutErrors()
    {
        Assert.Contains("FlowWatch", await _page.TitleAsync(), StringComparison.Ordinal);
        await Assertions.Expect(_page.GetByTestId("feed")).ToBeVisibleAsync();
        await Assertions.Expect(_page.Locator("#filters input[name=severity]")).ToHaveCountAsync(3);
        // Every rule can be filtered by, also one no alert on the page has (a sanctions hit).
        await Assertions.Expect(_page.Locator("#filter-rule option")).ToHaveCountAsync(FlowWatch.Core.Engine.RuleCodes.InOrder.Count + 1);
        await Assertions.Expect(_page.Locator("#stat-uptime")).Not.ToHaveTextAsync("–");
        foreach (var count in new[] { "#stat-reused", "#stat-conflicts", "#stat-split" })
        {
            await Assertions.Expect(_page.Locator(count)).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^[0-9,]+$"));
        }
        foreach (var severity in new[] { "I", "II", "III" })
        {
            await Assertions.Expect(_page.Locator("#stat-total-" + severity)).ToHaveTextAsync(new System.Text.RegularExpressions.Regex($"^{severity}: [0-9,]+$"));
        }
        Assert.Empty(_consoleErrors);   // among others, nothing the CSP refused
    }

    [Fact]
    public async Task SeverityColours_AgainstTheirBackgrounds_ReadAtWcagAaContrast()
    {
        // Each severity as a badge (white on the colour), a filter toggle (the colour on the panel) and a rate in the
        // header (on the dark header): WCAG 2's AA minimum for text is 4.5:1.
        var ratios = await _page.EvaluateAsync<Dictionary<string, double>>("""
            () => {
              const rgba = (text) => text.match(/[\d.]+/g).map(Number);
              const luminance = ([r, g, b]) => [r, g, b].map((c) => c / 255)
                .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4))
                .reduce((sum, c, i) => sum + c * [0.2126, 0.7152, 0.0722][i], 0);
              const background = (node) => {
                for (; node; node = node.parentElement) {
                  const colour = rgba(getComputedStyle(node).backgroundColor);
                  if (colour.length < 4 || colour[3] > 0) return colour;
                }
                return [255, 255, 255];
              };
              const contrast = (node) => {
                const [a, b] = [luminance(rgba(getComputedStyle(node).color)), luminance(background(node))];
                return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
              };
              const badges = ['I', 'II', 'III'].map((severity) => {
                const badge = document.createElement('span');
                badge.className = `badge sev-${severity}`;
                badge.textContent = severity;
                document.querySelector('#feed tbody').append(badge);
                return badge;
              });
              const texts = [...badges, ...document.querySelectorAll('.sev-toggle'), ...document.querySelectorAll('header .sev')];
              return Object.fromEntries(texts.map((node) => [`${node.closest('header') ? 'header ' : ''}${node.className}`, contrast(node)]));
            }
            """);

        Assert.Equal(9, ratios.Count);
        Assert.All(ratios, ratio => Assert.True(ratio.Value >= 4.5, $"{ratio.Key}: {ratio.Value:F2}:1"));
    }

    [Fact]
    public async Task Alert_ProducedOnThePaymentsTopic_AppearsInTheFeedWithinTwoSeconds()
    {
        var entity = Harness.NewEntity("B");
        var row = _page.Locator($"#feed tbody tr[data-entity='{entity}']");

        Harness.Produce(DashboardHarness.Sanctioned(entity, entity + "-1"));

        await Assertions.Expect(row).ToBeVisibleAsync(new LocatorAssertionsToBeVisibleOptions { Timeout = 2_000 });
        await Assertions.Expect(row).ToHaveAttributeAsync("data-severity", "III");
        await Assertions.Expect(row).ToContainTextAsync("SANCTIONED_PARTY");
        await Assertions.Expect(row).ToContainTextAsync("1,000 CNY");
        await Assertions.Expect(row).ToContainTextAsync("Northern Star Shipping");
    }

    /// <summary>
    /// New alerts are told to screen readers in one sentence by severity, most severe first (at most every 10 s, so that
    /// hundreds a second do not drown them), and the table says what it lists.
    /// </summary>
    [Fact]
    public async Task Alert_New_IsAnnouncedToScreenReadersBySeverity()
    {
        var entity = Harness.NewEntity("R");

        Harness.Produce(DashboardHarness.Sanctioned(entity, entity + "-1"));

        await Assertions.Expect(_page.GetByTestId("feed-announcer")).ToHaveTextAsync(
            new System.Text.RegularExpressions.Regex(@"^[1-9]\d* new alerts?: [1-9]\d* of severity III(, [1-9]\d* of severity II)?(, [1-9]\d* of severity I)?\.$"),
            new LocatorAssertionsToHaveTextOptions { Timeout = 12_000 });
        await Assertions.Expect(_page.GetByTestId("feed-announcer")).ToHaveAttributeAsync("aria-live", "polite");
        await Assertions.Expect(_page.Locator("#feed caption")).ToHaveTextAsync("Alerts, newest first; times in Shanghai");
    }

    [Fact]
    public async Task Alert_OfAnAmountBeyondADoublesDigits_ShowsItExactly()
    {
        var entity = Harness.NewEntity("X");
        var row = _page.Locator($"#feed tbody tr[data-entity='{entity}'][data-rule='SANCTIONED_PARTY']");

        Harness.Produce(DashboardHarness.Sanctioned(entity, entity + "-1", amount: "98765432109876.54"));

        // As a double it would read …876.55.
        await Assertions.Expect(row).ToContainTextAsync("98,765,432,109,876.54 CNY", new LocatorAssertionsToContainTextOptions { Timeout = 5_000 });
    }

    [Fact]
    public async Task Feed_ThatMissedAlertsNoLongerHeld_ReloadsTheListAndSaysSo()
    {
        var page = await _context.NewPageAsync();
        // The first load answers as if this page had last seen alert 1, of a worker process before this one.
        var first = true;
        await page.RouteAsync("**/api/alerts?limit=*", async route =>
        {
            if (!first)
            {
                await route.ContinueAsync();
                return;
            }
            first = false;
            var response = await route.FetchAsync();
            var body = System.Text.Json.Nodes.JsonNode.Parse(await response.TextAsync())!;
            body["lastEventId"] = 1;
            await route.FulfillAsync(new RouteFulfillOptions { Response = response, Body = body.ToJsonString() });
        });

        await page.GotoAsync(Harness.BaseAddress.ToString());

        await Assertions.Expect(page.GetByTestId("feed-notice")).ToContainTextAsync("the list was reloaded");
        await Assertions.Expect(page.Locator("#stat-status")).ToHaveTextAsync("live");
        Assert.False(first);
    }

    [Fact]
    public async Task Feed_StreamAnsweredWithAnError_TriedAgainUntilLiveAndFollowsNewAlerts()
    {
        var page = await _context.NewPageAsync();
        // As a proxy answers while the worker restarts: a browser closes an event stream for good on such an answer.
        var refused = 0;
        await page.RouteAsync("**/api/alerts/stream*", async route =>
        {
            if (Interlocked.Increment(ref refused) <= 2) await route.FulfillAsync(new RouteFulfillOptions { Status = 503, Body = "restarting" });
            else await route.ContinueAsync();
        });

        await page.GotoAsync(Harness.BaseAddress.ToString());

        await Assertions.Expect(page.Locator("#stat-status")).ToHaveTextAsync("live", new LocatorAssertionsToHaveTextOptions { Timeout = 15_000 });
        Assert.Equal(3, Volatile.Read(ref refused));
        var entity = Harness.NewEntity("R");
        Harness.Produce(DashboardHarness.Sanctioned(entity, entity + "-1"));
        await Assertions.Expect(page.Locator($"#feed tbody tr[data-entity='{entity}']")).ToHaveCountAsync(1, new LocatorAssertionsToHaveCountOptions { Timeout = 5_000 });
    }

    [Fact]
    public async Task Feed_OfAHiddenPage_HoldsNoMoreAlertsThanItCanShowAndShowsTheLatestWhenSeenAgain()
    {
        // A hidden page gets no animation frames: held here until the test lets them run.
        var page = await _context.NewPageAsync();
        await page.AddInitScriptAsync("window.heldFrames = []; window.requestAnimationFrame = (callback) => window.heldFrames.push(callback);");
        await page.GotoAsync(Harness.BaseAddress.ToString());
        await Assertions.Expect(page.Locator("#stat-status")).ToHaveTextAsync("live", new LocatorAssertionsToHaveTextOptions { Timeout = 10_000 });
        var entity = Harness.NewEntity("H");
        const int alerts = 501 + 100;

        Harness.Produce([.. Enumerable.Range(1, alerts).Select(i => DashboardHarness.Sanctioned(entity, $"{entity}-{i}"))]);

        await page.WaitForFunctionAsync($"() => state.pending.some((entry) => entry.alert.txnId === '{entity}-{alerts}')",
            null, new PageWaitForFunctionOptions { Timeout = 30_000, PollingInterval = 100 });   // polling by frames would wait for ever
        Assert.Equal(500, await page.EvaluateAsync<int>("state.pending.length"));
        await page.EvaluateAsync("window.heldFrames.splice(0).forEach((callback) => callback(performance.now()))");
        await Assertions.Expect(page.Locator($"#feed tbody tr[data-entity='{entity}']")).ToHaveCountAsync(500);
        Assert.Equal($"{entity}-{alerts}", await page.EvaluateAsync<string>("state.alerts[0].alert.txnId"));
    }

    [Fact]
    public async Task EntityView_ByKeyboard_TakesTheFocusWhenOpenedAndGivesItBackWhenClosed()
    {
        var entity = Harness.NewEntity("K");
        Harness.Produce(DashboardHarness.Sanctioned(entity, entity + "-1"));
        var link = _page.Locator($"#feed tbody tr[data-entity='{entity}'] button[data-entity]");
        await Assertions.Expect(link).ToBeVisibleAsync(new LocatorAssertionsToBeVisibleOptions { Timeout = 5_000 });

        await link.FocusAsync();
        await _page.Keyboard.PressAsync("Enter");

        // The view follows the whole list in the page: the focus goes to it rather than staying in the list.
        await Assertions.Expect(_page.GetByTestId("entity")).ToBeVisibleAsync();
        await Assertions.Expect(_page.Locator("#entity-title")).ToBeFocusedAsync();
        await _page.Keyboard.PressAsync("Tab");
        await Assertions.Expect(_page.Locator("#entity-close")).ToBeFocusedAsync();
        await _page.Keyboard.PressAsync("Escape");
        await Assertions.Expect(_page.GetByTestId("entity")).ToBeHiddenAsync();
        await Assertions.Expect(link).ToBeFocusedAsync();
    }

    [Theory]
    [InlineData("2026-12-31T15:59:59Z", "2026-12-31 23:59:59")]
    [InlineData("2026-12-31T16:00:00Z", "2027-01-01 00:00:00")]
    [InlineData("2026-03-02T09:15:02+08:00", "2026-03-02 09:15:02")]
    public async Task Alert_Time_ShownInShanghaiWithItsYear(string ts, string shown)
    {
        var id = "time-" + Guid.NewGuid().ToString("N");
        await _page.EvaluateAsync("""
            ([id, ts]) => receive({ id: 2_000_000, alert: { alertId: id, rule: 'HIGH_FREQUENCY', severity: 'II', entityId: id,
              ts, message: 'time', metrics: {}, refs: [] } })
            """, new[] { id, ts });

        await Assertions.Expect(_page.Locator($"#feed tbody tr[data-entity='{id}'] td.time")).ToHaveTextAsync(shown);
    }

    [Fact]
    public async Task Filter_MatchingAlertOlderThanTheLatest500_ShownFromTheWorkerAndLiveMatchesAdded()
    {
        var entity = Harness.NewEntity("O");
        var rows = _page.Locator($"#feed tbody tr[data-entity='{entity}']");
        var count = _page.Locator("#feed-count");
        Harness.Produce(DashboardHarness.Sanctioned(entity, entity + "-1"));
        await Assertions.Expect(rows).ToHaveCountAsync(1, new LocatorAssertionsToHaveCountOptions { Timeout = 5_000 });
        // 500 newer alerts of another entity: the page no longer holds the first, the worker still does.
        var other = Harness.NewEntity("N");
        Harness.Produce([.. Enumerable.Range(1, 500).Select(i => DashboardHarness.HighRisk(other, $"{other}-{i}"))]);
        await _page.WaitForFunctionAsync($"() => state.alerts.some((entry) => entry.alert.txnId === '{other}-500')",
            null, new PageWaitForFunctionOptions { Timeout = 30_000, PollingInterval = 100 });
        await Assertions.Expect(rows).ToHaveCountAsync(0);
        var asked = new List<string>();
        _page.Request += (_, request) =>
        {
            if (request.Url.Contains("/api/alerts?", StringComparison.Ordinal) && request.Url.Contains("entity=", StringComparison.Ordinal)) asked.Add(request.Url);
        };

        // One input event per character typed, all before the page's 300 ms pause can pass: typed through the
        // browser's protocol instead, a loaded machine can leave a longer gap between two keys and the page rightly asks twice.
        await _page.Locator("#filter-entity").EvaluateAsync(
            "(input, text) => { for (const c of text) { input.value += c; input.dispatchEvent(new Event('input', { bubbles: true })); } }", entity);

        await Assertions.Expect(rows).ToHaveCountAsync(1);
        await Assertions.Expect(count).ToHaveTextAsync("1 matching alert shown");
        // Typing asked once, when it paused, not once per keystroke.
        Assert.Equal([$"{Harness.BaseAddress}api/alerts?limit=500&entity={entity}"], asked);

        // Live alerts that match join the list; those that do not stay out of it.
        Harness.Produce(DashboardHarness.Sanctioned(entity, entity + "-2"), DashboardHarness.HighRisk(other, other + "-501"));
        await Assertions.Expect(rows).ToHaveCountAsync(2, new LocatorAssertionsToHaveCountOptions { Timeout = 5_000 });
        await Assertions.Expect(count).ToHaveTextAsync("2 matching alerts shown");
        Assert.Equal(0, await _page.Locator($"#feed tbody tr:not([data-entity='{entity}'])").CountAsync());

        // Without the filter, the latest the page holds again.
        await _page.Locator("#filter-entity").FillAsync("");
        await Assertions.Expect(count).ToHaveTextAsync("500 of the latest 500 shown");
        await Assertions.Expect(rows).ToHaveCountAsync(1);
    }

    [Fact]
    public async Task Filter_ChangedWhileTheWorkerAnswersAnEarlierOne_ShowsOnlyTheNewestAnswer()
    {
        var held = new TaskCompletionSource<IRoute>(TaskCreationOptions.RunContinuationsAsynchronously);
        await _page.RouteAsync("**/api/alerts?limit=500&*", route =>
        {
            if (route.Request.Url.EndsWith("entity=STALE-OLD", StringComparison.Ordinal))
            {
                held.TrySetResult(route);
                return Task.CompletedTask;
            }
            return route.FulfillAsync(AlertPage(route.Request.Url[(route.Request.Url.LastIndexOf('=') + 1)..]));
        });
        var count = _page.Locator("#feed-count");

        await _page.Locator("#filter-entity").FillAsync("STALE-OLD");
        var old = await held.Task.WaitAsync(TimeSpan.FromSeconds(5));
        await _page.Locator("#filter-entity").FillAsync("STALE-NEW");
        await Assertions.Expect(_page.Locator("#feed tbody tr[data-entity='STALE-NEW']")).ToHaveCountAsync(1);
        await Assertions.Expect(count).ToHaveTextAsync("1 matching alert shown");

        // The earlier request's answer comes back last.
        await old.FulfillAsync(AlertPage("STALE-OLD"));
        await _page.WaitForTimeoutAsync(500);

        Assert.Equal(0, await _page.Locator("#feed tbody tr[data-entity='STALE-OLD']").CountAsync());
        await Assertions.Expect(_page.Locator("#feed tbody tr[data-entity='STALE-NEW']")).ToHaveCountAsync(1);
        await Assertions.Expect(count).ToHaveTextAsync("1 matching alert shown");

        static RouteFulfillOptions AlertPage(string entity) => new()
        {
            ContentType = "application/json",
            Body = $$$"""{"lastEventId":1,"alerts":[{"id":1,"alert":{"alertId":"a-{{{entity}}}","rule":"HIGH_FREQUENCY","severity":"II","entityId":"{{{entity}}}","ts":"2026-03-02T01:00:00Z","message":"held","metrics":{},"refs":[]}}]}""",
        };
    }

    [Fact]
    public async Task Filter_AlertItShows_StaysWhen500NewerThatDoNotMatchArrive()
    {
        // Severity III of entity F-III only: nothing else the worker raises meanwhile shows.
        await _page.Locator("input[name=severity][value=I]").UncheckAsync();
        await _page.Locator("input[name=severity][value=II]").UncheckAsync();
        await _page.Locator("#filter-entity").FillAsync("F-III");
        var count = _page.Locator("#feed-count");
        await Assertions.Expect(count).ToHaveTextAsync("0 matching alerts shown");
        // Ids after every alert the page holds and the worker's answer, as the worker's are.
        var receive = """
            async ([count, severity]) => {
              const first = state.alerts.concat(state.pending).reduce((max, entry) => Math.max(max, Number(entry.id)), state.view.after) + 1;
              for (let i = 0; i < count; i++) {
                receive({ id: first + i, alert: { alertId: `f-${first + i}`, rule: 'HIGH_FREQUENCY', severity, entityId: `F-${severity}`,
                  ts: '2026-03-02T01:00:00Z', message: 'filtered', metrics: {}, refs: [] } });
              }
            }
            """;
        await _page.EvaluateAsync(receive, new object[] { 1, "III" });
        var kept = _page.Locator("#feed tbody tr[data-entity='F-III']");
        await Assertions.Expect(kept).ToHaveCountAsync(1);

        // 500 newer alerts of severity II, which the filter hides: the III one is no longer among the latest 500, but
        // still matches.
        await _page.EvaluateAsync(receive, new object[] { 500, "II" });
        await _page.WaitForFunctionAsync("() => state.alerts[0].alert.severity === 'II' && !state.pending.length");

        await Assertions.Expect(count).ToHaveTextAsync("1 matching alert shown");
        await Assertions.Expect(kept).ToHaveCountAsync(1);
    }

    [Fact]
    public async Task EntityView_BurstOfItsAlerts_AsksTheWorkerForTheViewOnceASecondAtMost()
    {
        var requests = 0;
        await _page.RouteAsync("**/api/entities?id=Z-BURST", route =>
        {
            Interlocked.Increment(ref requests);
            return route.FulfillAsync(new RouteFulfillOptions
            {
                ContentType = "application/json",
                Body = """{"entity":{"entityId":"Z-BURST","events":1,"penetration":{"year":2026,"netInflow":0},"last24h":[]},"recentAlerts":[]}""",
            });
        });
        await _page.EvaluateAsync("loadEntity('Z-BURST')");
        await Assertions.Expect(_page.Locator("#entity-sub")).ToContainTextAsync("1 events");

        // 40 alerts of the open entity, one every 25 ms, each in a frame of its own: a second of them.
        await _page.EvaluateAsync("""
            async () => {
              for (let i = 0; i < 40; i++) {
                receive({ id: 1_000_000 + i, alert: { alertId: `burst-${i}`, rule: 'HIGH_FREQUENCY', severity: 'II',
                  entityId: 'Z-BURST', ts: '2026-03-02T01:00:00Z', message: 'burst', metrics: {}, refs: [] } });
                await new Promise((resolve) => setTimeout(resolve, 25));
              }
            }
            """);
        await Task.Delay(TimeSpan.FromSeconds(2.5));

        // The first view, then one within a second of the first new alert and one after the last: not one a frame.
        Assert.InRange(Volatile.Read(ref requests), 2, 4);
    }

    [Fact]
    public async Task EntityView_OfAnEntityWithoutEquityThatMovedMoney_ShowsTheQuotaBreached()
    {
        // Owner's equity of 0 gives caps of 0, which any same-name outflow breaches (RULES.md §3); there is no
        // utilisation to show.
        await _page.RouteAsync("**/api/entities?id=Z-ZERO", route => route.FulfillAsync(new RouteFulfillOptions
        {
            ContentType = "application/json",
            Body = """{"entity":{"entityId":"Z-ZERO","events":1,"penetration":{"year":2026,"netInflow":-100,"ownersEquity":0,"inflowCap":0,"outflowCap":0},"last24h":[]},"recentAlerts":[]}""",
        }));

        await _page.EvaluateAsync("loadEntity('Z-ZERO')");

        var outflow = _page.GetByTestId("gauge-outflow");
        await Assertions.Expect(outflow).ToContainTextAsync("cap 0");
        await Assertions.Expect(outflow).ToHaveClassAsync(new System.Text.RegularExpressions.Regex(@"\bbreach\b"));
        await Assertions.Expect(_page.GetByTestId("gauge-inflow")).ToContainTextAsync("0.0%");
    }

    [Fact]
    public async Task EntityView_ShowsItsPositionCapsAndHourlyFlowsExactly()
    {
        // Beyond a double's digits, and with more decimals than two: every digit as the worker wrote it.
        await _page.RouteAsync("**/api/entities?id=Z-EXACT-*", route => route.FulfillAsync(new RouteFulfillOptions
        {
            ContentType = "application/json",
            Body = $$"""{"entity":{"entityId":"Z-EXACT","events":3,"penetration":{"year":2026,"netInflow":{{(route.Request.Url.EndsWith("IN", StringComparison.Ordinal) ? "" : "-")}}98765432109876.54,"ownersEquity":12345678.9,"inflowCap":12345678.9,"outflowCap":12345678.9,"inflowUtilisation":8000000.2,"outflowUtilisation":0,"warnUtilisation":0.8},"last24h":[{"hour":"2026-03-01T02:00:00+00:00","inflowCny":1388573.794,"outflowCny":0}]},"recentAlerts":[]}""",
        }));

        await _page.EvaluateAsync("loadEntity('Z-EXACT-IN')");

        await Assertions.Expect(_page.GetByTestId("gauge-inflow")).ToContainTextAsync("inflow: 98,765,432,109,876.54 of 12,345,678.9 CNY");
        await Assertions.Expect(_page.GetByTestId("gauge-outflow")).ToContainTextAsync("outflow: 0 of 12,345,678.9 CNY");
        // Hours in Shanghai: 02:00 UTC is 10:00 there.
        Assert.Equal("10:00 inflow 1,388,573.794 CNY", await _page.Locator("#flow-chart svg rect.in title").TextContentAsync());
        // The same figures in a table that screen readers reach (the tooltips are inside an image).
        var hours = _page.GetByRole(AriaRole.Table, new PageGetByRoleOptions { Name = "Inflow and outflow per hour" });
        Assert.Equal(["10:00", "1,388,573.794", "0"], await hours.Locator("tbody tr td").AllTextContentsAsync());

        await _page.EvaluateAsync("loadEntity('Z-EXACT-OUT')");

        await Assertions.Expect(_page.GetByTestId("gauge-outflow")).ToContainTextAsync("outflow: 98,765,432,109,876.54 of 12,345,678.9 CNY");
        await Assertions.Expect(_page.GetByTestId("gauge-inflow")).ToContainTextAsync("inflow: 0 of 12,345,678.9 CNY");
    }

    /// <summary>
    /// An entity with no alert on the page is opened by its id from the entity box: its quota and flows show, and the
    /// focus goes to the view and back to the button when it is closed.
    /// </summary>
    [Fact]
    public async Task EntityView_OpenedByItsIdWithoutAnAlertShown_ShowsItsQuota()
    {
        const string entity = "E-HQ-001";   // the same-name payments' company, which no alert shown here need name
        Harness.Produce(DashboardHarness.Penetration(Harness.NewEntity("Q"), 100m));
        for (var attempt = 0; (await Harness.Client.GetAsync("api/entities?id=" + entity)).StatusCode != System.Net.HttpStatusCode.OK; attempt++)
        {
            Assert.True(attempt < 100, "no state for the entity after 10 s");
            await Task.Delay(100);
        }
        var open = _page.Locator("#entity-open");
        await Assertions.Expect(open).ToBeDisabledAsync();

        await _page.Locator("#filter-entity").FillAsync(" " + entity + " ");
        await open.ClickAsync();

        await Assertions.Expect(_page.Locator("#entity-title")).ToHaveTextAsync(entity + " · Hengqin Precision Tools Co.");
        await Assertions.Expect(_page.Locator("#entity-title")).ToBeFocusedAsync();
        await Assertions.Expect(_page.GetByTestId("gauge-inflow")).ToBeVisibleAsync();
        await _page.Keyboard.PressAsync("Escape");
        await Assertions.Expect(open).ToBeFocusedAsync();
    }

    /// <summary>An entity without state here, opened after one with state, shows nothing of the other's, and is not asked for again.</summary>
    [Fact]
    public async Task EntityView_OfAnEntityWithoutState_ShowsNoneOfThePreviousEntitysYear()
    {
        var asked = 0;
        await _page.RouteAsync("**/api/entities?id=Z-YEAR", route => route.FulfillAsync(new RouteFulfillOptions
        {
            ContentType = "application/json",
            Body = """{"entity":{"entityId":"Z-YEAR","events":1,"penetration":{"year":2028},"last24h":[]},"recentAlerts":[]}""",
        }));
        await _page.RouteAsync("**/api/entities?id=Z-NONE", route =>
        {
            Interlocked.Increment(ref asked);
            return route.FulfillAsync(new RouteFulfillOptions { Status = 404, ContentType = "application/problem+json", Body = """{"status":404}""" });
        });

        await _page.EvaluateAsync("loadEntity('Z-YEAR')");
        await Assertions.Expect(_page.Locator("#quota-year")).ToHaveTextAsync("(2028)");
        await _page.EvaluateAsync("loadEntity('Z-NONE')");

        await Assertions.Expect(_page.Locator("#entity-sub")).ToHaveTextAsync("No state for this entity in this worker.");
        await Assertions.Expect(_page.Locator("#quota-year")).ToHaveTextAsync("");
        await Task.Delay(6_000);   // past the 5 s an entity with state is asked for again
        Assert.Equal(1, Volatile.Read(ref asked));
    }

    [Fact]
    public async Task SeverityFilter_OnlyIIIChecked_HidesTheOtherSeverities()
    {
        var entity = Harness.NewEntity("F");
        Harness.Produce(DashboardHarness.HighRisk(entity, entity + "-1"), DashboardHarness.Cash(entity, entity + "-2"), DashboardHarness.Sanctioned(entity, entity + "-3"));
        var rows = _page.Locator($"#feed tbody tr[data-entity='{entity}']");
        await Assertions.Expect(rows).ToHaveCountAsync(3, new LocatorAssertionsToHaveCountOptions { Timeout = 5_000 });

        await _page.Locator("input[name=severity][value=I]").UncheckAsync();
        await _page.Locator("input[name=severity][value=II]").UncheckAsync();

        await Assertions.Expect(rows).ToHaveCountAsync(1);
        await Assertions.Expect(rows).ToHaveAttributeAsync("data-severity", "III");
        Assert.Equal(0, await _page.Locator("#feed tbody tr:not([data-severity='III'])").CountAsync());
    }

    [Fact]
    public async Task EntityView_OpenedFromAnAlert_ShowsTheQuotaGaugeAndTheFlowChart()
    {
        var txn = Harness.NewEntity("Q");
        Harness.Produce(DashboardHarness.Penetration(txn + "-1", 5_000_000m), DashboardHarness.Penetration(txn + "-2", 3_000_000m));
        var link = _page.Locator("#feed tbody tr[data-entity='E-HQ-001'][data-rule='PENETRATION_CAP_WARN'] button[data-entity]").First;
        await Assertions.Expect(link).ToBeVisibleAsync(new LocatorAssertionsToBeVisibleOptions { Timeout = 5_000 });

        await link.ClickAsync();

        var gauge = _page.GetByTestId("gauge-inflow");
        await Assertions.Expect(gauge).ToBeVisibleAsync();
        await Assertions.Expect(gauge).ToContainTextAsync("80.0%");
        await Assertions.Expect(gauge).ToHaveClassAsync(new System.Text.RegularExpressions.Regex(@"\bwarn\b"));
        await Assertions.Expect(_page.GetByTestId("gauge-outflow")).ToContainTextAsync("0.0%");
        await Assertions.Expect(_page.Locator("#entity-title")).ToContainTextAsync("Hengqin Precision Tools Co.");
        await Assertions.Expect(_page.Locator("#flow-chart svg rect.out")).ToHaveCountAsync(24);
        await Assertions.Expect(_page.Locator("#entity-alerts li").Filter(new LocatorFilterOptions { HasText = "PENETRATION_CAP_WARN" }))
            .ToContainTextAsync(new System.Text.RegularExpressions.Regex(@"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} "));

        // With the entity view open beside it, the list still fits its panel, long ids, amounts and messages included.
        await _page.EvaluateAsync("""
            () => receive({ id: Number.MAX_SAFE_INTEGER - 1, alert: { alertId: 'wide', rule: 'PENETRATION_CAP_BREACH', severity: 'III',
              entityId: 'X-2-f13ed7203c7f4682a70f', ts: '2026-03-02T01:00:00Z', metrics: { amount: '98765432109876.54', currency: 'CNY' },
              message: 'Inward non-individual transfer of entity X-2-f13ed7203c7f4682a70f reached 98,765,432,109,876.54 CNY',
              refs: ['PBOC Order [2016] No.3 Art.5', 'Hengqin Art.8'] } })
            """);
        await Assertions.Expect(_page.Locator("#feed tbody tr[data-entity='X-2-f13ed7203c7f4682a70f']")).ToHaveCountAsync(1);
        // An id of ten characters stays on one line, as tall as an id of one.
        await _page.EvaluateAsync("""
            () => ['E', 'E000000037'].forEach((entityId, i) => receive({ id: Number.MAX_SAFE_INTEGER - 2 - i, alert: { alertId: 'short' + i,
              rule: 'HIGH_FREQUENCY', severity: 'III', entityId, ts: '2026-03-02T01:00:00Z', message: 'short', metrics: {}, refs: [] } }))
            """);
        await Assertions.Expect(_page.Locator("#feed tbody tr[data-entity='E000000037']")).ToHaveCountAsync(1);
        await Assertions.Expect(_page.Locator("#feed tbody tr[data-entity='E']")).ToHaveCountAsync(1);
        var heights = await _page.EvaluateAsync<double[]>("""
            () => ['E', 'E000000037'].map((id) => document.querySelector(`#feed tbody tr[data-entity='${id}'] button[data-entity]`).getBoundingClientRect().height)
            """);
        Assert.Equal(heights[0], heights[1]);
        Assert.True(await _page.EvaluateAsync<bool>("() => { const panel = document.getElementById('alerts'); return panel.scrollWidth <= panel.clientWidth; }"),
            "the alert list runs past its panel");
        var screenshot = Path.Combine(TestArtifacts.Directory, "dashboard.png");
        await _page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot, FullPage = true });
        Assert.True(new FileInfo(screenshot).Length > 10_000);
    }
}

/// <summary>The browser tests' worker and dashboard, with a token.</summary>
public sealed class TokenBrowserFixture : BrowserFixture
{
    public const string Token = "a-long-enough-browser-token-0123456789";

    protected override IReadOnlyDictionary<string, string?>? Settings =>
        new Dictionary<string, string?> { [$"{FlowWatch.Worker.Dashboard.DashboardOptions.SectionName}:Token"] = Token };
}

/// <summary>Signing in to a dashboard with a token, in a real browser.</summary>
public sealed class DashboardSignInBrowserTests(TokenBrowserFixture fixture) : IClassFixture<TokenBrowserFixture>
{
    [Fact]
    public async Task Page_OpenedWithoutTheToken_SignInFormLeadsToTheLivePageWithoutTheTokenInAnyAddress()
    {
        await using var context = await fixture.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        var consoleErrors = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error") consoleErrors.Add(message.Text);
        };
        var addresses = new List<string>();
        page.Request += (_, request) => addresses.Add(request.Url);

        await page.GotoAsync(fixture.Harness.BaseAddress.ToString());
        Assert.EndsWith("/signin", page.Url, StringComparison.Ordinal);
        await page.GetByLabel("Access token").FillAsync(TokenBrowserFixture.Token + "x");
        await page.GetByRole(AriaRole.Button, new PageGetByRoleOptions { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("not valid");
        await page.GetByLabel("Access token").FillAsync(TokenBrowserFixture.Token);
        await page.GetByRole(AriaRole.Button, new PageGetByRoleOptions { Name = "Sign in" }).ClickAsync();

        await Assertions.Expect(page.Locator("#stat-status")).ToHaveTextAsync("live", new LocatorAssertionsToHaveTextOptions { Timeout = 10_000 });
        Assert.Equal(fixture.Harness.BaseAddress.ToString(), page.Url);
        Assert.DoesNotContain(addresses, address => address.Contains(TokenBrowserFixture.Token, StringComparison.Ordinal));
        // The 401 of the wrong token aside, nothing refused: the sign-in page's look and the form's post included.
        Assert.DoesNotContain(consoleErrors, error => !error.Contains("401", StringComparison.Ordinal));
    }

    /// <summary>
    /// A link on another site (a ticket, a mail) to the dashboard with the token in its address opens the live page, and
    /// once signed in, a plain link there does too: the browser sends the session cookie with a page another site led to.
    /// </summary>
    [Fact]
    public async Task Link_OnAnotherSite_OpensTheLivePage()
    {
        await using var context = await fixture.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        var dashboard = fixture.Harness.BaseAddress.ToString();
        const string Tickets = "http://tickets.example/";
        await page.RouteAsync(Tickets + "**", route => route.FulfillAsync(new RouteFulfillOptions
        {
            ContentType = "text/html",
            Body = $"""<!doctype html><a id="with-token" href="{dashboard}?access_token={TokenBrowserFixture.Token}">alert</a> <a id="plain" href="{dashboard}">dashboard</a>""",
        }));

        foreach (var link in new[] { "#with-token", "#plain" })
        {
            await page.GotoAsync(Tickets);
            await page.Locator(link).ClickAsync();
            await Assertions.Expect(page.Locator("#stat-status")).ToHaveTextAsync("live", new LocatorAssertionsToHaveTextOptions { Timeout = 10_000 });
            Assert.Equal(dashboard, page.Url);
        }
    }
}

/// <summary>Where tests leave files worth keeping (screenshots): artifacts/test-results of the repository, beside the TRX files.</summary>
internal static class TestArtifacts
{
    public static string Directory
    {
        get
        {
            var root = new DirectoryInfo(AppContext.BaseDirectory);
            while (root is not null && !File.Exists(Path.Combine(root.FullName, "FlowWatch.slnx"))) root = root.Parent;
            var path = Path.Combine(root?.FullName ?? AppContext.BaseDirectory, "artifacts", "test-results");
            System.IO.Directory.CreateDirectory(path);
            return path;
        }
    }
}
