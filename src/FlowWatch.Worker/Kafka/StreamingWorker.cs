using System.Collections.Concurrent;
using System.Globalization;
using Confluent.Kafka;
using FlowWatch.Core.Aggregates;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Engine;
using FlowWatch.Core.Reference;
using FlowWatch.Worker.Aggregates;
using FlowWatch.Core.Scoring;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FlowWatch.Worker.Kafka;

/// <summary>
/// The engine fed by Kafka with exactly-once state (DESIGN.md §4). Each assigned payments partition has its own
/// engine, restored from the state topic on assignment. Alerts (key = entity) and dead letters (original bytes;
/// reason and source position in headers) are produced inside a transaction as they come; every
/// <c>CommitInterval</c> the transaction also receives the state that is due for saving, the positions and the offsets
/// behind it (<see cref="StateStore"/>), and is committed. A crash aborts the open transaction: its alerts are never
/// seen by read_committed consumers, and the partition's next owner restores the saved state, brings it up to the
/// last position, and computes the same alerts with the same ids again.
/// The consume loop follows confluent-kafka-dotnet's examples: a long-running task around <c>Consume</c>,
/// stop on fatal errors, <c>Close()</c> on the way out.
/// Readers on other threads (the dashboard) get alerts once their transaction is committed (<c>onCommitted</c>; after a
/// commit whose answer was lost, once the partition's next restore shows that it took effect) and pictures of entities
/// taken by the consumer thread between commits (<see cref="DescribeAsync"/>), so they never touch engine state that is
/// being written.
/// </summary>
public sealed class StreamingWorker(KafkaOptions options, RuleSettings rules, ReferenceData reference,
    TimeProvider? wallClock = null, ILogger? logger = null, ModelHolder? models = null,
    Action<IReadOnlyList<PublishedAlert>>? onCommitted = null)
{
    private readonly ILogger _log = logger ?? NullLogger.Instance;

    // The logs of the clients every session builds again: a session restarted in an outage does not log the outage's
    // lines in full again, only counts them on (KafkaClientLog).
    private readonly KafkaClientLog _producerLog = new(logger ?? NullLogger.Instance, "producer");
    private readonly KafkaClientLog _claimsLog = new(logger ?? NullLogger.Instance, "claims producer");
    private readonly KafkaClientLog _consumerLog = new(logger ?? NullLogger.Instance, "consumer");
    private readonly KafkaClientLog _referenceLog = new(logger ?? NullLogger.Instance, "reference consumer");
    private readonly KafkaClientLog _restoreLog = new(logger ?? NullLogger.Instance, "state restore");
    private readonly HoldersWithoutRecordWarning _holdersWithoutRecord = new();

    /// <summary>
    /// Called on each partition's own thread, several at once, as an alert goes into the transaction, before it commits
    /// (an aborted transaction's alerts too): a way for tests to make the code around the engine fail. Readers of
    /// alerts take <c>onCommitted</c>.
    /// </summary>
    internal Action<Alert>? AlertProducedForTests { get; init; }
    private readonly Dictionary<int, PartitionPipeline> _partitions = [];
    private readonly EntityPartitions _entityPartitions = new(logger ?? NullLogger.Instance);

    /// <summary>
    /// Differing duplicates (event 1017) logged one by one, per partition, over this worker's life: a producer that started
    /// its ids afresh would make every record one, so after these the metric counts them alone.
    /// </summary>
    private const int DifferingDuplicatesLogged = 100;

    private readonly Dictionary<int, LogAllowance> _differingDuplicatesLogged = [];
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly EngineCounters _retired = new();

    /// <summary>
    /// Per partition given up with work whose commit failed: the offset that commit would have resumed at, the counts
    /// of that work and its alerts. Whether the commit took effect shows at the partition's next restore.
    /// </summary>
    private readonly Dictionary<int, (long NextOffset, EngineCounters Counts, List<PublishedAlert> Alerts)> _inDoubt = [];
    private const int MaxWaitingEntityQueries = 1_000;
    private readonly ConcurrentQueue<(string EntityId, TaskCompletionSource<EntityView?> Answer)> _entityQueries = new();
    private readonly ReferenceFileWatch _referenceFile = new(options.ReferenceFile, logger ?? NullLogger.Instance);
    private volatile Error? _deliveryError;
    private long _consumerLag;

    /// <summary>Why the worker is not consuming, or null when its session has its partitions (see <see cref="Status"/>).</summary>
    private volatile string? _notConsuming = WaitingForPartitions;

    private const string WaitingForPartitions = "waiting for partitions";

    /// <summary>Whether <see cref="_notConsuming"/> names the Kafka error the worker is restarting after, until it consumes again.</summary>
    private volatile bool _restarting;

    /// <summary>Whether the session committed a transaction: it then worked, and the pauses after a failure start afresh.</summary>
    private volatile bool _committedInSession;

    /// <summary>The consumer group's state in the consumer's latest statistics, and when they came.</summary>
    private volatile GroupReport? _group;
    private IProducer<string?, byte[]> _producer = null!;
    private IProducer<string?, byte[]> _claims = null!;
    private IConsumer<Ignore, byte[]> _consumer = null!;
    private int _uncommitted;
    /// <summary>A call into the session's producer that did not return in time, or null.</summary>
    private Task? _stuckProducerCall;
    private readonly StateWriting _writing = new(options.CheckpointInterval, options.CommitInterval, options.StateIdsPerRecord, options.StateRecordBytes);
    private static readonly TimeSpan OffsetsTimeout = TimeSpan.FromSeconds(15);
    private ReferenceFeed? _feed;

    /// <summary>The stop of <see cref="RunAsync"/>, for the restores, which run in the consumer's assignment callback.</summary>
    private CancellationToken _stopping;

    /// <summary>One transactional id for the worker's lifetime: each new session fences the previous one's transaction.</summary>
    private readonly string _transactionalId = $"{options.TransactionalIdPrefix}-{options.InstanceId ?? Guid.NewGuid().ToString("N")}";

    /// <summary>Records read by this worker's engines so far; cheap enough to poll.</summary>
    public long RecordsRead
    {
        get
        {
            lock (_partitions) return _retired.Read + _partitions.Values.Sum(p => p.Engine.Counters.Read);
        }
    }

    /// <summary>What every partition engine of this worker has counted, including partitions given up since.</summary>
    public EngineCounters Counters
    {
        get
        {
            var total = new EngineCounters();
            lock (_partitions)
            {
                total.Add(_retired);
                foreach (var partition in _partitions.Values) total.Add(partition.Engine.Counters);
            }
            return total;
        }
    }

    /// <summary>
    /// Payments processed since the restart points of the latest commits, in all assigned partitions: what restores
    /// would process again if this worker stopped now.
    /// </summary>
    public long UnsavedPayments
    {
        get
        {
            lock (_partitions) return _partitions.Values.Sum(p => Math.Max(0, p.NextOffset - p.Book.SavedThrough));
        }
    }

    /// <summary>
    /// Entities this worker has found with payments in two of its partitions: their state is split between them
    /// (<see cref="EntityPartitions"/>).
    /// </summary>
    public long SplitEntities => _entityPartitions.Split;

    /// <summary>Offsets of the payments topic its retention deleted before this worker read them, since it started (event 1021).</summary>
    public long PaymentsDeletedUnread => Interlocked.Read(ref _paymentsDeletedUnread);

    private long _paymentsDeletedUnread;

    /// <summary>
    /// Records in the assigned payments partitions not processed yet, as of the last look (every <c>CommitInterval</c>);
    /// null while the worker is not consuming (<see cref="Status"/>), when the last look may be long out of date.
    /// </summary>
    public long? ConsumerLag => Status.IsConsuming ? Interlocked.Read(ref _consumerLag) : null;

    /// <summary>
    /// Whether the worker is consuming now, and if not, why: it is when its current session holds its partitions
    /// (restored) and the consumer's latest statistics, at most three reports old, show the consumer
    /// group in touch with its coordinator. A broker out of reach shows within seconds, before the session fails on it.
    /// </summary>
    public WorkerStatus Status
    {
        get
        {
            if (_notConsuming is { } reason) return new WorkerStatus(false, reason);
            var bound = Volatile.Read(ref _statisticsSilenceTicks);
            if (_group is not { } group || bound == 0) return WorkerStatus.Consuming;
            var silence = SteadyClock.Now - group.At;
            if (silence.Ticks > bound) return new WorkerStatus(false, $"no statistics from the Kafka consumer for {silence.TotalSeconds:0} s");
            return group.State == "up"
                ? WorkerStatus.Consuming
                : new WorkerStatus(false, $"the Kafka group coordinator is out of reach (consumer group state '{group.State}')");
        }
    }

    /// <summary>
    /// A picture of an entity held by this worker as of its last commit, or null when none of its partitions has
    /// it. Answered by the consumer thread after its next commit, or at once when it is idle.
    /// </summary>
    public Task<EntityView?> DescribeAsync(string entityId, CancellationToken cancellation)
    {
        // While the consumer thread cannot answer (a restart's back-off) lookups wait in the queue, and a caller that
        // gave up leaves its lookup there: beyond this many waiting, a lookup is refused at once.
        if (_entityQueries.Count >= MaxWaitingEntityQueries) return Task.FromCanceled<EntityView?>(new CancellationToken(canceled: true));
        var answer = new TaskCompletionSource<EntityView?>(TaskCreationOptions.RunContinuationsAsynchronously);
        _entityQueries.Enqueue((entityId, answer));
        return answer.Task.WaitAsync(cancellation);
    }

    /// <summary>Completes once the consumer first has partitions assigned and restored.</summary>
    public Task Ready => _ready.Task;

    /// <summary>The Kafka settings the worker runs with: its cluster, topics and client properties.</summary>
    public KafkaOptions Options => options;

    /// <summary>Three missed reports of the consumer's statistics, in ticks: it is stuck (0: statistics switched off).</summary>
    private long _statisticsSilenceTicks;

    private sealed record GroupReport(string State, DateTime At);

    public Task RunAsync(CancellationToken cancellation)
    {
        WorkerLog.Consuming(_log, options.PaymentsTopic, options.BootstrapServers, options.GroupId);
        return Task.Factory.StartNew(() => RunUntilStopped(cancellation), cancellation, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>
    /// Runs sessions until stopped. A session that fails on a Kafka error (broker unreachable too long, transaction
    /// aborted, fenced) ends with its transaction uncommitted; the next session fences it, restores its partitions
    /// from the committed state and goes on, so nothing is lost or counted twice.
    /// </summary>
    private void RunUntilStopped(CancellationToken cancellation)
    {
        _stopping = cancellation;
        var backoff = TimeSpan.FromSeconds(1);
        while (!cancellation.IsCancellationRequested)
        {
            try
            {
                RunSession(cancellation);
                _notConsuming = "stopped";
                return;
            }
            catch (Exception ex) when (ex is KafkaException or TimeoutException or OperationCanceledException && cancellation.IsCancellationRequested)
            {
                // Stopping anyway: what the session did not commit is processed again by whoever comes next.
                _notConsuming = "stopped";
                return;
            }
            catch (Exception ex) when (ex is KafkaException or TimeoutException)
            {
                // A broker out of reach for longer than a restore or a feed waits for it is a Kafka error like another.
                var (code, reason) = ex is KafkaException kafka ? (kafka.Error.Code.ToString(), kafka.Error.Reason) : ("Timeout", ex.Message);
                // The pauses grow while sessions fail before they commit: one that committed starts them afresh. One that
                // fails after consuming but before a commit (an output topic it may not write) would otherwise restart,
                // and rejoin its group, every second for good.
                if (_committedInSession) backoff = TimeSpan.FromSeconds(1);
                _committedInSession = false;
                WorkerLog.Restarting(_log, code, reason, backoff.TotalSeconds);
                _notConsuming = $"restarting after a Kafka error ({code}): {reason}";
                _restarting = true;
                _deliveryError = null;
                _uncommitted = 0;
                cancellation.WaitHandle.WaitOne(backoff);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
            }
            catch (Exception ex) when (ex is not (KafkaException or TimeoutException))
            {
                _notConsuming = $"stopped by an error: {ex.Message}";
                WorkerLog.Stopped(_log, ex);
                throw;
            }
        }
    }

    private void RunSession(CancellationToken cancellation)
    {
        // What an earlier session's producer said is not this one's reason to wait.
        _producerLog.ForgetLastError();
        var producer = new ProducerBuilder<string?, byte[]>(options.WorkerProducerConfig(_transactionalId)).LogTo(_producerLog).Build();
        try
        {
            RunSession(producer, cancellation);
        }
        finally
        {
            // A producer with a call still blocked in it is disposed once the call returns, not now (that would wait for
            // the call); meanwhile the next session's producer, with the same transactional id, fences it.
            if (_stuckProducerCall is { } stuck) _ = stuck.ContinueWith(DisposeAfter, producer, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
            else producer.Dispose();
            _stuckProducerCall = null;
        }
    }

    /// <summary>Disposes a producer once the call stuck in it returned; its failure, if any, was the session's end already.</summary>
    private static void DisposeAfter(Task stuckCall, object? producer)
    {
        _ = stuckCall.Exception;
        ((IProducer<string?, byte[]>)producer!).Dispose();
    }

    private void RunSession(IProducer<string?, byte[]> producer, CancellationToken cancellation)
    {
        using var feed = new ReferenceFeed(options, reference, _log, Stage, _referenceLog, _holdersWithoutRecord, cancellation);
        _feed = feed;
        using var claims = new ProducerBuilder<string?, byte[]>(options.ClaimsProducerConfig()).LogTo(_claimsLog).Build();
        _claims = claims;
        _group = null;
        var consumerConfig = options.WorkerConsumerConfig();
        // Payments deleted before they were read are said and counted (the restore, after Local_AutoOffsetReset below),
        // not passed over as a reset would.
        consumerConfig.AutoOffsetReset = AutoOffsetReset.Error;
        // Statistics switched off (statistics.interval.ms 0 among the Client properties) leave readiness to the session.
        Volatile.Write(ref _statisticsSilenceTicks, 3L * Math.Max(0, consumerConfig.StatisticsIntervalMs ?? 0) * TimeSpan.TicksPerMillisecond);
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(consumerConfig)
            .LogTo(_consumerLog)
            .SetStatisticsHandler((_, statistics) => _group = KafkaStatistics.GroupState(statistics) is { } state ? new GroupReport(state, SteadyClock.Now) : null)
            .SetPartitionsAssignedHandler((_, assigned) => Assign(assigned))
            .SetPartitionsRevokedHandler((_, revoked) => Revoke(revoked))
            .SetPartitionsLostHandler((_, lost) => Lose(lost))
            .Build();
        _producer = producer;
        _consumer = consumer;
        InitTransactions(producer, cancellation);
        producer.BeginTransaction();
        Stage(WaitingForPartitions);
        consumer.Subscribe(options.PaymentsTopic);
        var nextCommit = SteadyClock.Now + options.CommitInterval;
        var lastFeedPoll = SteadyClock.Now;
        var modelsInForce = models?.Current;
        try
        {
            while (!cancellation.IsCancellationRequested)
            {
                ConsumeResult<Ignore, byte[]>? record;
                try
                {
                    record = ConsumeNext(consumer, nextCommit);
                }
                catch (ConsumeException ex) when (ex.Error.Code == ErrorCode.Local_AutoOffsetReset)
                {
                    // The payments topic no longer holds this worker's position in a partition: its retention deleted
                    // payments not read yet (a worker far behind), or the topic was recreated. A consumer's reset would
                    // pass over them unseen; the session starts again instead, and the restore says which were lost and
                    // goes on after them (event 1021), or stops at a topic recreated (DESIGN.md §4: nothing is lost unseen).
                    if (ex.ConsumerRecord?.TopicPartitionOffset is not { } outOfRange || !_partitions.ContainsKey(outOfRange.Partition.Value)) continue;
                    WorkerLog.PositionDeleted(_log, outOfRange.Partition.Value, outOfRange.Offset.Value);
                    throw new KafkaException(ex.Error);
                }
                catch (ConsumeException ex) when (!ex.Error.IsFatal)
                {
                    // librdkafka retries by itself; what stops it for now is said (a payments topic missing or not
                    // authorised is reported only here), once a minute for each kind of error.
                    ReportConsumeError(ex.Error);
                    continue;
                }
                if (record is { IsPartitionEOF: false, Message: not null } && _partitions.TryGetValue(record.Partition.Value, out var partition))
                {
                    partition.Add(record);
                    _uncommitted++;
                }
                var now = SteadyClock.Now;
                if (_uncommitted >= options.BatchSize || (_uncommitted > 0 && now >= nextCommit)
                    || (_uncommitted == 0 && now >= nextCommit && AnySaveDue(now)))
                {
                    Commit(_partitions.Values);
                    // Commits start every CommitInterval: the time one takes is not added to the wait for the next. But
                    // a long one (many entities changed, under load) is followed by at least as long a stretch of
                    // consuming, so that committing never takes more than half of this thread's time.
                    var end = SteadyClock.Now;
                    nextCommit = Max(now + options.CommitInterval, end + (end - now));
                    now = end;
                }
                if (_uncommitted == 0 && !_entityQueries.IsEmpty) AnswerEntityQueries();
                // The steady clock is read once a record (above): at hundreds of thousands of records a second, each read shows.
                if (now - lastFeedPoll >= options.CommitInterval)
                {
                    MeasureLag(consumer);
                    _referenceFile.Check();
                    var referenceChanged = feed.Poll();
                    if (referenceChanged)
                    {
                        foreach (var owned in _partitions.Values) owned.UpdateReference(feed.Current);
                    }
                    // New models (a file replaced in the watched directory) change what ML_ANOMALY's silences hold from
                    // then on, as new parameters change the quota positions. Everything is saved at the next commit, so
                    // that a restore from it on processes again only payments processed under what is in force now. The
                    // partitions take new models at their next payment, up to a CommitInterval before this poll sees
                    // them: a restore from a commit in between scores again under the new models some payments first
                    // scored under the old ones, which are no longer in the directory to do otherwise.
                    var modelsChanged = !ReferenceEquals(models?.Current, modelsInForce);
                    modelsInForce = models?.Current;
                    if (referenceChanged || modelsChanged)
                    {
                        foreach (var owned in _partitions.Values) owned.SaveAllDue = true;
                    }
                    lastFeedPoll = SteadyClock.Now;
                }
            }
            Commit(_partitions.Values, saveAll: true);
        }
        finally
        {
            StopAll();
            try
            {
                consumer.Close();
            }
            catch (KafkaException)
            {
                // leaving the group failed (broker gone); the group times this member out instead
            }
        }
    }

    /// <summary>
    /// What a session that is not consuming yet waits for: shown until it consumes, unless the worker is restarting, when
    /// the error it restarts after stays shown, as the likelier cause.
    /// </summary>
    private void Stage(string what)
    {
        if (!_restarting) _notConsuming = what;
    }

    /// <summary>
    /// Fences the previous session's producer and readies transactions, waiting up to 30 s for a broker. librdkafka's
    /// call cannot be interrupted, so it is made in steps of a second (a step that times out may be retried) and a stop
    /// asked for meanwhile ends the wait: without a broker, a stop would otherwise wait out the 30 s, the time a host
    /// gives all its services to stop. What the producer reports meanwhile (a refused connection) is the reason shown,
    /// and the reason of the failure after 30 s, which librdkafka's own would only call a timeout.
    /// </summary>
    private void InitTransactions(IProducer<string?, byte[]> producer, CancellationToken cancellation)
    {
        const string Waiting = "waiting for the Kafka broker to ready transactions";
        var timeout = TimeSpan.FromSeconds(30);
        var deadline = SteadyClock.Now + timeout;
        Stage(Waiting);
        while (true)
        {
            try
            {
                producer.InitTransactions(TimeSpan.FromSeconds(1));
                return;
            }
            catch (KafkaRetriableException ex)
            {
                cancellation.ThrowIfCancellationRequested();
                // librdkafka says an error again only after 30 s: one said within that time still stands, unless overtaken.
                var why = _producerLog.LastError(timeout) is { } error ? $" (the producer reports: {error})" : "";
                if (SteadyClock.Now >= deadline)
                {
                    throw new KafkaException(new Error(ex.Error.Code, $"the Kafka broker did not ready transactions in {timeout.TotalSeconds:0} s{why}"), ex);
                }
                Stage(Waiting + why);
            }
        }
    }

    /// <summary>
    /// Logs an error the consumer reported (event 1012), once a minute for each kind of error, and shows it as the reason
    /// while no partition is assigned.
    /// </summary>
    private void ReportConsumeError(Error error)
    {
        var now = SteadyClock.Now;
        if (_consumeErrorsReported.TryGetValue(error.Code, out var reported) && now - reported < TimeSpan.FromMinutes(1)) return;
        _consumeErrorsReported[error.Code] = now;
        if (_partitions.Count == 0) Stage($"{WaitingForPartitions}: {error.Reason}");
        WorkerLog.ConsumeFailed(_log, error.Code.ToString(), error.Reason);
    }

    private readonly Dictionary<ErrorCode, DateTime> _consumeErrorsReported = [];

    /// <summary>
    /// The next record, at once when one is ready. Before it waits, the consumer hands each engine the records it
    /// holds back for a fuller batch, so that they are processed during the wait rather than after it.
    /// </summary>
    private ConsumeResult<Ignore, byte[]>? ConsumeNext(IConsumer<Ignore, byte[]> consumer, DateTime nextCommit)
    {
        if (consumer.Consume(TimeSpan.Zero) is { } ready) return ready;
        foreach (var partition in _partitions.Values) partition.HandOver();
        // Records waiting for a commit must not wait longer because none came after them.
        return consumer.Consume(_uncommitted == 0 ? options.BatchInterval : SteadyClock.Until(nextCommit, options.BatchInterval));
    }

    private static DateTime Max(DateTime a, DateTime b) => a > b ? a : b;

    /// <summary>
    /// Puts the outputs of the partitions with processed records into the open transaction with the state that is due
    /// for saving (all of it when <paramref name="saveAll"/>), their positions and offsets, commits, and opens the next
    /// transaction. Any failure stops the worker: its open transaction is aborted and whoever owns the partitions next
    /// resumes from their last committed position.
    /// </summary>
    private void Commit(IEnumerable<PartitionPipeline> partitions, bool saveAll = false)
    {
        var offsets = new List<TopicPartitionOffset>();
        var positions = new List<StateStore.PendingRecord>();
        var now = SteadyClock.Now;
        var alerts = onCommitted is null ? null : new List<PublishedAlert>();
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var pending = partitions.Where(p => p.Pending).ToList();
        // A partition without new records writes its state only when some of it is due. Every partition written is
        // drained first, not only those with new records: a reference change sent to one must be in its engine before
        // its parameters are written with its position, and its engine must be idle while this thread reads it.
        var written = partitions.Where(p => p.Pending || saveAll || SaveDue(p, now)).ToList();
        DrainAll(written);
        foreach (var partition in pending)
        {
            if (partition.TakeAggregates() is { } aggregates)
            {
                AggregatePublisher.Write(_producer, options.AggregatesTopic, aggregates, RecordFailure);
            }
            partition.Pending = false;
        }
        var savedAll = new List<PartitionPipeline>();
        foreach (var partition in written)
        {
            var all = saveAll || partition.SaveAllDue;
            positions.Add(StateStore.WriteCommit(_producer, options.StateTopic, partition.Partition, partition.Engine, partition.Book,
                partition.NextOffset, _writing, all, RecordFailure));
            if (all) savedAll.Add(partition);
            // Its offset goes with its state even when unchanged: the group's coordinator then refuses the commit of a
            // worker that has lost the partition (an older generation), state included.
            offsets.Add(new TopicPartitionOffset(options.PaymentsTopic, new Partition(partition.Partition), new Offset(partition.NextOffset)));
        }
        if (positions.Count > 0)
        {
            // Everything else of this transaction, the offsets included, reaches the broker before the position
            // records: a broker that shows unfinished transactions (the embedded one does) shows a position only with
            // everything it stands for, and a commit that fails before it leaves none behind.
            FlushPromptly();
            if (_deliveryError is { } failed) throw new KafkaException(failed);
            SendOffsets(offsets);
            foreach (var position in positions) StateStore.Write(_producer, position, RecordFailure);
            // CommitTransaction flushes too, in the same steps: finding nothing outstanding, it goes straight on.
            FlushPromptly();
        }
        _producer.CommitTransaction(TimeSpan.FromSeconds(30));
        _committedInSession = true;
        // Committed from here on, whatever comes next: the next owner resumes after these records.
        foreach (var partition in pending) partition.MarkCommitted(alerts);
        // Their readers get them now: a failure after this point ends the session, but not the commit.
        if (alerts is { Count: > 0 }) onCommitted!(alerts);
        foreach (var partition in savedAll) partition.SaveAllDue = false;
        if (positions.Count > 0) WorkerMetrics.CommitDuration.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);
        if (_deliveryError is { } error) throw new KafkaException(error);
        _producer.BeginTransaction();
        _uncommitted = 0;
        if (!_entityQueries.IsEmpty) AnswerEntityQueries();
    }

    /// <summary>
    /// Adds the consumer's offsets to the transaction (so that a producer of an older group generation cannot commit).
    /// librdkafka's call can block past its timeout when the group coordinator goes away during it
    /// (confluentinc/librdkafka#5456; seen here with the broker down for 10 s), so it is waited for on another thread
    /// and the session given up when it does not return in time.
    /// </summary>
    private void SendOffsets(List<TopicPartitionOffset> offsets)
    {
        var metadata = _consumer.ConsumerGroupMetadata;
        var producer = _producer;
        var sending = Task.Run(() => producer.SendOffsetsToTransaction(offsets, metadata, OffsetsTimeout));
        if (!((IAsyncResult)sending).AsyncWaitHandle.WaitOne(OffsetsTimeout + TimeSpan.FromSeconds(1)))
        {
            _stuckProducerCall = sending;
            throw new KafkaException(new Error(ErrorCode.Local_TimedOut, $"sending offsets to the transaction did not return in {OffsetsTimeout.TotalSeconds} s"));
        }
        sending.GetAwaiter().GetResult();
    }

    /// <summary>
    /// Waits until every message produced so far is delivered. One long <c>Flush</c> polls for delivery reports in
    /// steps of up to 10 ms, and Confluent.Kafka's own polling thread usually serves the last report first, so the
    /// flush sleeps out its step after the work is done (measured: flush and commit each took 0.3 or 10–12 ms).
    /// Steps of 1 ms end the wait within a millisecond of the last report.
    /// </summary>
    private void FlushPromptly()
    {
        var deadline = SteadyClock.Now + TimeSpan.FromSeconds(30);
        while (_producer.Flush(TimeSpan.FromMilliseconds(1)) > 0)
        {
            if (SteadyClock.Now > deadline) throw new KafkaException(new Error(ErrorCode.Local_TimedOut, "commit: outputs not delivered in 30 s"));
        }
    }

    /// <summary>Asks every engine to finish what it was given, then waits for all of them, so that they finish side by side.</summary>
    private static void DrainAll(IReadOnlyCollection<PartitionPipeline> partitions)
    {
        var drained = partitions.Select(partition => (partition, partition.DrainAsync())).ToList();
        foreach (var (partition, done) in drained)
        {
            try
            {
                done.GetAwaiter().GetResult();
            }
            catch (Exception ex) when (ex is not KafkaException and not OutOfMemoryException)
            {
                throw new KafkaException(new Error(ErrorCode.Local_Fail, $"partition {partition.Partition}: {ex.Message}"));
            }
        }
    }

    /// <summary>Runs on the consumer thread with every partition drained, so the engines are idle while they are read.</summary>
    private void AnswerEntityQueries()
    {
        DrainAll(_partitions.Values);
        while (_entityQueries.TryDequeue(out var query))
        {
            EntityView? view = null;
            foreach (var partition in _partitions.Values)
            {
                if (partition.Engine.FindEntity(query.EntityId) is { } entity)
                {
                    view = EntityView.Of(entity, partition.Engine.Reference, partition.Engine.Settings);
                    break;
                }
            }
            query.Answer.TrySetResult(view);
        }
    }

    /// <summary>From the consumer's cached high watermarks: no request to the broker.</summary>
    private void MeasureLag(IConsumer<Ignore, byte[]> consumer)
    {
        long lag = 0;
        foreach (var partition in _partitions.Values)
        {
            var watermarks = consumer.GetWatermarkOffsets(new TopicPartition(options.PaymentsTopic, new Partition(partition.Partition)));
            if (watermarks.High != Offset.Unset) lag += Math.Max(0, watermarks.High.Value - Math.Max(partition.NextOffset, watermarks.Low.Value));
        }
        Interlocked.Exchange(ref _consumerLag, lag);
    }

    private string ParametersSource() => options.ControlTopic.Length > 0
        ? $"the control topic '{options.ControlTopic}'"
        : $"the reference topic '{options.ReferenceTopic}'";

    private List<TopicPartitionOffset> Assign(List<TopicPartition> assigned)
    {
        // Partitions already held (an incremental assignment) commit their work first: the restores below take
        // seconds, longer than a transaction may stay open before the broker aborts it (TransactionTimeout).
        if (_partitions.Count > 0) Commit(_partitions.Values);
        // The consumer thread restores them: until it is done, it consumes nothing.
        _notConsuming = $"restoring partitions {string.Join(", ", assigned.Select(p => p.Partition.Value))}";
        var starts = new List<TopicPartitionOffset>();
        var committedAfterAll = new List<PublishedAlert>();
        foreach (var topicPartition in assigned)
        {
            var engine = new FlowEngine(_feed!.Current, rules, wallClock: wallClock, models: models)
            {
                // With a feed, parameters come from its topics only: one in the stream would hold until the next restore,
                // which takes the feed's again.
                ParametersFromElsewhere = _feed.Enabled ? ParametersSource() : null,
            };
            engine.TrackChanges();
            var started = System.Diagnostics.Stopwatch.StartNew();
            var claim = StateStore.ClaimPartition(_claims, options.StateTopic, topicPartition.Partition.Value, _stopping);
            var restored = StateStore.Restore(options.WorkerConsumerConfig(), options.StateTopic, options.PaymentsTopic, topicPartition.Partition.Value, engine,
                options.CatchUpTimeout, claim, _log, _restoreLog, _stopping);
            // With a reference or control topic, what it says now outranks the parameters saved in the state.
            if (_feed.Enabled) engine.UpdateReference(_feed.Current);
            // Only now: the payments processed again during the restore had their aggregate rows written before.
            if (options.PublishAggregates) engine.Aggregator = new FlowAggregator();
            _entityPartitions.HoldAll(engine, topicPartition.Partition.Value);
            Interlocked.Add(ref _paymentsDeletedUnread, restored.DeletedUnread);
            WorkerLog.PartitionRestored(_log, topicPartition.Partition.Value, started.ElapsedMilliseconds, restored.Replayed,
                restored.ResumeAt is { } resumeAt ? $"offset {resumeAt.ToString(CultureInfo.InvariantCulture)}" : "the partition's first record kept (no state saved)");
            lock (_partitions)
            {
                // A failed commit that resumes here took effect after all (a Kafka commit whose answer was lost, or the
                // embedded broker showing an unfinished transaction): its records are counted, not processed again.
                // Its alerts are then published, and readers of committed alerts get them now.
                if (_inDoubt.Remove(topicPartition.Partition.Value, out var doubt) && restored.ResumeAt == doubt.NextOffset)
                {
                    _retired.Add(doubt.Counts);
                    committedAfterAll.AddRange(doubt.Alerts);
                }
                _partitions[topicPartition.Partition.Value] = new PartitionPipeline(topicPartition.Partition.Value, restored.ResumeAt ?? 0, engine, restored.Book, _producer,
                    options, _log, _entityPartitions, DifferingDuplicatesAllowance(topicPartition.Partition.Value), AlertProducedForTests, RecordFailure,
                    keepAlerts: onCommitted is not null) { SaveAllDue = _feed.Enabled };
                // A position moved past deleted payments is committed at the next commit, so that no later restore says the loss again.
                if (restored.DeletedUnread > 0)
                {
                    _partitions[topicPartition.Partition.Value].Pending = true;
                    _uncommitted++;
                }
            }
            starts.Add(new TopicPartitionOffset(topicPartition, restored.ResumeAt is { } offset ? new Offset(offset) : Offset.Beginning));
        }
        if (committedAfterAll.Count > 0) onCommitted!(committedAfterAll);
        _notConsuming = null;
        _restarting = false;
        _ready.TrySetResult();
        return starts;
    }

    private LogAllowance DifferingDuplicatesAllowance(int partition)
    {
        if (!_differingDuplicatesLogged.TryGetValue(partition, out var allowance))
        {
            allowance = new LogAllowance(DifferingDuplicatesLogged);
            _differingDuplicatesLogged[partition] = allowance;
        }
        return allowance;
    }

    /// <summary>
    /// On revocation the work so far is committed with all of the state first, so the next owner starts where this
    /// one ended, with nothing to process again. The log names the partitions by number: the offsets librdkafka gives
    /// with them are its fetch positions ("Unset [-1001]" when it fetched nothing), not what was committed.
    /// </summary>
    private void Revoke(List<TopicPartitionOffset> revoked)
    {
        var partitions = string.Join(", ", revoked.Select(p => p.Partition.Value));
        if (_partitions.Count == 0)
        {
            // The session has ended and retired its partitions first (after a failure, or after its last commit when
            // stopping), so this is the consumer's close. What the open transaction still holds was made after their
            // last commit, and no offsets are left to go with it: committed now, it would be published beside the same
            // outputs made again by whoever processes those payments next.
            WorkerLog.PartitionsReleased(_log, partitions);
            return;
        }
        Commit(_partitions.Values, saveAll: true);
        foreach (var partition in revoked) Retire(partition.Partition.Value);
        WorkerLog.PartitionsRevoked(_log, partitions);
    }

    /// <summary>
    /// Partitions lost (this member was dropped from the group) may already have a new owner, so the open
    /// transaction, which holds work of theirs, must not commit: the session ends and the next one starts over
    /// from the committed state.
    /// </summary>
    private void Lose(List<TopicPartitionOffset> lost)
    {
        StopAll();
        throw new KafkaException(new Error(ErrorCode.Local_State, $"partitions {string.Join(", ", lost.Select(p => p.Partition.Value))} lost"));
    }

    private void Retire(int partition)
    {
        if (!_partitions.TryGetValue(partition, out var pipeline)) return;
        pipeline.Dispose();
        _entityPartitions.Release(partition);
        lock (_partitions)
        {
            // As of its last commit: what a failed session processed after it, the next session processes again,
            // unless that session's commit turns out to have taken effect.
            _retired.Add(pipeline.Committed);
            var uncommitted = pipeline.Engine.Counters.Since(pipeline.Committed);
            if (uncommitted.Read > 0) _inDoubt[partition] = (pipeline.NextOffset, uncommitted, pipeline.TakeAlerts());
            _partitions.Remove(partition);
        }
    }

    private void StopAll()
    {
        foreach (var partition in _partitions.Keys.ToList()) Retire(partition);
    }

    /// <summary>
    /// Whether a partition has a save due by <paramref name="now"/>, or all of its state to save (after new reference
    /// data or models), which then needs no new payment to be written. A loop, not a lambda over the partitions: a lambda
    /// capturing the loop's time would cost an allocation for every record read, whether it ran or not.
    /// </summary>
    private bool AnySaveDue(DateTime now)
    {
        foreach (var partition in _partitions.Values)
        {
            if (SaveDue(partition, now)) return true;
        }
        return false;
    }

    private bool SaveDue(PartitionPipeline partition, DateTime now) => partition.SaveAllDue || partition.Book.NextDue(options.CheckpointInterval) <= now;

    /// <summary>Runs on the producer's thread: remember the failure; the next commit stops the worker on it.</summary>
    private void RecordFailure(DeliveryReport<string?, byte[]> report)
    {
        if (report.Error.IsError) _deliveryError ??= report.Error;
    }
}
