using FlowWatch.Core.Scoring;
using FlowWatch.Training;
using FlowWatch.Worker.Configuration;
using Microsoft.Extensions.Logging;

namespace FlowWatch.Worker.Models;

/// <summary>
/// The models of a directory, loaded at start and reloaded when a model file there changes: the new models replace
/// the old ones in one reference swap, so running engines pick them up without a restart. A file that fails to
/// load is reported and the models in force stay. A watched directory that does not exist yet (or is removed) is
/// looked for every second, and its models are loaded once it appears. One removed and made again at once is
/// noticed through its parent, since the system reports nothing to a watch on a directory that was removed.
/// </summary>
public sealed class ModelWatcher : IDisposable
{
    /// <summary>Configuration key of the models directory.</summary>
    public const string DirectoryKey = "FlowWatch:Models:Directory";

    private static readonly TimeSpan Settle = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// How long the files of two trainings may lie side by side before it is a failure: README has an operator replace
    /// the two files of one training one after the other, and the first to arrive does not pair with the other yet.
    /// </summary>
    public static readonly TimeSpan PairWait = TimeSpan.FromMinutes(1);

    /// <summary>How often a watched directory is looked for: one that is not there cannot be watched by the system.</summary>
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(1);

    private readonly ILogger _log;
    private readonly TimeProvider _time;
    private readonly ITimer _reload;

    /// <summary>Looks again once <see cref="PairWait"/> is up, apart from <see cref="_reload"/>, which a file's change sets.</summary>
    private readonly ITimer _pairCheck;
    private readonly Timer? _poll;
    private readonly Lock _reloading = new();
    private readonly Lock _watching = new();
    private FileSystemWatcher? _watcher;

    /// <summary>Watches the directory's name in its parent: its removal or renaming makes <see cref="_watcher"/> stale.</summary>
    private FileSystemWatcher? _nameWatcher;
    private bool _watcherFailed;

    /// <summary>Whether the last reload failed (under <see cref="_reloading"/>).</summary>
    private bool _lastReloadFailed;

    /// <summary>When the files were first found of two trainings, while they still are (under <see cref="_reloading"/>).</summary>
    private long? _unpairedSince;
    private bool _disposed;

