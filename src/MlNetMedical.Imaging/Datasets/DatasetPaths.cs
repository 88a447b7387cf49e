namespace MlNetMedical.Imaging.Datasets;

/// <summary>
/// How a dataset reader treats the paths a manifest or dataset.json lists. Trusted (the default, for your own data): as
/// written, absolute paths and '..' included. With a <see cref="Root"/> (for data someone sent you): every path, after
/// resolving symbolic links, must lie inside that folder, or reading fails naming the row, column and path.
/// </summary>
public sealed record DatasetPaths
{
    /// <summary>Paths as written.</summary>
    public static DatasetPaths Trusted { get; } = new();

    /// <summary>Every path must resolve inside <paramref name="root"/>.</summary>
    public static DatasetPaths Inside(string root) => new() { Root = root };

    /// <summary>The folder every path must stay in; null = trusted.</summary>
    public string? Root { get; init; }

    /// <summary>Fail on listed files that do not exist.</summary>
    public bool CheckFilesExist { get; init; } = true;

    /// <summary>Throws <see cref="DatasetPathException"/> unless <paramref name="path"/> (full) resolves inside the root.</summary>
    /// <param name="file">The manifest or dataset.json, for the message.</param>
    /// <param name="where">The row and column ("line 3, column 'image'") or entry ("training[2].label").</param>
    /// <param name="written">The path as the file wrote it.</param>
    internal void Check(string file, string where, string written, string path)
    {
        if (Root is null) return;
        var root = RealPath.Resolve(Root);
        var resolved = RealPath.Resolve(path);
        if (!RealPath.IsInside(resolved, root)) throw new DatasetPathException(file, where, written, resolved, root);
    }
}

/// <summary>A dataset file lists a path that leaves its dataset root (by '..', an absolute path or a symbolic link).</summary>
public sealed class DatasetPathException(string file, string where, string written, string resolved, string root)
    : ImageFormatException(file, $"{where}: path '{written}' resolves to '{resolved}', outside the dataset root '{root}'")
{
    public string Where { get; } = where;
    public string Resolved { get; } = resolved;
    public string Root { get; } = root;
}

/// <summary>realpath(3) in managed code: an absolute path with every symbolic link (in any component) and '.'/'..' resolved;
/// components that do not exist are kept as written.</summary>
internal static class RealPath
{
    private const int MaxLinks = 40; // as Linux's ELOOP

    public static string Resolve(string path)
    {
        var full = Path.GetFullPath(path);
        var root = Path.GetPathRoot(full)!;
        var pending = new Stack<string>(full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries).Reverse());
        var current = root;
        int links = 0;
        while (pending.Count > 0)
        {
            var part = pending.Pop();
            if (part == ".") continue;
            if (part == "..") { current = Path.GetDirectoryName(current) ?? root; continue; }
            var next = Path.Combine(current, part);
            var target = new FileInfo(next).LinkTarget;
            if (target is null) { current = next; continue; }
            if (++links > MaxLinks) throw new IOException($"'{path}': too many levels of symbolic links");
            if (Path.IsPathRooted(target)) current = Path.GetPathRoot(target)!;
            foreach (var p in target.Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries).Reverse()) pending.Push(p);
        }
        return current;
    }

    public static bool IsInside(string path, string root) =>
        path == root || path.StartsWith(root.EndsWith(Path.DirectorySeparatorChar) ? root : root + Path.DirectorySeparatorChar, StringComparison.Ordinal);
}
