namespace FlowWatch.Worker.Cli;

/// <summary>
/// Opens a command's output files together, before any of them is emptied: one that cannot be opened stops the command
/// naming its option and leaves every file as it was (those it created are removed again). Each is opened for this
/// process alone (an advisory lock), so an output that is an input the command holds open under another name (a hard
/// link), or a file another process is writing, is refused instead of being emptied under it.
/// </summary>
internal static class OutputFiles
{
    /// <summary>What a lock held elsewhere fails with: EWOULDBLOCK on Linux, ERROR_SHARING_VIOLATION on Windows.</summary>
    private static readonly int[] InUse = [11, unchecked((int)0x80070020)];

    /// <summary>
    /// Holds <paramref name="inputs"/> (null for one not given) open for reading until disposed: an output opened
    /// meanwhile that is one of them under another name is refused. Only files with something in them, so never a
    /// named pipe (whose size is 0), which a second open would wait on for a writer.
    /// </summary>
    public static IDisposable HoldInputs(params string?[] inputs) => new HeldInputs(
        [.. inputs.Where(path => path is not null && new FileInfo(path) is { Exists: true, Length: > 0 })
            .Select(path => new FileStream(path!, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1))]);

    private sealed class HeldInputs(List<FileStream> files) : IDisposable
    {
        public void Dispose() => files.ForEach(file => file.Dispose());
    }

    /// <summary>The files of the options given (null for an option not given), open for writing and empty.</summary>
    public static FileStream?[] Open(params (string Option, string? Path)[] files)
    {
        var opened = new FileStream?[files.Length];
        var created = new bool[files.Length];
        for (var i = 0; i < files.Length; i++)
        {
            if (files[i].Path is not { } path) continue;
            try
            {
                // Else "access denied", which sends one looking for a permission.
                if (Directory.Exists(path)) throw new IOException("it is a directory, not a file");
                created[i] = !File.Exists(path);
                opened[i] = new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.None, bufferSize: 1 << 16);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                for (var j = 0; j < i; j++)
                {
                    if (opened[j] is not { } stream) continue;
                    stream.Dispose();
                    if (created[j]) File.Delete(stream.Name);
                }
                var why = InUse.Contains(ex.HResult)
                    ? "the file is in use: an input of this command under another name (a hard link), or written by another process"
                    // .NET says "Could not find file" of an output it may not create (under /proc, say): it is looked for by no one.
                    : ex is FileNotFoundException ? $"cannot be created there ({ex.Message})"
                    : ex.Message;
                throw new IOException($"{files[i].Option} {path}: {why}", ex);
            }
        }
        // Emptied only now that all are open. A device (/dev/null) has no length to cut.
        foreach (var stream in opened)
        {
            if (stream is { CanSeek: true, Length: > 0 }) stream.SetLength(0);
        }
        return opened;
    }
}
