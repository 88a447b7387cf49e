using MlNetMedical.Cli;
using Xunit;

namespace MlNetMedical.Cli.Tests;

public sealed class DatasetsCommandTests
{
    [Fact]
    public void MakeWritesManifestAndLogsPlainProgressWhenNotATerminal()
    {
        var dir = Directory.CreateTempSubdirectory("mlnm-datasets-").FullName;
        try
        {
            var (code, stdout, stderr) = CliRun.Run("datasets", "make", "brain-tumor-3d", "--out", dir, "--train", "3", "--test", "3", "--pretrain", "2", "--size", "16", "--seed", "5");
            Assert.Equal(ExitCodes.Success, code);
            Assert.Contains("wrote 8 cases", stdout);
            Assert.Contains("8/8 cases", stderr);
            var lines = File.ReadAllLines(Path.Combine(dir, "manifest.csv"));
            Assert.Equal("id,image,mask,label,group,split", lines[0]);
            Assert.Equal(9, lines.Length);
            Assert.All(lines.Skip(1), l => Assert.True(File.Exists(Path.Combine(dir, l.Split(',')[1]))));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Theory]
    [InlineData("--channels", "3", "--channels")]
    [InlineData("--size", "2", "--size")]
    [InlineData("--train", "-4", "--train")]
    public void BadOptionsExitWithOneAndNameTheOption(string option, string value, string named)
    {
        var dir = Path.Combine(Path.GetTempPath(), "mlnm-datasets-bad-" + Guid.NewGuid());
        var (code, _, stderr) = CliRun.Run("datasets", "make", "brain-tumor-3d", "--out", dir, option, value);
        Assert.Equal(ExitCodes.UserError, code);
        Assert.Contains(named, stderr);
        Assert.False(Directory.Exists(dir), "nothing is written when the options are bad");
    }

    [Fact]
    public void UnknownDatasetListsTheNames()
    {
        var (code, _, stderr) = CliRun.Run("datasets", "make", "brats", "--out", Path.GetTempPath());
        Assert.Equal(ExitCodes.UserError, code);
        Assert.Contains("cardiac-level-2d", stderr);
        var (listCode, listOut, _) = CliRun.Run("datasets", "list");
        Assert.Equal(ExitCodes.Success, listCode);
        Assert.Contains("liver-lesion-2d", listOut);
    }
}
