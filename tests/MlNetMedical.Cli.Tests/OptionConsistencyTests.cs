using System.CommandLine;
using Xunit;

namespace MlNetMedical.Cli.Tests;

/// <summary>The shared options mean the same in every command that has them: --out is a folder, --threads and --seed are
/// numbers, --series picks a DICOM series, --quiet only silences progress.</summary>
public sealed class OptionConsistencyTests
{
    private static IEnumerable<Command> AllCommands(Command command) => command.Subcommands.SelectMany(AllCommands).Prepend(command);

    private static List<(Command Command, Option Option)> Options(string name) =>
        AllCommands(CliApp.BuildRoot(new CliContext(TextWriter.Null, TextWriter.Null), CliApp.Commands))
            .SelectMany(c => c.Options.Where(o => o.Name == name && !o.Hidden).Select(o => (c, o))).ToList();

    [Fact]
    public void SharedOptionsHaveOneMeaning()
    {
        var outs = Options("--out");
        Assert.Equal(["codegen", "make", "predict", "quickstart", "run", "sweep"], outs.Select(o => o.Command.Name).Order());
        Assert.All(outs, o => Assert.Equal("DIR", o.Option.HelpName));
        Assert.All(outs, o => Assert.StartsWith("Output folder", o.Option.Description));

        var threads = Options("--threads");
        Assert.Equal(["evaluate", "make", "predict", "quickstart", "run", "sweep"], threads.Select(o => o.Command.Name).Order());
        Assert.All(threads, o => Assert.IsType<Option<int?>>(o.Option));

        Assert.Equal(["make", "quickstart", "run", "sweep"], Options("--seed").Select(o => o.Command.Name).Order());
        Assert.All(Options("--seed"), o => Assert.IsType<Option<int?>>(o.Option));
        Assert.Equal(["inspect", "predict"], Options("--series").Select(o => o.Command.Name).Order());
        var quiet = Options("--quiet");
        Assert.Equal(["make", "quickstart", "run", "sweep"], quiet.Select(o => o.Command.Name).Order());
        Assert.All(quiet, o => Assert.StartsWith("No progress bars or per-epoch lines on stderr", o.Option.Description));
    }

    [Theory]
    [InlineData("run", "p.yaml")]
    [InlineData("quickstart")]
    [InlineData("sweep", "s.yaml")]
    [InlineData("evaluate", "--model", "m.zip", "--data", "d.csv")]
    [InlineData("predict", "--model", "m.zip", "--input", "x.nii")]
    [InlineData("datasets", "make", "cardiac-level-2d", "--out", "never")]
    public void ThreadsBelowOneAreRefusedByEveryCommand(params string[] command)
    {
        foreach (var value in new[] { "0", "-1" })
        {
            var (code, _, stderr) = CliRun.Run([.. command, "--threads", value]);
            Assert.Equal(ExitCodes.UserError, code);
            Assert.Contains($"--threads must be ≥ 1, not {value}", stderr);
        }
    }
}
