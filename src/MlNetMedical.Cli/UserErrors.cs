using System.Reflection;
using MlNetMedical.Cli.Yaml;
using MlNetMedical.Imaging;

namespace MlNetMedical.Cli;

/// <summary>Which failures the user can fix (exit code 1, one message) and which are bugs (exit code 2, with the stack trace).</summary>
internal static class UserErrors
{
    /// <summary>The message to print when <paramref name="e"/> is something the user can fix: bad arguments or config, a missing,
    /// unreadable or corrupt file (readers throw <see cref="ImageFormatException"/>, an <see cref="IOException"/>, naming it),
    /// a file system that refuses a write. Null for anything else. With <paramref name="libraryRejections"/>, also the
    /// argument and state checks by which the library turns down settings during a run (a level that does not exist, too few
    /// groups for validation).</summary>
    public static string? Message(Exception e, bool libraryRejections = false) => Unwrap(e) switch
    {
        CliUserException or YamlConfigException or Models.EngineSettingException or IOException or UnauthorizedAccessException => Unwrap(e).Message,
        ArgumentException or InvalidOperationException or InvalidDataException when libraryRejections => Unwrap(e).Message,
        _ => null,
    };

    /// <summary>The failure inside the wrappers that prefetching and reflection add.</summary>
    public static Exception Unwrap(Exception e)
    {
        while (true)
        {
            if (e is AggregateException { InnerExceptions.Count: 1 } aggregate) e = aggregate.InnerExceptions[0];
            else if (e is TargetInvocationException { InnerException: { } inner }) e = inner;
            else return e;
        }
    }
}
