using System.CommandLine;
using System.Globalization;

namespace MlNetMedical.Cli.Commands;

/// <summary>
/// The options several commands share, defined once so they mean the same everywhere: --quiet (no progress on stderr),
/// --threads (CPU threads, ≥ 1), --seed, --series (a DICOM series), --out (always a folder). Bad values are parse errors
/// (exit code 1) naming the option.
/// </summary>
internal static class CommonOptions
{
    public static Option<bool> Quiet(string keeps) =>
        new("--quiet") { Description = $"No progress bars or per-epoch lines on stderr, only {keeps}; results still go to stdout." };

    /// <param name="what">What the threads do in this command.</param>
    public static Option<int?> Threads(string what)
    {
        var option = new Option<int?>("--threads") { HelpName = "N", Description = $"{what} (default: every core)." };
        // On the token, not the value: a token that is no number already has its parse error, and reading its value would throw.
        option.Validators.Add(result =>
        {
            if (result.Tokens is [{ } token] && int.TryParse(token.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n < 1)
                result.AddError($"--threads must be ≥ 1, not {n}");
        });
        return option;
    }

    /// <param name="what">What the seed drives in this command.</param>
    public static Option<int?> Seed(string what) => new("--seed") { HelpName = "N", Description = $"Seed for {what}; the same seed gives the same result." };

    public static Option<string?> Series() => new("--series")
    {
        HelpName = "UID", Description = "SeriesInstanceUID to read when a DICOM folder holds several series (the error lists them).",
    };

    /// <param name="holds">What the folder receives.</param>
    /// <param name="fallback">Its default, for the help text; null = required.</param>
    public static Option<string?> OutFolder(string holds, string? fallback) => new("--out")
    {
        HelpName = "DIR", Required = fallback is null,
        Description = $"Output folder: {holds}{(fallback is null ? "" : $" (default: {fallback})")}; created when needed.",
    };

    /// <summary>An option that was renamed: still recognised, and using it is an error naming its new name.</summary>
    public static Option<string?> Renamed(string oldName, string newName, string why)
    {
        var option = new Option<string?>(oldName) { Hidden = true };
        option.Validators.Add(result => result.AddError($"{oldName} was renamed {newName}: {why}")); // runs only when it is given
        return option;
    }
}
