namespace MlNetMedical.Imaging;

/// <summary>
/// A file that cannot be read as the format it claims: truncated, corrupt, wrong magic, header that
/// disagrees with the data, or an unsupported feature. The message names the file and the problem.
/// This (and <see cref="FileNotFoundException"/>/<see cref="DirectoryNotFoundException"/>) is what readers throw on bad input.
/// </summary>
public class ImageFormatException : IOException
{
    public ImageFormatException(string path, string problem, Exception? inner = null)
        : base($"'{path}': {problem}", inner)
    {
        Path = path;
        Problem = problem;
    }

    public string Path { get; }
    public string Problem { get; }
}
