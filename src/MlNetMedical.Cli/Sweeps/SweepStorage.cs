using System.Data.Common;
using System.Net.Sockets;
using MlNetMedical.AutoML;

namespace MlNetMedical.Cli.Sweeps;

/// <summary>
/// Where `mlnm sweep` keeps its study: --storage, else the MLNM_STORAGE environment variable (so a connection with a password
/// need not be on the command line, where `ps` shows it to every user), else OUT/study.db. Every problem is a user error that
/// names the source and never shows the password.
/// </summary>
public static class SweepStorage
{
    public const string EnvironmentVariable = "MLNM_STORAGE";

    /// <summary>The storage text and where it came from ("--storage" or "MLNM_STORAGE"); null text = the default OUT/study.db.</summary>
    public static (string? Text, string Source) Choose(string? option) =>
        option is not null ? (option, "--storage")
        : Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } fromEnvironment ? (fromEnvironment, EnvironmentVariable)
        : (null, "--storage");

    /// <summary>Opens the storage <paramref name="text"/> (from <paramref name="source"/>): sqlite:PATH, postgres:CONNECTION, or a
    /// postgresql:// URL. <paramref name="warn"/> hears about a password given on the command line.</summary>
    public static (IStudyStorage Storage, string Description) Open(string? text, string source, string outDir, Action<string> warn)
    {
        if (text is null)
        {
            var path = Path.Combine(outDir, "study.db");
            return (StudyStorage.Sqlite(path), path);
        }
        const string sqlite = "sqlite:", postgres = "postgres:";
        if (text.StartsWith(sqlite, StringComparison.Ordinal) && text.Length > sqlite.Length)
        {
            var path = Path.GetFullPath(text[sqlite.Length..]);
            return (StudyStorage.Sqlite(path), path);
        }
        var connection = text.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) ? text
            : text.StartsWith(postgres, StringComparison.Ordinal) && text.Length > postgres.Length ? text[postgres.Length..]
            : throw new CliUserException($"{source} is '{PostgresConnection.Mask(text)}'; expected sqlite:PATH, postgres:CONNECTION "
                                         + "(libpq keywords such as \"host=db dbname=studies\", or an Npgsql string) or a postgresql://USER@HOST:PORT/DATABASE?OPTION=VALUE URL");
        Npgsql.NpgsqlConnectionStringBuilder settings;
        try { settings = PostgresConnection.Parse(connection); }
        catch (ArgumentException e) { throw new CliUserException($"{source}: {e.Message}"); }
        var description = PostgresConnection.Describe(settings);
        if (settings.Password is not null && source == "--storage")
            warn($"warning: the password in --storage is visible to other users of this machine (ps); give it by PGPASSWORD, a password file (~/.pgpass or passfile=) or {EnvironmentVariable} instead");
        try { return (StudyStorage.Postgres(connection), description); }
        catch (Exception e) when (e is DbException or SocketException or TimeoutException or IOException or InvalidOperationException)
        {
            throw new CliUserException($"{source}: cannot open the study storage {description}: {PostgresConnection.Mask(e.Message)}");
        }
    }
}