    private ModelWatcher(string? directory, ModelSet? models, ILogger log, bool watch, TimeProvider? time)
    {
        Directory = directory;
        Models = new ModelHolder(models);
        _log = log;
        _time = time ?? TimeProvider.System;
        _reload = _time.CreateTimer(_ => Reload(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _pairCheck = _time.CreateTimer(_ => Reload(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        if (!watch || directory is null) return;
        // Models loaded just now need no reload; a directory watched from later on may have received files meanwhile.
        Watch(reloadWhenWatched: models is null);
        _poll = new Timer(_ => Watch(reloadWhenWatched: true), null, Poll, Poll);
    }

    /// <summary>
    /// The directory the models come from (watched, it may hold none yet), or null when there is none (ML_ANOMALY is
    /// then off).
    /// </summary>
    public string? Directory { get; }

    public ModelHolder Models { get; }

    /// <summary>
    /// Loads the models of <paramref name="configured"/>, else of <c>models/</c> in the current directory, else of
    /// <c>models/</c> beside the executable (the committed models). A configured directory that does not load stops
    /// the command; with <paramref name="watch"/>, later changes are picked up, and a directory that holds no model
    /// file yet is watched with ML_ANOMALY off until its models arrive: a configured one that exists, or without one
    /// configured and none found, <c>models/</c> in the current directory, which may not exist yet. A configured
    /// directory that does not exist stops the command, as a misspelt path would otherwise turn ML_ANOMALY off unseen.
    /// <paramref name="time"/> times the reloads (the system's clock without one).
    /// </summary>
    public static ModelWatcher Start(string? configured, ILogger log, bool watch, TimeProvider? time = null)
    {
        var directory = (string.IsNullOrWhiteSpace(configured) ? null : configured)
            ?? new[] { "models", Path.Combine(AppContext.BaseDirectory, "models") }
            .FirstOrDefault(d => File.Exists(Path.Combine(d, ModelFiles.ClassifierFile)));
        if (directory is null)
        {
            if (!watch)
            {
                ModelLog.NoModels(log);
                return new ModelWatcher(null, null, log, watch: false, time);
            }
            directory = "models";
        }
        directory = Path.GetFullPath(directory);
        if (watch && !string.IsNullOrWhiteSpace(configured) && !System.IO.Directory.Exists(directory))
            throw new ConfigurationException($"{DirectoryKey}: '{directory}' does not exist (a directory to watch may hold no models yet, but it must be there)");
        if (watch && !new[] { ModelFiles.DetectorFile, ModelFiles.ClassifierFile }.Any(f => File.Exists(Path.Combine(directory, f))))
        {
            ModelLog.Awaited(log, directory);
            return new ModelWatcher(directory, null, log, watch: true, time);
        }
        ModelSet models;
        try
        {
            models = ModelFiles.Load(directory);
        }
        catch (Exception ex) when (ex is not (OutOfMemoryException or FileNotFoundException))
        {
            // Whatever a damaged file makes ML.NET throw, the command stops naming the directory, not with a stack trace.
            throw new ConfigurationException($"{DirectoryKey}: models in '{directory}' do not load: {ex.Message}");
        }
        ModelLog.Loaded(log, models.Version, directory);
        return new ModelWatcher(directory, models, log, watch, time);
    }

    /// <summary>
    /// Watches the directory once it exists, and stops watching one that was removed, made again or whose watcher
    /// failed, so that the directory there now is watched anew.
    /// </summary>
    private void Watch(bool reloadWhenWatched)
    {
        lock (_watching)
        {
            if (_disposed) return;
            var exists = System.IO.Directory.Exists(Directory);
            if (_watcher is not null)
            {
                if (exists && !_watcherFailed) return;
                StopWatching();
            }
            if (!exists) return;
            var watcher = new FileSystemWatcher(Directory!, "*.zip") { NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size };
            watcher.Changed += (_, _) => Schedule();
            watcher.Created += (_, _) => Schedule();
            watcher.Renamed += (_, _) => Schedule();
            // A file taken away leaves the models in force, and the reload says so (302), as for a broken one.
            watcher.Deleted += (_, _) => Schedule();
            // An overflowing or lost watch may have missed a change: the directory is read again, and watched anew.
            watcher.Error += (_, _) =>
            {
                lock (_watching) _watcherFailed = true;
                Schedule();
            };
            try
            {
                watcher.EnableRaisingEvents = true;
            }
            catch (Exception ex) when (ex is IOException or ArgumentException or UnauthorizedAccessException)
            {
                // Removed again in between, or the system's watches are exhausted: tried again at the next poll.
                watcher.Dispose();
                return;
            }
            _watcher = watcher;
            _nameWatcher = WatchName();
            if (reloadWhenWatched) Schedule();
        }
    }

    /// <summary>
    /// A watch on the directory's name in its parent, which marks the directory's watch stale when it fires; none when the
    /// parent cannot be watched (a parent the worker may pass through but not list, say), and the poll alone notices.
    /// </summary>
    private FileSystemWatcher? WatchName()
    {
        var directory = Path.TrimEndingDirectorySeparator(Directory!);
        if (Path.GetDirectoryName(directory) is not { } parent) return null;
        var nameWatcher = new FileSystemWatcher(parent, Path.GetFileName(directory)) { NotifyFilter = NotifyFilters.DirectoryName };
        nameWatcher.Deleted += (_, _) => Restart();
        nameWatcher.Created += (_, _) => Restart();
        nameWatcher.Renamed += (_, _) => Restart();
        nameWatcher.Error += (_, _) => Restart();
        try
        {
            nameWatcher.EnableRaisingEvents = true;
            return nameWatcher;
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or UnauthorizedAccessException)
        {
            nameWatcher.Dispose();
            return null;
        }
    }

    /// <summary>Marks the directory's watch stale and looks for the directory at once, on the poll's timer.</summary>
    private void Restart()
    {
        lock (_watching)
        {
            if (_disposed) return;
            _watcherFailed = true;
            _poll?.Change(TimeSpan.Zero, Poll);
        }
    }

    private void StopWatching()
    {
        _watcher?.Dispose();
        _watcher = null;
        _nameWatcher?.Dispose();
        _nameWatcher = null;
        _watcherFailed = false;
    }

    /// <summary>Waits for writes to settle before loading, so a file being copied is read once it is whole.</summary>
    private void Schedule()
    {
        try
        {
            _reload.Change(Settle, Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException)
        {
            // A change reported while the watcher is being disposed: nothing is loaded any more.
        }
    }

    /// <summary>Loads the directory again now; answers whether the models in force changed.</summary>
    public bool Reload()
    {
        // One reload at a time: one started later must not be overtaken by an earlier, slower one.
        lock (_reloading)
        {
            try
            {
                var models = ModelFiles.Load(Directory!);
                var failedBefore = _lastReloadFailed;
                _lastReloadFailed = false;
                _unpairedSince = null;
                if (models.Version == Models.Current?.Version)
                {
                    // The files in force back after a failure (an operator put the good ones back): the warning is over.
                    if (failedBefore) ModelLog.LoadingAgain(_log, Directory!, models.Version);
                    return false;
                }
                Models.Swap(models);
                ModelLog.Reloaded(_log, models.Version, Directory!);
                return true;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // It runs on a timer's thread, where an exception would end the process: whatever the files are, the
                // models in force stay, and the failure is reported.
                var halfAPair = IsHalfAPair(ex);
                if (halfAPair && AwaitsTheOtherFile(ex.Message)) return false;
                if (!halfAPair) _unpairedSince = null;
                _lastReloadFailed = true;
                ModelLog.ReloadFailed(_log, Directory!, ex.Message);
                return false;
            }
        }
    }

    /// <summary>
    /// Whether the files are half of a replacement in progress: the two of two trainings, or, while no models are in
    /// force, one of a training with the other yet to come (the first models copied into a watched directory).
    /// </summary>
    private bool IsHalfAPair(Exception ex) => ex is ModelPairException || (ex is FileNotFoundException && Models.Current is null);

    /// <summary>
    /// Whether the other file of a training is given more time (<see cref="PairWait"/>) to arrive, said once (event 306)
    /// and looked at again when the time is up; false once it is up, to report a failure.
    /// </summary>
    private bool AwaitsTheOtherFile(string reason)
    {
        var now = _time.GetTimestamp();
        if (_unpairedSince is not { } since)
        {
            _unpairedSince = since = now;
            ModelLog.AwaitingPair(_log, Directory!, PairWait.TotalSeconds, reason);
        }
        var waited = _time.GetElapsedTime(since, now);
        if (waited >= PairWait) return false;
        _pairCheck.Change(PairWait - waited, Timeout.InfiniteTimeSpan);
        return true;
    }

    public void Dispose()
    {
        lock (_watching)
        {
            _disposed = true;
            StopWatching();
        }
        _poll?.Dispose();
        _reload.Dispose();
        _pairCheck.Dispose();
    }
}

internal static partial class ModelLog
{
    [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "Models {Version} loaded from {Directory}")]
    public static partial void Loaded(ILogger logger, string version, string directory);

    [LoggerMessage(EventId = 301, Level = LogLevel.Information, Message = "Models {Version} reloaded from {Directory}; they score every event from now on")]
    public static partial void Reloaded(ILogger logger, string version, string directory);

    [LoggerMessage(EventId = 302, Level = LogLevel.Warning, Message = "Models in {Directory} did not load ({Reason}); the models in force stay")]
    public static partial void ReloadFailed(ILogger logger, string directory, string reason);

    [LoggerMessage(EventId = 305, Level = LogLevel.Information, Message = "Models in {Directory} load again, as {Version}, the models in force; the failure reported before is over")]
    public static partial void LoadingAgain(ILogger logger, string directory, string version);

    [LoggerMessage(EventId = 306, Level = LogLevel.Information, Message = "Model files in {Directory} are not yet the pair of one training ({Reason}); nothing changes while the other file is awaited, up to {Seconds} s")]
    public static partial void AwaitingPair(ILogger logger, string directory, double seconds, string reason);

    [LoggerMessage(EventId = 303, Level = LogLevel.Warning, Message = "No models found (models/ here or beside the executable); ML_ANOMALY is off")]
    public static partial void NoModels(ILogger logger);

    [LoggerMessage(EventId = 304, Level = LogLevel.Warning, Message = "No models in {Directory} yet; ML_ANOMALY is off until they arrive there")]
    public static partial void Awaited(ILogger logger, string directory);
}
