using System.CommandLine;
using MlNetMedical.Cli;
using Xunit;

namespace MlNetMedical.Cli.Tests;

public sealed class ExitCodeTests
{
    private sealed class Throwing(string name, Exception exception) : ICliCommand
    {
        public Command Build(CliContext context)
        {
            var command = new Command(name);
            command.SetAction(new Func<ParseResult, int>(_ => throw exception));
            return command;
        }
    }

    private static (int Code, string Err) Run(string arg)
    {
        var error = new StringWriter();
        ICliCommand[] commands =
        [
            new Throwing("user", new CliUserException("file 'x.csv' has no column 'label'")),
            new Throwing("bug", new InvalidOperationException("boom")),
        ];
        var code = CliApp.Run([arg], new StringWriter(), error, commands);
        return (code, error.ToString());
    }

    [Fact]
    public void UserErrorsExitWithOneAndAMessage()
    {
        var (code, err) = Run("user");
        Assert.Equal(ExitCodes.UserError, code);
        Assert.Equal("error: file 'x.csv' has no column 'label'", err.Trim());
    }

    [Fact]
    public void InternalErrorsExitWithTwoAndTheException()
    {
        var (code, err) = Run("bug");
        Assert.Equal(ExitCodes.InternalError, code);
        Assert.Contains("InvalidOperationException: boom", err);
    }

    [Fact]
    public void EveryCommandIsRegisteredOnce()
    {
        var root = CliApp.BuildRoot(new CliContext(TextWriter.Null, TextWriter.Null), CliApp.Commands);
        var names = root.Subcommands.Select(c => c.Name).ToList();
        Assert.Contains("info", names);
        Assert.Equal(names.Count, names.Distinct().Count());
    }
}
