using Xunit;

namespace MlNetMedical.Cli.Tests;

public sealed class CommandHelpTests
{
    [Theory]
    [InlineData("run")]
    [InlineData("quickstart")]
    [InlineData("codegen")]
    [InlineData("info")]
    [InlineData("inspect")]
    [InlineData("datasets")]
    public void CommandsHaveHelpWithExamples(string command)
    {
        var (code, stdout, _) = CliRun.Run(command, "--help");
        Assert.Equal(ExitCodes.Success, code);
        Assert.Contains("Examples:", stdout);
        Assert.Contains($"mlnm {command}", stdout);
    }
}
