using System.CommandLine;
using MlNetMedical.Cli.Pipelines;

namespace MlNetMedical.Cli.Commands;

/// <summary>The options of the commands that read a YAML config and write an output folder (`run`, `sweep`, `quickstart`):
/// --out, --set, --seed, --threads, --force, --record-machine, --quiet, --json. One definition, so their names and behaviour
/// stay the same everywhere.</summary>
internal sealed class RunOptions
{
    /// <param name="defaultOut">What --out defaults to, for its help text.</param>
    /// <param name="setExample">An override of this command's file, for --set's help text.</param>
    /// <param name="quietKeeps">What --quiet still prints.</param>
    /// <param name="jsonPrints">What --json prints instead of the table.</param>
    /// <param name="forceAlternative">What else than --force lets the command use a folder with earlier results (sweep: --resume).</param>
    public RunOptions(string defaultOut, string setExample, string quietKeeps, string jsonPrints, string? forceAlternative = null)
    {
        Out = CommonOptions.OutFolder("config.resolved.yaml, the log, models, metrics.json and report.html", defaultOut);
        Set = new Option<string[]>("--set")
        {
            Description = $"Override a key before validation: KEY.PATH=VALUE (lists by index; e.g. {setExample}). Repeatable.",
            AllowMultipleArgumentsPerToken = false,
        };
        Seed = CommonOptions.Seed("data order, augmentation and weight initialisation (overrides the file's seed:)");
        Threads = CommonOptions.Threads("Torch threads for training and inference (overrides the file's threads:)");
        Force = new Option<bool>("--force")
        {
            Description = "Write into an output folder that already holds results (files of the same name are replaced, others are kept)"
                          + (forceAlternative is null ? "." : $"; {forceAlternative}."),
        };
        RecordMachine = new Option<bool>("--record-machine") { Description = "Record this machine's host name in metrics.json and the report (left out by default)." };
        Quiet = CommonOptions.Quiet(quietKeeps);
        Json = new Option<bool>("--json") { Description = $"Print {jsonPrints} on stdout instead of the table." };
    }

    public Option<string?> Out { get; }
    public Option<string[]> Set { get; }
    public Option<int?> Seed { get; }
    public Option<int?> Threads { get; }
    public Option<bool> Force { get; }
    public Option<bool> RecordMachine { get; }
    public Option<bool> Quiet { get; }
    public Option<bool> Json { get; }

    /// <summary>Adds the options to <paramref name="command"/> (after its own) and returns it.</summary>
    public Command AddTo(Command command)
    {
        foreach (var option in new Option[] { Out, Set, Seed, Threads, Force, RecordMachine, Quiet, Json }) command.Options.Add(option);
        return command;
    }

    public string OutDir(ParseResult parse, string fallback) => parse.GetValue(Out) ?? fallback;

    /// <summary>The --set assignments, then --seed and --threads as the same overrides (so they win over the file).</summary>
    public string[] Overrides(ParseResult parse) =>
    [
        .. parse.GetValue(Set) ?? [],
        .. parse.GetValue(Seed) is { } seed ? new[] { $"seed={seed}" } : [],
        .. parse.GetValue(Threads) is { } threads ? new[] { $"threads={threads}" } : [],
    ];

    public OutputChoices Choices(ParseResult parse) =>
        new(Quiet: parse.GetValue(Quiet), Json: parse.GetValue(Json), Force: parse.GetValue(Force), RecordMachine: parse.GetValue(RecordMachine));
}
