using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.Runtime.CompilerServices;

namespace MlNetMedical.Cli.Commands;

/// <summary>
/// Usage examples for `--help`: commands register theirs with <see cref="WithExamples{TCommand}"/>, and
/// <see cref="ShowExamples"/> makes `--help` print an "Examples:" section after the options.
/// </summary>
public static class Help
{
    public const string ExamplesHeading = "Examples:";

    private static readonly ConditionalWeakTable<Command, string[]> Registered = new();

    /// <summary>Attaches example command lines to <paramref name="command"/> and returns it.</summary>
    public static TCommand WithExamples<TCommand>(this TCommand command, params string[] examples) where TCommand : Command
    {
        if (examples.Length == 0) throw new ArgumentException("give at least one example", nameof(examples));
        Registered.AddOrUpdate(command, examples);
        return command;
    }

    /// <summary>The examples attached to <paramref name="command"/> (empty when none).</summary>
    public static IReadOnlyList<string> ExamplesOf(Command command) => Registered.TryGetValue(command, out var e) ? e : [];

    /// <summary>Makes the help option of <paramref name="root"/> print, after the standard help, the examples of the command asked about.</summary>
    public static void ShowExamples(RootCommand root)
    {
        foreach (var option in root.Options.OfType<HelpOption>())
            if (option.Action is SynchronousCommandLineAction standard)
                option.Action = new WithExamplesAction(standard);
    }

    private sealed class WithExamplesAction(SynchronousCommandLineAction standard) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            var code = standard.Invoke(parseResult);
            var examples = ExamplesOf(parseResult.CommandResult.Command);
            if (examples.Count == 0) return code;
            var output = parseResult.InvocationConfiguration.Output;
            output.WriteLine(ExamplesHeading);
            foreach (var example in examples) output.WriteLine("  " + example);
            return code;
        }
    }
}
