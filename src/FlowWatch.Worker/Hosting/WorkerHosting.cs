using FlowWatch.Core.Engine;
using FlowWatch.Core.Reference;
using FlowWatch.Worker.Dashboard;
using FlowWatch.Worker.Kafka;
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
        builder.Services.AddOptions<KafkaOptions>().Bind(builder.Configuration.GetSection(KafkaOptions.SectionName)).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<KafkaOptions>>(new SelfValidation<KafkaOptions>(o => o.Validate()));
        builder.Services.AddOptions<RuleSettings>().Bind(builder.Configuration.GetSection(RuleSettings.SectionName)).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<RuleSettings>>(new SelfValidation<RuleSettings>(o => o.Validate()));
        // Loaded once at start; a broken file stops the host with the field named (ReferenceDataException).
        builder.Services.AddSingleton(sp => ReferenceDataLoader.LoadFile(sp.GetRequiredService<IOptions<KafkaOptions>>().Value.ReferenceFile));
        builder.Services.TryAddSingleton(TimeProvider.System);
        // With the dashboard registered, it receives the alerts of each committed transaction.
        builder.Services.AddSingleton(sp => new StreamingWorker(sp.GetRequiredService<IOptions<KafkaOptions>>().Value,
            sp.GetRequiredService<IOptions<RuleSettings>>().Value, sp.GetRequiredService<ReferenceData>(), sp.GetRequiredService<TimeProvider>(),
            logger: sp.GetRequiredService<ILogger<StreamingWorker>>(), onCommitted: sp.GetService<AlertFeed>() is { } feed ? feed.Publish : null));
        builder.Services.AddHostedService<WorkerService>();
        return builder;
    }
}

/// <summary>Options that know their own cross-field rules: their problems become validation failures, each naming its key.</summary>
internal sealed class SelfValidation<T>(Func<T, IReadOnlyList<string>> validate) : IValidateOptions<T>
    where T : class
{
    public ValidateOptionsResult Validate(string? name, T options) =>
        validate(options) is { Count: > 0 } problems ? ValidateOptionsResult.Fail(problems) : ValidateOptionsResult.Success;
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
