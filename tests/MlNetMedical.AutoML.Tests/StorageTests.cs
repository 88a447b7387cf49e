using MlNetMedical.AutoML;
using Xunit;

namespace MlNetMedical.AutoML.Tests;

/// <summary>The storage contract, run against SQLite and against a real PostgreSQL server.</summary>
public class StorageTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mlnm-storage-" + Guid.NewGuid().ToString("N"));

    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    [Fact]
    public void SqliteHonoursTheContract()
    {
        using var s = StudyStorage.Sqlite(Path.Combine(_dir, "s.db"));
        CheckContract(s);
    }

    [PostgresFact]
    public void PostgresHonoursTheContract()
    {
        using var pg = new PostgresServer();
        using var s = StudyStorage.Postgres(pg.ConnectionString);
        CheckContract(s);
    }

    private static void CheckContract(IStudyStorage s)
    {
        var study = s.CreateOrLoadStudy("c", Direction.Maximize);
        Assert.Equal(study, s.CreateOrLoadStudy("c", Direction.Maximize));
        Assert.Contains("Maximize", Assert.Throws<ArgumentException>(() => s.CreateOrLoadStudy("c", Direction.Minimize)).Message);

        var t0 = s.CreateTrial(study.Id, TrialState.Running)!;
        var t1 = s.CreateTrial(study.Id, TrialState.Waiting, new ParameterSet { ["x"] = 0.25, ["k"] = 3, ["c"] = "a", ["b"] = true })!;
        Assert.Equal((0, 1), (t0.Number, t1.Number));
        Assert.Equal(TrialState.Waiting, t1.State);
        Assert.Null(s.CreateTrial(study.Id, TrialState.Running, maxTrials: 2));

        var claimed = s.ClaimWaitingTrial(study.Id)!;
        Assert.Equal(1, claimed.Number);
        Assert.Equal(TrialState.Running, claimed.State);
        Assert.Equal(new ParameterSet { ["x"] = 0.25, ["k"] = 3, ["c"] = "a", ["b"] = true }, claimed.Parameters);
        Assert.Null(s.ClaimWaitingTrial(study.Id));

        s.ReportIntermediateValue(t0.Id, 0, 0.5);
        s.ReportIntermediateValue(t0.Id, 1, double.NaN);
        s.ReportIntermediateValue(t0.Id, 2, double.PositiveInfinity);
        s.SetTrialSystemAttribute(t0.Id, "completed_rung_0", "0.5");
        s.SetTrialUserAttribute(t0.Id, "auc", "0.9");
        Assert.True(s.FinishTrial(t0.Id, TrialState.Complete, 0.75));
        Assert.False(s.FinishTrial(t0.Id, TrialState.Fail, null)); // only RUNNING trials finish
        var back = s.GetTrial(t0.Id);
        Assert.Equal(TrialState.Complete, back.State);
        Assert.Equal(0.75, back.Value);
        Assert.Equal(0.5, back.IntermediateValues[0]);
        Assert.True(double.IsNaN(back.IntermediateValues[1]));
        Assert.True(double.IsPositiveInfinity(back.IntermediateValues[2]));
        Assert.Equal("0.5", back.SystemAttributes["completed_rung_0"]);
        Assert.Equal("0.9", back.UserAttributes["auc"]);
        Assert.NotNull(back.Started);
        Assert.True(back.Completed >= back.Started);

        // Trial 1 stops beating: it is failed once and re-queued with its parameters.
        Thread.Sleep(400);
        Assert.Empty(s.FailStaleTrials(study.Id, TimeSpan.FromSeconds(30)));
        var stale = s.FailStaleTrials(study.Id, TimeSpan.FromMilliseconds(200));
        Assert.Equal(new[] { 1 }, stale.Select(t => t.Number));
        Assert.Empty(s.FailStaleTrials(study.Id, TimeSpan.FromMilliseconds(200)));
        var trials = s.GetTrials(study.Id);
        Assert.Equal(TrialState.Fail, trials[1].State);
        Assert.Contains("heartbeat", trials[1].Error);
        var retry = trials.Single(t => t.SystemAttributes.TryGetValue(TrialAttributes.RetryOf, out var of) && of == "1");
        Assert.Equal(TrialState.Waiting, retry.State);
        Assert.Equal(claimed.Parameters, retry.Parameters);
        Assert.Equal(retry.Number.ToString(), trials[1].SystemAttributes[TrialAttributes.RequeuedAs]);
        // The failed original no longer counts against the budget; its retry does.
        Assert.Null(s.CreateTrial(study.Id, TrialState.Running, maxTrials: 2));
        Assert.NotNull(s.CreateTrial(study.Id, TrialState.Running, maxTrials: 4));

        s.SetStudyUserAttribute(study.Id, "note", "hello");
        Assert.Equal("hello", s.GetStudyUserAttributes(study.Id)["note"]);
    }

    [Fact]
    public void SqliteTakesConcurrentWritersWithoutLockErrors()
    {
        var path = Path.Combine(_dir, "busy.db");
        using var s = StudyStorage.Sqlite(path);
        var study = s.CreateOrLoadStudy("busy", Direction.Minimize);
        // 8 threads, each with its own storage object (own connections), hammer the same file.
        var numbers = new System.Collections.Concurrent.ConcurrentBag<int>();
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, w =>
        {
            using var mine = StudyStorage.Sqlite(path);
            for (int i = 0; i < 25; i++)
            {
                var t = mine.CreateTrial(study.Id, TrialState.Running, new ParameterSet { ["w"] = w, ["i"] = i })!;
                mine.ReportIntermediateValue(t.Id, 0, i);
                mine.RecordHeartbeat(t.Id);
                Assert.True(mine.FinishTrial(t.Id, TrialState.Complete, i));
                numbers.Add(t.Number);
            }
        });
        Assert.Equal(Enumerable.Range(0, 200), numbers.OrderBy(n => n));
        Assert.All(s.GetTrials(study.Id), t => Assert.Equal(TrialState.Complete, t.State));
    }

    [PostgresFact]
    public void FourWorkerProcessesShareOnePostgresStudyWithoutRunningATrialTwiceOrLosingOne()
    {
        using var pg = new PostgresServer();
        using var storage = StudyStorage.Postgres(pg.ConnectionString);
        var study = storage.CreateOrLoadStudy("shared", Direction.Minimize);
        // Eight queued configurations plus sixteen the workers' tuners propose.
        for (int i = 0; i < 8; i++) storage.CreateTrial(study.Id, TrialState.Waiting, new ParameterSet { ["x"] = -1.5 + i * 0.25, ["k"] = i % 5 });
        var log = Path.Combine(_dir, "pg-workers.log");
        Directory.CreateDirectory(_dir);
        var workers = Enumerable.Range(0, 4).Select(_ => Processes.StartWorker(pg.ConnectionString, "shared", "24", log, "--step-ms", "15", "--steps", "4", "--heartbeat-ms", "2000")).ToList();
        foreach (var w in workers)
        {
            Assert.True(w.WaitForExit(240_000), "a worker did not finish in 240 s");
            Assert.True(w.ExitCode == 0, $"worker exited {w.ExitCode}: {w.StandardError.ReadToEnd()}");
        }
        var lines = Processes.WorkerLog(log);
        var starts = lines.Where(l => l.StartsWith("start ")).Select(l => int.Parse(l.Split(' ')[1])).ToList();
        var dones = lines.Where(l => l.StartsWith("done ")).Select(l => int.Parse(l.Split(' ')[1])).ToList();
        Assert.Equal(24, starts.Count);
        Assert.Equal(Enumerable.Range(0, 24), starts.OrderBy(n => n));    // every trial ran, none twice
        Assert.Equal(Enumerable.Range(0, 24), dones.OrderBy(n => n));
        var trials = storage.GetTrials(study.Id);
        Assert.Equal(24, trials.Count);
        Assert.All(trials, t => Assert.Equal(TrialState.Complete, t.State));
        for (int i = 0; i < 8; i++) Assert.Equal(-1.5 + i * 0.25, trials[i].Parameters.GetDouble("x"), 12);
        int pids = lines.Where(l => l.StartsWith("start ")).Select(l => l.Split(' ')[2]).Distinct().Count();
        Assert.True(pids >= 2, $"only {pids} worker process(es) took trials");
    }

    private const string Secret = "pa55:w@rd/é&x=1";

    [Fact]
    public void PostgresUrlsKeywordStringsAndNpgsqlStringsKeepEveryOption()
    {
        var url = PostgresConnection.Parse("postgresql://alice:pa55%3Aw%40rd%2F%C3%A9%26x%3D1@db.example.org:6543/studies"
            + "?sslmode=require&application_name=mlnm%20worker&connect_timeout=7&target_session_attrs=read-write&options=-c%20search_path%3Dtrials"
            + "&sslrootcert=%2Fetc%2Fca.pem&keepalives_idle=30&channel_binding=require&passfile=%2Fhome%2Falice%2F.pgpass");
        Assert.Equal(("db.example.org", 6543, "studies", "alice", Secret), (url.Host, url.Port, url.Database, url.Username, url.Password));
        Assert.Equal(Npgsql.SslMode.Require, url.SslMode);
        Assert.Equal("mlnm worker", url.ApplicationName);
        Assert.Equal(7, url.Timeout);
        Assert.Equal("read-write", url.TargetSessionAttributes);
        Assert.Equal("-c search_path=trials", url.Options);
        Assert.Equal("/etc/ca.pem", url.RootCertificate);
        Assert.Equal(30, url.TcpKeepAliveTime);
        Assert.Equal(Npgsql.ChannelBinding.Require, url.ChannelBinding);
        Assert.Equal("/home/alice/.pgpass", url.Passfile);

        var keywords = PostgresConnection.Parse(@"host=db port=6543 dbname='my studies' user=alice password='pa55:w@rd/é&x=1' sslmode=verify-full sslrootcert = /ca.pem");
        Assert.Equal(("db", 6543, "my studies", "alice", Secret, Npgsql.SslMode.VerifyFull, "/ca.pem"),
            (keywords.Host, keywords.Port, keywords.Database, keywords.Username, keywords.Password, keywords.SslMode, keywords.RootCertificate));
        Assert.Equal("it's", PostgresConnection.Parse(@"host=db password='it\'s'").Password);

        var hosts = PostgresConnection.Parse("postgres://db1:5433,db2:5434,[::1]/studies?target_session_attrs=primary");
        Assert.Equal("db1:5433,db2:5434,[::1]:5432", hosts.Host);
        Assert.Equal("/var/run/postgresql", PostgresConnection.Parse("postgresql://%2Fvar%2Frun%2Fpostgresql/studies").Host);
        Assert.Null(PostgresConnection.Parse("postgresql://db/studies").Password); // from PGPASSWORD or the password file when it connects

        var npgsql = PostgresConnection.Parse("Host=db;Port=6543;Username=alice;Password=x;Database=studies;SSL Mode=Require");
        Assert.Equal(("db", Npgsql.SslMode.Require), (npgsql.Host, npgsql.SslMode));
    }

    [Theory]
    [InlineData("postgresql://alice:SECRET@[::1/studies", "host")]
    [InlineData("postgresql://alice:SECRET@db:port/studies", "port")]
    [InlineData("postgresql://alice:SECRET@db:99999/studies", "port")]
    [InlineData("postgresql://alice:SECRET@db/studies?sslmode=sometimes", "sslmode")]
    [InlineData("postgresql://alice:SECRET@db/studies?frobnicate=1", "frobnicate")]
    [InlineData("postgresql://alice:SECRET@db/studies?tcp_user_timeout=1", "tcp_user_timeout")]
    [InlineData("postgresql://alice:SECR%ZZET@db/studies", "percent")]
    [InlineData("host=db password='SECRET", "quote")]
    [InlineData("host=db password=SECRET dbname", "dbname")]
    [InlineData("host=db password=SECRET connect_timeout=soon", "connect_timeout")]
    [InlineData("Host=db;Frobnicate=1;Password=SECRET", "frobnicate")]
    [InlineData("mysql://alice:SECRET@db/studies", "postgresql://")]
    public void BadConnectionsAreArgumentErrorsThatNeverShowThePassword(string text, string named)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => PostgresConnection.Parse(text));
        Assert.Contains(named, e.Message);
        Assert.DoesNotContain("SECRET", e.ToString());
        Assert.DoesNotContain("SECR", e.ToString());
    }

    [Theory]
    [InlineData("host=db password=SE CRET", "single quotes")]                // an unquoted space
    [InlineData("host=db password=SE CRET=1", "single quotes")]
    [InlineData("postgresql://alice:SE/CRET@db/studies", "percent-encode")] // a raw '/' ends the authority early
    [InlineData("postgresql://db/studies?password=SE&CRET", "percent-encode")] // a raw '&' splits the query
    [InlineData("postgresql://db/studies?password=SE&CRET=1", "percent-encode")]
    [InlineData("Host=db;Password=SE;CRET=1", "quote a password")]          // a raw ';'
    public void APasswordThatBreaksTheSyntaxIsNotEchoedInPart(string text, string hint)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => PostgresConnection.Parse(text));
        Assert.Contains(hint, e.Message);
        Assert.DoesNotContain("CRET", e.ToString());
    }

    [Fact]
    public void DescriptionsAndMaskedTextHideThePassword()
    {
        foreach (var text in new[]
        {
            "postgresql://alice:pa55%3Aw%40rd%2F%C3%A9%26x%3D1@db:6543/studies?sslmode=require",
            "host=db user=alice password='pa55:w@rd/é&x=1' dbname=studies sslmode=require",
            "Host=db;Username=alice;Password=\"pa55:w@rd/é&x=1\";Database=studies;SSL Mode=Require",
        })
        {
            var description = PostgresConnection.Describe(PostgresConnection.Parse(text));
            Assert.Contains("alice@db", description);
            Assert.Contains("studies", description);
            Assert.Contains("sslmode=require", description);
            Assert.DoesNotContain("pa55", description);
            Assert.DoesNotContain("pa55", PostgresConnection.Mask(text));
            Assert.DoesNotContain("pa55%3A", PostgresConnection.Mask(text));
        }
        Assert.Equal("postgresql://alice:***@db/x", PostgresConnection.Mask("postgresql://alice:hunter2@db/x"));
        Assert.Equal("host=db password=*** user=a", PostgresConnection.Mask("host=db password='hunter 2' user=a"));
    }

    [PostgresFact]
    public void SslModeAndOtherOptionsInAUrlAreHonoured()
    {
        using var pg = new PostgresServer(); // no SSL
        var url = $"postgresql://postgres@127.0.0.1:{pg.Port}/postgres";
        using (var plain = StudyStorage.Postgres(url + "?sslmode=disable&application_name=mlnm-probe")) plain.CreateOrLoadStudy("ok", Direction.Maximize);
        // The server has no SSL: a URL that requires it must not connect (it did when sslmode was dropped).
        var e = Assert.ThrowsAny<Exception>(() => StudyStorage.Postgres(url + "?sslmode=require").Dispose());
        Assert.Contains("SSL", e.ToString(), StringComparison.OrdinalIgnoreCase);
        using var keywords = StudyStorage.Postgres($"host=127.0.0.1 port={pg.Port} user=postgres dbname=postgres sslmode=disable");
        keywords.CreateOrLoadStudy("kw", Direction.Minimize);
    }

    [PostgresFact]
    public void APasswordCanComeFromPgpassOrPgpasswordInsteadOfTheUrl()
    {
        const string password = "s3cr3t-Pa55";
        using var pg = new PostgresServer(password);
        var url = $"postgresql://postgres@127.0.0.1:{pg.Port}/postgres";
        Assert.ThrowsAny<Exception>(() => StudyStorage.Postgres(url + "?password=wrong").Dispose());

        Directory.CreateDirectory(_dir);
        var passfile = Path.Combine(_dir, "pgpass");
        File.WriteAllText(passfile, $"127.0.0.1:{pg.Port}:*:postgres:{password}\n");
        File.SetUnixFileMode(passfile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        using (var fromFile = StudyStorage.Postgres(url + "?passfile=" + Uri.EscapeDataString(passfile))) fromFile.CreateOrLoadStudy("file", Direction.Maximize);

        var before = Environment.GetEnvironmentVariable("PGPASSWORD");
        try
        {
            Environment.SetEnvironmentVariable("PGPASSWORD", password);
            using var fromEnvironment = StudyStorage.Postgres(url);
            fromEnvironment.CreateOrLoadStudy("env", Direction.Maximize);
        }
        finally { Environment.SetEnvironmentVariable("PGPASSWORD", before); }
    }
}
