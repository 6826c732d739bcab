using FlowWatch.Worker.Kafka;
using Microsoft.Extensions.Logging;

namespace FlowWatch.Worker.Aggregates;

/// <summary>
/// A sink, its writer and the feed from Kafka, beside a streaming worker: <c>demo</c> runs it in-process, and
/// <c>run</c>'s hosted service wraps it.
/// </summary>
public sealed class AggregatePipeline : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _feed;

    private AggregatePipeline(IAggregateSink sink, AggregateWriter writer, AggregateFeed feed)
    {
        Sink = sink;
        Writer = writer;
        _feed = feed.RunAsync(_stop.Token);
    }

    public IAggregateSink Sink { get; }

    /// <summary>Ends when the feed stops: after a stop was asked for, or with the error that stopped it.</summary>
    public Task Completion => _feed;

    public AggregateWriter Writer { get; }

    /// <summary>Opens the sink (creating its tables) and starts the feed; turns on aggregate publishing in <paramref name="kafka"/>.</summary>
    public static async Task<AggregatePipeline?> StartAsync(KafkaOptions kafka, AggregateOptions options, ILogger logger,
        CancellationToken cancellation = default)
    {
        var sink = await options.OpenSinkAsync(cancellation).ConfigureAwait(false);
        if (sink is null) return null;
        kafka.PublishAggregates = true;
        var writer = new AggregateWriter(sink, options, logger);
        return new AggregatePipeline(sink, writer, new AggregateFeed(kafka, options, writer, logger));
    }

    /// <summary>Waits until the feed has been idle for <paramref name="quiet"/> (everything committed is written), or <paramref name="atMost"/>.</summary>
    public async Task WaitUntilIdleAsync(TimeSpan quiet, TimeSpan atMost)
    {
        var deadline = DateTime.UtcNow + atMost;
        var seen = Writer.RowsWritten;
        var since = DateTime.UtcNow;
        while (DateTime.UtcNow < deadline && DateTime.UtcNow - since < quiet)
        {
            await Task.Delay(100).ConfigureAwait(false);
            if (Writer.RowsWritten != seen)
            {
                seen = Writer.RowsWritten;
                since = DateTime.UtcNow;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _feed.ConfigureAwait(false);
        await Writer.DisposeAsync().ConfigureAwait(false);
        await Sink.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }
}
