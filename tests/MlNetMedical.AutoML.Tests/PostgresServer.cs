using Xunit;

namespace MlNetMedical.AutoML.Tests;

/// <summary>
/// A throw-away PostgreSQL server (Debian's postgresql package) on a free local port in a temp data dir.
/// PostgreSQL refuses to run as root, so as root the server runs as the 'postgres' user via runuser.
/// </summary>
internal sealed class PostgresServer : IDisposable
{
    private readonly string _dir;
    private readonly string _bin;

    public static string? BinDir => Directory.Exists("/usr/lib/postgresql")
        ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin"))
                   .Where(b => File.Exists(Path.Combine(b, "initdb")) && File.Exists(Path.Combine(b, "pg_ctl")))
                   .OrderByDescending(b => b).FirstOrDefault()
        : null;

    private static bool IsRoot => Environment.UserName == "root";

    /// <summary>Why the server cannot be started here, or null when it can.</summary>
    public static string? Unavailable
    {
        get
        {
            if (BinDir is null) return "PostgreSQL server binaries (Debian package postgresql) are not installed: /usr/lib/postgresql/*/bin/initdb missing";
            if (IsRoot && !File.Exists("/usr/sbin/runuser") && !File.Exists("/sbin/runuser")) return "running as root without runuser: cannot start PostgreSQL as a non-root user";
            if (IsRoot && !File.ReadAllText("/etc/passwd").Contains("\npostgres:")) return "running as root but there is no 'postgres' user to run the server as";
            return null;
        }
    }

    /// <summary>Whether the environment variable CI is "true" or "1" (case-insensitive): PostgreSQL tests must run, never skip.</summary>
    public static bool InCi => Environment.GetEnvironmentVariable("CI")?.Trim().ToLowerInvariant() is "true" or "1";

    public string ConnectionString { get; }
    public int Port { get; }

    /// <param name="password">Null: every local connection is trusted. Otherwise the 'postgres' user has this password and the
    /// server asks for it (scram-sha-256).</param>
    public PostgresServer(string? password = null)
    {
        if (Unavailable is { } why)
            throw new InvalidOperationException(InCi ? $"CI={Environment.GetEnvironmentVariable("CI")}: the PostgreSQL tests must run in CI, but {why}" : why);
        _bin = BinDir!;
        _dir = Path.Combine(Path.GetTempPath(), "mlnm-pg-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(_dir);
        if (IsRoot) Processes.Run("chown", "postgres", _dir);
        Port = Processes.FreePort();
        if (password is null) AsServerUser(Path.Combine(_bin, "initdb"), "-D", Data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync");
        else
        {
            var passwordFile = Path.Combine(_dir, "initdb-password");
            File.WriteAllText(passwordFile, password + "\n");
            if (IsRoot) Processes.Run("chown", "postgres", passwordFile);
            AsServerUser(Path.Combine(_bin, "initdb"), "-D", Data, "-A", "scram-sha-256", "--pwfile", passwordFile, "-U", "postgres", "-E", "UTF8", "--no-sync");
            File.Delete(passwordFile);
        }
        AsServerUser(Path.Combine(_bin, "pg_ctl"), "-D", Data, "-l", Path.Combine(_dir, "server.log"), "-w", "-t", "60",
                     "-o", $"-p {Port} -k {_dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", "start");
        ConnectionString = $"Host=127.0.0.1;Port={Port};Username=postgres;Database=postgres;Timeout=30;Command Timeout=60";
    }

    private string Data => Path.Combine(_dir, "data");

    private string AsServerUser(string file, params string[] args) =>
        IsRoot ? Processes.Run("runuser", new[] { "-u", "postgres", "--", file }.Concat(args).ToArray()) : Processes.Run(file, args);

    public void Dispose()
    {
        try { AsServerUser(Path.Combine(_bin, "pg_ctl"), "-D", Data, "-m", "immediate", "-w", "stop"); }
        catch (Exception) { /* already down */ }
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>
/// A fact that needs a local PostgreSQL server; reported as skipped (with the reason) where it cannot start, except in CI
/// (<c>CI=true</c>, as GitHub Actions, GitLab and most CI systems set it): there the test runs and fails with the reason, so a CI
/// machine without the server (<c>.ci/run</c> → <c>./test.sh</c> → <c>scripts/bootstrap.sh --test</c> installs it) cannot pass silently.
/// </summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (PostgresServer.Unavailable is { } why && !PostgresServer.InCi) Skip = "SKIPPED: " + why;
    }
}
