using FlowWatch.Core.Engine;
using FlowWatch.Core.Reference;
using FlowWatch.Worker.Aggregates;
using FlowWatch.Worker.Configuration;
using FlowWatch.Worker.Dashboard;
using FlowWatch.Worker.Kafka;
using FlowWatch.Worker.Models;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FlowWatch.Worker.Hosting;

/// <summary>Registration of the streaming worker in a generic host: options validated at start, the worker as a hosted service.</summary>
public static class WorkerHosting
{
    public static IHostApplicationBuilder AddFlowWatchWorker(this IHostApplicationBuilder builder)
    {
        // Sections are bound strictly (OptionsSection): a misspelt key or a value of the wrong type stops the start
        // with the key named, as an invalid value does.
        FlowWatchSections.Kafka.AddTo(builder);
        FlowWatchSections.Rules.AddTo(builder);
        // Loaded once at start; a broken file stops the host with the field named (ReferenceDataException).
        builder.Services.AddSingleton(sp =>
        {
            var reference = ReferenceDataLoader.LoadFile(sp.GetRequiredService<IOptions<KafkaOptions>>().Value.ReferenceFile);
            new HoldersWithoutRecordWarning().Say(sp.GetRequiredService<ILogger<ReferenceFeed>>(), reference);
            return reference;
        });
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.AddFlowWatchAggregates();   // first: hosted services start in order, and the sink's tables come first
        // The models directory is watched: a new model file replaces the models in force without a restart.
        builder.Services.AddSingleton(sp => ModelWatcher.Start(builder.Configuration[ModelWatcher.DirectoryKey],
            sp.GetRequiredService<ILogger<ModelWatcher>>(), watch: true));
        // With the dashboard registered, it receives the alerts of each committed transaction.
        builder.Services.AddSingleton(sp => new StreamingWorker(sp.GetRequiredService<IOptions<KafkaOptions>>().Value,
            sp.GetRequiredService<IOptions<RuleSettings>>().Value, sp.GetRequiredService<ReferenceData>(), sp.GetRequiredService<TimeProvider>(),
            logger: sp.GetRequiredService<ILogger<StreamingWorker>>(), models: sp.GetRequiredService<ModelWatcher>().Models,
            onCommitted: sp.CommittedAlerts()));
        builder.Services.AddHostedService<WorkerService>();
        return builder;
    }

    /// <summary>
    /// With a sink configured (FlowWatch:Aggregates), the worker publishes aggregate rows and a second service writes
    /// them, with the committed alerts, to ClickHouse or DuckDB; the tables are created before anything starts.
    /// </summary>
    private static void AddFlowWatchAggregates(this IHostApplicationBuilder builder)
    {
        FlowWatchSections.Aggregates.AddTo(builder);
        if (!FlowWatchSections.Aggregates.Bind(builder.Configuration).Enabled) return;
        builder.Services.PostConfigure<KafkaOptions>(kafka => kafka.PublishAggregates = true);
        builder.Services.AddSingleton<FeedCounters>();
        builder.Services.AddHostedService<AggregateService>();
    }
}

/// <summary>Opens the sink (creating its tables) at start, then runs the <see cref="AggregateFeed"/> into it.</summary>
internal sealed class AggregateService(IOptions<KafkaOptions> kafka, IOptions<AggregateOptions> options, FeedCounters counters,
    ILogger<AggregateFeed> logger)
    : BackgroundService
{
    private static readonly TimeSpan LongestPause = TimeSpan.FromSeconds(30);

    private AggregatePipeline? _pipeline;
    private int _stopping;

    /// <summary>
    /// Opens the sink (creating its tables) before anything runs, so a sink that cannot be used (a refused login, a
    /// wrong schema) stops the start. One that does not answer does not: the worker's alerts must not wait for the
    /// analysts' database, and its rows wait in the aggregates topic until the sink answers.
    /// </summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            Opened(await Open(cancellationToken));
        }
        catch (AggregateSinkException ex) when (ex.Transient)
        {
            AggregateLog.SinkUnavailable(logger, 1, ex.Message);
        }
        await base.StartAsync(cancellationToken);
    }

    /// <summary>
    /// Opens the sink, if it did not answer at the start, once it does; then follows the feed: one stopped by an error
    /// (a sink error retrying cannot cure) stops the host with it.
    /// </summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var pipeline = Volatile.Read(ref _pipeline);
        var pause = TimeSpan.FromSeconds(1);
        while (pipeline is null)
        {
            await Task.Delay(pause, stoppingToken);
            pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, LongestPause.Ticks));
            try
            {
                pipeline = await Open(stoppingToken);
                Opened(pipeline);
                // A stop that came while the sink was being opened did not see it: it is closed here instead.
                if (Volatile.Read(ref _stopping) == 1 && Interlocked.Exchange(ref _pipeline, null) is { } unseen) await unseen.DisposeAsync();
            }
            catch (AggregateSinkException ex) when (ex.Transient)
            {
                AggregateLog.SinkUnavailable(logger, pause.TotalSeconds, ex.Message);
            }
        }
        await pipeline.Completion;
    }

    private async Task<AggregatePipeline> Open(CancellationToken cancellation) =>
        await AggregatePipeline.StartAsync(kafka.Value, options.Value, logger, counters, cancellation)
        ?? throw new InvalidOperationException("no aggregate sink configured");

    private void Opened(AggregatePipeline pipeline)
    {
        Interlocked.Exchange(ref _pipeline, pipeline);
        AggregateLog.SinkOpened(logger, pipeline.Sink.Description);
    }

    /// <summary>
    /// Stops the pipeline first: the feed that <see cref="ExecuteAsync"/> follows ends only then. What the feed read
    /// and did not commit is read again at the next start, so giving up at the host's shutdown timeout loses nothing.
    /// </summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        Interlocked.Exchange(ref _stopping, 1);
        try
        {
            if (Interlocked.Exchange(ref _pipeline, null) is { } pipeline) await pipeline.DisposeAsync().AsTask().WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // the host's shutdown timeout passed: stop anyway
        }
        await base.StopAsync(cancellationToken);
    }
}

/// <summary>The hosted service: only wraps <see cref="StreamingWorker"/>, which holds all the logic.</summary>
internal sealed class WorkerService(StreamingWorker worker, IHostApplicationLifetime lifetime) : BackgroundService
{
    /// <summary>Consumes once the whole host has started (the dashboard listening), so a host that cannot start never consumed.</summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        using (stoppingToken.Register(() => started.TrySetCanceled(stoppingToken)))
        {
            try
            {
                await started.Task;
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
        await worker.RunAsync(stoppingToken);
    }
}
