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
    private readonly AggregateFeed _feed;
    private readonly Task _feeding;

    private AggregatePipeline(IAggregateSink sink, AggregateWriter writer, AggregateFeed feed)
    {
        Sink = sink;
        Writer = writer;
        _feed = feed;
        _feeding = feed.RunAsync(_stop.Token);
    }

    public IAggregateSink Sink { get; }

    /// <summary>Ends when the feed stops: after a stop was asked for, or with the error that stopped it.</summary>
    public Task Completion => _feeding;

    public AggregateWriter Writer { get; }

    /// <summary>Opens the sink (creating its tables) and starts the feed; turns on aggregate publishing in <paramref name="kafka"/>.</summary>
    public static async Task<AggregatePipeline?> StartAsync(KafkaOptions kafka, AggregateOptions options, ILogger logger,
        FeedCounters? counters = null, CancellationToken cancellation = default)
    {
        var sink = await options.OpenSinkAsync(cancellation).ConfigureAwait(false);
        if (sink is null) return null;
        kafka.PublishAggregates = true;
        var writer = new AggregateWriter(sink, options, logger);
        return new AggregatePipeline(sink, writer, new AggregateFeed(kafka, options, writer, logger, counters));
    }

    /// <inheritdoc cref="AggregateFeed.WaitUntilWrittenAsync"/>
    public Task WaitUntilWrittenAsync(TimeSpan stalledFor) => _feed.WaitUntilWrittenAsync(_feeding, stalledFor);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _feeding.ConfigureAwait(false);
        await Writer.DisposeAsync().ConfigureAwait(false);
        await Sink.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }
}
