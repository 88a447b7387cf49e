using MlNetMedical.Cli.Commands;
using Xunit;

namespace MlNetMedical.Cli.Tests;

public sealed class HelpTests
{
    public static TheoryData<string> CommandNames()
    {
        var root = CliApp.BuildRoot(new CliContext(TextWriter.Null, TextWriter.Null), CliApp.Commands);
        return new TheoryData<string>(root.Subcommands.Select(c => c.Name));
    }

    [Theory]
    [MemberData(nameof(CommandNames))]
    public void EveryCommandsHelpShowsExamplesOfItself(string name)
    {
        var (code, stdout, _) = CliRun.Run(name, "--help");
        Assert.Equal(ExitCodes.Success, code);
        var examples = stdout[(stdout.IndexOf(Help.ExamplesHeading, StringComparison.Ordinal) is var at and >= 0 ? at : throw new Xunit.Sdk.XunitException($"'mlnm {name} --help' has no examples:\n{stdout}"))..]
            .Split('\n').Skip(1).TakeWhile(l => l.StartsWith("  ", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(examples);
        Assert.All(examples, e => Assert.StartsWith($"  mlnm {name}", e));
    }

    [Theory]
    [InlineData("run")]
    [InlineData("sweep")]
    [InlineData("quickstart")]
    public void CommandsThatWriteAnOutputFolderShareItsOptions(string name)
    {
        var (code, stdout, _) = CliRun.Run(name, "--help");
        Assert.Equal(ExitCodes.Success, code);
        foreach (var option in new[] { "--out", "--set", "--quiet", "--json" }) Assert.Contains(option, stdout);
    }

    [Fact]
    public void EveryRegisteredCommandAndSubcommandHasExamples()
    {
        var root = CliApp.BuildRoot(new CliContext(TextWriter.Null, TextWriter.Null), CliApp.Commands);
        Assert.Equal(CliApp.Commands.Count, root.Subcommands.Count);
        var all = root.Subcommands.SelectMany(c => c.Subcommands.Prepend(c)).ToList();
        Assert.All(all, c => Assert.True(Help.ExamplesOf(c).Count > 0, $"'{c.Name}' has no examples: add .WithExamples(...) where it is built"));
    }

    [Fact]
    public void RootHelpListsCommandsWithoutExampleBlocks()
    {
        var (code, stdout, _) = CliRun.Run("--help");
        Assert.Equal(ExitCodes.Success, code);
        Assert.Contains("evaluate", stdout);
        Assert.Contains("predict", stdout);
        Assert.DoesNotContain(Help.ExamplesHeading, stdout);
    }
}
