using System.Text;

namespace MlNetMedical;

/// <summary>
/// Writes an output whole or not at all: into a temporary file in the same folder (so the rename stays on one file
/// system), flushed to disk, then renamed over the target. A crash, Ctrl+C or a full disk leaves the previous file, or
/// none, never a truncated one (a truncated model used to break `sweep --resume`). Saved models, AutoML's leaderboards and
/// every file mlnm writes go through here.
/// </summary>
public static class AtomicFile
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    /// <summary>Calls <paramref name="writeTo"/> with a temporary path next to <paramref name="path"/> that ends with the same
    /// extensions (writers pick the format from them: ".nii.gz", ".zip"), then moves it to <paramref name="path"/>.</summary>
    public static void Write(string path, Action<string> writeTo)
    {
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(folder);
        var name = Path.GetFileName(full);
        var dot = name.IndexOf('.', 1);
        var temporary = Path.Combine(folder, $".{name}.{Guid.NewGuid():N}.tmp{(dot > 0 ? name[dot..] : "")}");
        try
        {
            writeTo(temporary);
            using (var written = new FileStream(temporary, FileMode.Open, FileAccess.ReadWrite)) written.Flush(flushToDisk: true);
            File.Move(temporary, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(temporary); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>UTF-8 text without a byte-order mark.</summary>
    public static void WriteAllText(string path, string text) => Write(path, temporary => File.WriteAllText(temporary, text, Utf8));
}
