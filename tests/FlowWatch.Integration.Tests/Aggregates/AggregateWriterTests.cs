using FlowWatch.Core.Aggregates;
using FlowWatch.Core.Contracts;
using FlowWatch.Worker.Aggregates;
using Microsoft.Extensions.Logging.Abstractions;

namespace FlowWatch.Integration.Tests.Aggregates;

/// <summary>The writer's promises, against a sink that fails on demand: retry what may pass, stop on what cannot, never drop.</summary>
public sealed class AggregateWriterTests
{
    private static SinkBatch Batch(string id, int rows) => new(
        [new AggregateBatch(id, [.. Enumerable.Range(0, rows).Select(i => new PaymentsMinuteRow($"E{i}", 0, AccountKind.EFE, Channel.FirstLine, Direction.In, "CNY", 1, 1m, 1m))], [], [])],
        []);

    [Fact]
    public async Task WriteAsync_SinkAwayForThreeAttempts_RetriesUntilItIsBackAndLosesNothing()
    {
        var sink = new ScriptedSink { TransientFailures = 3 };
        await using var writer = new AggregateWriter(sink, new AggregateOptions(), NullLogger.Instance);

        await writer.WriteAsync(Batch("b1", 10)).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(4, sink.Attempts);
        Assert.Equal(["b1"], sink.Written);
        Assert.Equal(3, writer.Retries);
        Assert.Equal(10, writer.RowsWritten);
    }

    [Fact]
    public async Task CompleteAsync_SinkRefusesForGood_StopsWithTheReasonInsteadOfRetrying()
    {
        var sink = new ScriptedSink { Permanent = true };
        var writer = new AggregateWriter(sink, new AggregateOptions(), NullLogger.Instance);
        await writer.EnqueueAsync(Batch("b1", 1));

        var failure = await Assert.ThrowsAsync<AggregateSinkException>(writer.CompleteAsync);

        Assert.Contains("scripted sink", failure.Message, StringComparison.Ordinal);
        Assert.Equal(1, sink.Attempts);
        await writer.DisposeAsync();
    }

    /// <summary>
    /// A source that queues more than the queue holds after the sink refused for good (replay reading on) learns the
    /// reason, where it used to wait for room that never came.
    /// </summary>
    [Fact]
    public async Task EnqueueAsync_AfterTheSinkRefusedForGood_ThrowsTheReasonInsteadOfWaitingForever()
    {
        var sink = new ScriptedSink { Permanent = true };
        var writer = new AggregateWriter(sink, new AggregateOptions { QueueCapacity = 2 }, NullLogger.Instance);

        var failure = await Assert.ThrowsAsync<AggregateSinkException>(async () =>
        {
            for (var i = 0; i < 20; i++) await writer.EnqueueAsync(Batch($"b{i}", 1)).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        });

        Assert.Contains("scripted sink", failure.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<AggregateSinkException>(writer.CompleteAsync);
        await writer.DisposeAsync();
    }

    [Fact]
    public async Task EnqueueAsync_QueueFullWhileTheSinkIsStuck_WaitsAndThenWritesEveryBatchMergedUpToMaxRows()
    {
        var sink = new ScriptedSink();
        sink.Gate.Reset();
        var writer = new AggregateWriter(sink, new AggregateOptions { QueueCapacity = 2, MaxRows = 25 }, NullLogger.Instance);
        await writer.EnqueueAsync(Batch("b0", 10));
        await WaitUntil(() => sink.Attempts == 1);   // the first write has begun and hangs
        await writer.EnqueueAsync(Batch("b1", 10));
        await writer.EnqueueAsync(Batch("b2", 10));

        var waiting = writer.EnqueueAsync(Batch("b3", 10)).AsTask();
        await Task.Delay(300);
        Assert.False(waiting.IsCompleted, "a full queue should make the caller wait");

        sink.Gate.Set();
        await waiting.WaitAsync(TimeSpan.FromSeconds(30));
        await writer.CompleteAsync().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(["b0", "b1", "b2", "b3"], sink.Written);
        Assert.All(sink.Writes, rows => Assert.True(rows <= 30, $"a write of {rows} rows"));   // merged up to MaxRows (25), whole batches
        Assert.True(sink.Writes.Count < 4, "queued batches should have been merged");
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (var i = 0; i < 300 && !condition(); i++) await Task.Delay(10);
        Assert.True(condition());
    }

    private sealed class ScriptedSink : IAggregateSink
    {
        private int _attempts;

        public int TransientFailures { get; set; }
        public bool Permanent { get; init; }
        public ManualResetEventSlim Gate { get; } = new(initialState: true);
        public List<string> Written { get; } = [];
        public List<int> Writes { get; } = [];
        public int Attempts => Volatile.Read(ref _attempts);

        public string Description => "scripted sink";

        public Task MigrateAsync(CancellationToken cancellation) => Task.CompletedTask;

        public Task WriteAsync(SinkBatch batch, CancellationToken cancellation)
        {
            Interlocked.Increment(ref _attempts);
            Gate.Wait(cancellation);
            if (Permanent) throw new InvalidOperationException("no such table");
            if (TransientFailures-- > 0) throw new HttpRequestException("connection refused");
            Written.AddRange(batch.Aggregates.Select(a => a.BatchId));
            Writes.Add(batch.RowCount);
            return Task.CompletedTask;
        }

        public Task<IReadOnlyList<string[]>> QueryAsync(string sql, CancellationToken cancellation) => throw new NotSupportedException();

        public bool IsTransient(Exception failure) => failure is HttpRequestException;

        public ValueTask DisposeAsync()
        {
            Gate.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
