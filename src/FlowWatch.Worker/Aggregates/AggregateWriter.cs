using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace FlowWatch.Worker.Aggregates;

/// <summary>
/// Feeds a sink from a bounded channel on a task of its own: batches queued while a write runs are merged into the
/// next write, up to <see cref="AggregateOptions.MaxRows"/>. A full channel makes callers wait (backpressure); a
/// write that failed for a passing reason (the server is away) is retried with growing pauses until it succeeds or
/// the writer is cancelled, and any other failure stops the writer: nothing is dropped silently.
/// </summary>
public sealed class AggregateWriter : IAsyncDisposable
{
    private static readonly TimeSpan FirstRetryPause = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan LongestRetryPause = TimeSpan.FromSeconds(5);

    private readonly IAggregateSink _sink;
    private readonly AggregateOptions _options;
    private readonly ILogger _log;
    private readonly Channel<Pending> _queue;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _rowsWritten;
    private long _writes;
    private long _retries;

    public AggregateWriter(IAggregateSink sink, AggregateOptions options, ILogger log)
    {
        _sink = sink;
        _options = options;
        _log = log;
        _queue = Channel.CreateBounded<Pending>(new BoundedChannelOptions(options.QueueCapacity) { SingleReader = true });
        _loop = Task.Run(WriteLoop);
    }

    public IAggregateSink Sink => _sink;

    public long RowsWritten => Interlocked.Read(ref _rowsWritten);

    public long Retries => Interlocked.Read(ref _retries);

    public long Writes => Interlocked.Read(ref _writes);

    /// <summary>Queues a batch, waiting while the queue is full. Throws what stopped the writer, if anything did.</summary>
    public async ValueTask EnqueueAsync(SinkBatch batch, CancellationToken cancellation = default)
    {
        if (batch.RowCount == 0) return;
        await Queue(new Pending(batch, null), cancellation).ConfigureAwait(false);
    }

    /// <summary>Queues a batch and completes once it is written (a source commits its position after this).</summary>
    public async Task WriteAsync(SinkBatch batch, CancellationToken cancellation = default)
    {
        if (batch.RowCount == 0) return;
        var written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await Queue(new Pending(batch, written), cancellation).ConfigureAwait(false);
        await written.Task.WaitAsync(cancellation).ConfigureAwait(false);
    }

    private async ValueTask Queue(Pending pending, CancellationToken cancellation)
    {
        try
        {
            await _queue.Writer.WriteAsync(pending, cancellation).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            // The writer stopped: its failure is the reason to give, not the queue's closing.
            await _loop.ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Writes everything queued, then stops. Throws what stopped the writer, if anything did.</summary>
    public async Task CompleteAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }

    /// <summary>Stops without waiting for queued batches (their sources have not committed them).</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or AggregateSinkException)
        {
            // stopping is what was asked; a sink failure has reached the callers of WriteAsync or CompleteAsync
        }
        _stop.Dispose();
    }

    private async Task WriteLoop()
    {
        var reader = _queue.Reader;
        var taken = new List<Pending>();
        try
        {
            while (await reader.WaitToReadAsync(_stop.Token).ConfigureAwait(false))
            {
                var rows = 0;
                while (rows < _options.MaxRows && reader.TryRead(out var pending))
                {
                    taken.Add(pending);
                    rows += pending.Batch.RowCount;
                }
                await WriteWithRetries(SinkBatch.Merge([.. taken.Select(p => p.Batch)]), rows).ConfigureAwait(false);
                foreach (var pending in taken) pending.Written?.TrySetResult();
                taken.Clear();
            }
        }
        catch (Exception ex)
        {
            // Closed, so that a source queueing more learns of the failure instead of waiting for room that never comes.
            _queue.Writer.TryComplete(ex);
            foreach (var pending in taken) pending.Written?.TrySetException(ex);
            while (reader.TryRead(out var pending)) pending.Written?.TrySetException(ex);
            throw;
        }
    }

    private async Task WriteWithRetries(SinkBatch batch, int rows)
    {
        var pause = FirstRetryPause;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await _sink.WriteAsync(batch, _stop.Token).ConfigureAwait(false);
                Interlocked.Add(ref _rowsWritten, rows);
                Interlocked.Increment(ref _writes);
                if (attempt > 1) AggregateLog.SinkRecovered(_log, _sink.Description, attempt);
                return;
            }
            catch (Exception ex) when (!_stop.IsCancellationRequested && _sink.IsTransient(ex))
            {
                Interlocked.Increment(ref _retries);
                AggregateLog.SinkWriteFailed(_log, _sink.Description, attempt, pause.TotalSeconds, ex.Message);
                await Task.Delay(pause, _stop.Token).ConfigureAwait(false);
                pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, LongestRetryPause.Ticks));
            }
            catch (Exception ex) when (!_stop.IsCancellationRequested)
            {
                throw new AggregateSinkException($"writing aggregates to {_sink.Description} failed: {ex.Message}", ex);
            }
        }
    }

    private sealed record Pending(SinkBatch Batch, TaskCompletionSource? Written);
}

/// <summary>
/// A sink refused a write for a reason that trying again would not change (e.g. a wrong schema), or did not answer when
/// its tables were to be created (<see cref="Transient"/>).
/// </summary>
public sealed class AggregateSinkException(string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>The sink could not be reached (down, a timeout): trying again later may succeed.</summary>
    public bool Transient { get; init; }
}
