using FlowWatch.Core.Reference;
using Microsoft.Extensions.Logging;

namespace FlowWatch.Worker.Kafka;

/// <summary>
/// Notices that the reference file the worker started with changed on disk, and says whether the next start would
/// take it. The file is read once, at the start: a change while running comes through the reference topic, which
/// every worker reads in the same order. Without a word, an operator who edited the file would believe it in force,
/// and a broken one would stay unnoticed until the next start refused it.
/// </summary>
internal sealed class ReferenceFileWatch
{
    private readonly string? _path;
    private readonly ILogger _log;
    private Stamp _seen;

    /// <param name="path">The reference file; one that is not there (the demo's generated reference data) is not watched.</param>
    /// <param name="log">Where a change is reported.</param>
    public ReferenceFileWatch(string path, ILogger log)
    {
        _log = log;
        if (!File.Exists(path)) return;
        _path = path;
        _seen = Stamp.Of(path);
    }

    /// <summary>Looks at the file's time and length; a change is read and judged on the thread pool, and reported once.</summary>
    public void Check()
    {
        if (_path is null) return;
        var now = Stamp.Of(_path);
        if (now == _seen) return;
        _seen = now;
        _ = Task.Run(Judge);
    }

    private void Judge()
    {
        try
        {
            ReferenceDataLoader.LoadFile(_path!);
            WorkerLog.ReferenceFileChanged(_log, _path!);
        }
        catch (ReferenceDataException ex)
        {
            WorkerLog.ReferenceFileRefused(_log, _path!, ex.Message);
        }
    }

    /// <summary>A file's last write and length; both default when it cannot be read.</summary>
    private readonly record struct Stamp(DateTime Written, long Length)
    {
        public static Stamp Of(string path)
        {
            try
            {
                var file = new FileInfo(path);
                return file.Exists ? new Stamp(file.LastWriteTimeUtc, file.Length) : default;
            }
            catch (IOException)
            {
                return default;
            }
        }
    }
}
