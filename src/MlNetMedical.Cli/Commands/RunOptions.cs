using System.CommandLine;

namespace MlNetMedical.Cli.Commands;

/// <summary>The options of the commands that read a YAML config and write an output folder (`run`, `sweep`, `quickstart`):
/// --out, --set, --quiet, --json. One definition, so their names and behaviour stay the same everywhere.</summary>
internal sealed class RunOptions
{
    /// <param name="defaultOut">What --out defaults to, for its help text.</param>
    /// <param name="setExample">An override of this command's file, for --set's help text.</param>
    /// <param name="quietKeeps">What --quiet still prints.</param>
    /// <param name="jsonPrints">What --json prints instead of the table.</param>
    public RunOptions(string defaultOut, string setExample, string quietKeeps, string jsonPrints)
    {
        Out = new Option<string?>("--out") { Description = $"Output folder (default: {defaultOut})." };
        Set = new Option<string[]>("--set")
        {
            Description = $"Override a key before validation: KEY.PATH=VALUE (lists by index; e.g. {setExample}). Repeatable.",
            AllowMultipleArgumentsPerToken = false,
        };
        Quiet = new Option<bool>("--quiet") { Description = $"No progress bars or per-epoch lines, only {quietKeeps}." };
        Json = new Option<bool>("--json") { Description = $"Print {jsonPrints} on stdout instead of the table." };
    }

    public Option<string?> Out { get; }
    public Option<string[]> Set { get; }
    public Option<bool> Quiet { get; }
    public Option<bool> Json { get; }

    /// <summary>Adds the four options to <paramref name="command"/> (after its own) and returns it.</summary>
    public Command AddTo(Command command)
    {
        foreach (var option in new Option[] { Out, Set, Quiet, Json }) command.Options.Add(option);
        return command;
    }

    public string OutDir(ParseResult parse, string fallback) => parse.GetValue(Out) ?? fallback;
    public string[] Overrides(ParseResult parse) => parse.GetValue(Set) ?? [];
    public bool IsQuiet(ParseResult parse) => parse.GetValue(Quiet);
    public bool IsJson(ParseResult parse) => parse.GetValue(Json);
}
