using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace MlNetMedical.AutoML;

/// <summary>
/// The embedded store: one SQLite file in WAL mode (readers never wait for the writer), write transactions
/// begun IMMEDIATE (no lock upgrades, so no deadlock-style "database is locked"), a 60 s busy timeout and a
/// retry loop on top. Good for parallel trials in one process and a few processes on one machine.
/// </summary>
public sealed class SqliteStudyStorage : RelationalStudyStorage
{
    private readonly string _connectionString;

    public SqliteStudyStorage(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = System.IO.Path.GetFullPath(path);
        System.IO.Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        _connectionString = new SqliteConnectionStringBuilder { DataSource = Path, DefaultTimeout = 60, Pooling = true }.ToString();
        using (var c = new SqliteConnection(_connectionString))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "PRAGMA journal_mode=WAL;";
            cmd.ExecuteNonQuery();
        }
        CreateSchema();
    }

    public string Path { get; }
    public override string? Directory => System.IO.Path.GetDirectoryName(Path);

    protected override DbConnection OpenConnection()
    {
        var c = new SqliteConnection(_connectionString);
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA busy_timeout=60000; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;";
        cmd.ExecuteNonQuery();
        return c;
    }

    protected override DbTransaction BeginWrite(DbConnection connection) => ((SqliteConnection)connection).BeginTransaction(deferred: false);
    protected override string? LockStudySql => null;
    protected override string SkipLocked => "";
    protected override string NowMs => "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)";
    protected override string IdColumn => "INTEGER PRIMARY KEY AUTOINCREMENT";
    protected override string RealType => "REAL";
    protected override bool IsTransient(Exception e) => e is SqliteException { SqliteErrorCode: 5 or 6 }; // BUSY, LOCKED
}
