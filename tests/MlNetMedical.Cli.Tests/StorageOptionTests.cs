using Xunit;

namespace MlNetMedical.Cli.Tests;

/// <summary>`mlnm sweep --storage`: a bad value is a user error (exit 1) and a password never appears in what mlnm prints.</summary>
/// <remarks>In the training collection: one test sets MLNM_STORAGE, which the sweep tests there must not see.</remarks>
[Collection(TrainingCollection.Name)]
public sealed class StorageOptionTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mlnm-storage-").FullName;

    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    private const string Password = "s3cr3t-Pa55";

    private string Sweep()
    {
        var path = Path.Combine(_dir, "s.yaml");
        File.WriteAllText(path, "name: s\ndata: {synthetic: {task: cardiac-level-2d, train: 12, test: 6, pretrain: 6, size: 16}}\nsweep: {strategies: [scratch], max_trials: 1, epochs: 1}\n");
        return path;
    }

    [Theory]
    [InlineData("postgres:postgresql://alice:" + Password + "@[::1")]                  // unterminated IPv6 host
    [InlineData("postgresql://alice:" + Password + "@db:notaport/studies")]            // port is not a number
    [InlineData("postgres:host=db user=alice password=" + Password + " sslmode=sometimes")] // bad sslmode
    [InlineData("postgres:host=db password='" + Password)]                             // unterminated quote
    [InlineData("postgres:host=db password=" + Password + " frobnicate=1")]            // unknown option
    [InlineData("mysql://alice:" + Password + "@db/studies")]                          // unknown scheme
    [InlineData("postgresql://alice:" + Password + "@db/studies?sslmode=require&nonsense=1")]
    public void BadStorageIsAUserErrorThatNeverShowsThePassword(string storage)
    {
        var outDir = Path.Combine(_dir, "out-" + Guid.NewGuid().ToString("N"));
        var (code, stdout, stderr) = CliRun.Run("sweep", Sweep(), "--out", outDir, "--quiet", "--storage", storage);
        Assert.True(code == ExitCodes.UserError, $"exit {code}: {stderr}");
        Assert.Contains("--storage", stderr);
        Assert.DoesNotContain(Password, stdout + stderr);
        Assert.DoesNotContain("   at ", stderr);
        Assert.False(Directory.Exists(outDir), "nothing is written before the storage is understood");
    }

    [Fact]
    public void AnUnreachableServerIsAUserErrorThatNeverShowsThePassword()
    {
        var outDir = Path.Combine(_dir, "unreachable");
        // Port 1 on loopback: nothing listens, the connection is refused at once.
        var (code, stdout, stderr) = CliRun.Run("sweep", Sweep(), "--out", outDir, "--quiet",
            "--storage", $"postgresql://alice:{Password}@127.0.0.1:1/studies?connect_timeout=5");
        Assert.True(code == ExitCodes.UserError, $"exit {code}: {stderr}");
        Assert.Contains("127.0.0.1", stderr);
        Assert.Contains("warning: the password in --storage is visible to other users", stderr);
        Assert.DoesNotContain(Password, stdout + stderr);
    }

    [Fact]
    public void TheStorageCanComeFromTheEnvironmentInsteadOfTheCommandLine()
    {
        var before = Environment.GetEnvironmentVariable(Sweeps.SweepStorage.EnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable(Sweeps.SweepStorage.EnvironmentVariable, $"postgresql://alice:{Password}@127.0.0.1:1/studies");
            var (code, stdout, stderr) = CliRun.Run("sweep", Sweep(), "--out", Path.Combine(_dir, "from-environment"), "--quiet");
            Assert.True(code == ExitCodes.UserError, $"exit {code}: {stderr}");
            Assert.Contains("MLNM_STORAGE: cannot open the study storage postgresql://alice@127.0.0.1:1/studies", stderr);
            Assert.DoesNotContain("warning", stderr); // not on the command line: nothing for ps to show
            Assert.DoesNotContain(Password, stdout + stderr);
        }
        finally { Environment.SetEnvironmentVariable(Sweeps.SweepStorage.EnvironmentVariable, before); }
    }
}
