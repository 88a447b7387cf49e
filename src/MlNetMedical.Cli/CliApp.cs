using System.CommandLine;
using MlNetMedical.Cli.Commands;

namespace MlNetMedical.Cli;

/// <summary>Exit codes of the mlnm command.</summary>
public static class ExitCodes
{
    public const int Success = 0;
    /// <summary>Bad arguments or input: the message says what to fix.</summary>
    public const int UserError = 1;
    /// <summary>A bug or an environment failure: the message carries the exception.</summary>
    public const int InternalError = 2;
    /// <summary>Interrupted (Ctrl+C / SIGINT, SIGTERM): what finished is kept and the last line says where (128 + SIGINT, as shells report it).</summary>
    public const int Interrupted = 130;
}

/// <summary>A problem the user can fix (bad argument, missing file); reported without a stack trace, exit code 1.</summary>
public sealed class CliUserException(string message) : Exception(message);

/// <summary>One `mlnm` subcommand. Each lives in its own class under Commands/ and is listed in <see cref="CliApp.Commands"/>.</summary>
public interface ICliCommand
{
    Command Build(CliContext context);
}

/// <summary>Where commands write: stdout for results (e.g. JSON), stderr for progress and diagnostics.</summary>
public sealed record CliContext(TextWriter Output, TextWriter Error);

/// <summary>Builds the root command and runs it, mapping failures to <see cref="ExitCodes"/>.</summary>
public static class CliApp
{
    /// <summary>Every subcommand, in help order. New commands add one line here.</summary>
    public static IReadOnlyList<ICliCommand> Commands { get; } =
    [
        new QuickstartCommand(),
        new RunCommand(),
        new SweepCommand(),
        new EvaluateCommand(),
        new PredictCommand(),
        new ExportCommand(),
        new CodegenCommand(),
        new DatasetsCommand(),
        new InspectCommand(),
        new InfoCommand(),
    ];

    public static RootCommand BuildRoot(CliContext context, IEnumerable<ICliCommand> commands)
    {
        var root = new RootCommand("mlnm: build medical image classifiers from little labelled data (MlNetMedical).");
        foreach (var command in commands) root.Subcommands.Add(command.Build(context));
        Help.ShowExamples(root);
        return root;
    }

    /// <summary>How long a command may take, after Ctrl+C or SIGTERM, to stop at the next training step and write its partial
    /// results; past it System.CommandLine ends the process with 130 (SIGINT) or 143 (SIGTERM) without them.</summary>
    public static readonly TimeSpan InterruptGrace = TimeSpan.FromMinutes(2);

    public static int Run(string[] args, TextWriter output, TextWriter error) => Run(args, output, error, Commands);

    /// <summary>Runs <paramref name="args"/> against the given commands (tests pass their own); <paramref name="cancellation"/>
    /// acts like Ctrl+C (System.CommandLine links it with SIGINT/SIGTERM).</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error, IEnumerable<ICliCommand> commands, CancellationToken cancellation = default)
    {
        var context = new CliContext(output, error);
        try
        {
            var parse = BuildRoot(context, commands).Parse(args);
            // Parse errors and help are handled by System.CommandLine (parse errors exit with 1).
            var configuration = new InvocationConfiguration
            {
                Output = output, Error = error, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = InterruptGrace,
            };
            // InvokeAsync: only the asynchronous path hands actions the token that SIGINT/SIGTERM cancel.
            return parse.InvokeAsync(configuration, cancellation).GetAwaiter().GetResult();
        }
        catch (Exception e) when (UserErrors.Message(e) is { } message)
        {
            error.WriteLine($"error: {message}");
            return ExitCodes.UserError;
        }
        catch (Exception e)
        {
            error.WriteLine($"internal error: {e}");
            return ExitCodes.InternalError;
        }
    }
}
