using System.CommandLine;
using MlNetMedical.Cli.Pipelines;

namespace MlNetMedical.Cli.Commands;

/// <summary>Actions of the long commands (`run`, `quickstart`, `sweep`) that Ctrl+C and SIGTERM cancel cleanly.</summary>
internal static class Interruptible
{
    /// <summary>
    /// Sets <paramref name="work"/> as the command's action with System.CommandLine's cancellation token. The work runs on a
    /// pool thread: System.CommandLine installs its SIGINT/SIGTERM handler only once the action has returned its task, so a
    /// synchronous action would never see the signal.
    /// </summary>
    public static Command SetInterruptibleAction(this Command command, Func<ParseResult, CancellationToken, int> work)
    {
        command.SetAction((parse, cancellation) => Task.Run(() => work(parse, cancellation), CancellationToken.None));
        return command;
    }

    /// <summary>The line the three commands' help adds to their description.</summary>
    public const string Help = "\nCtrl+C or SIGTERM stops at the next training step, keeps what finished (models, log, metrics.json and report.html marked interrupted) and exits with 130.";

    /// <summary>130 when the work was interrupted, else 0.</summary>
    public static int ExitCode(Interruption? interrupted) => interrupted is null ? ExitCodes.Success : ExitCodes.Interrupted;
}
