using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using MlNetMedical.Cli.Reporting;
using MlNetMedical.Cli.Yaml;

namespace MlNetMedical.Cli.Pipelines;

/// <summary>What `mlnm run` and `mlnm quickstart` share: read the YAML, run it, write the output folder
/// (config.resolved.yaml, run.log, models/, metrics.json, report.html), print the comparison table.</summary>
public static class PipelineExecution
{
    public static readonly JsonSerializerOptions MetricsJson = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals, // NaN and ∞ are meaningful metric values
        WriteIndented = true,
    };

    /// <summary>A config file's text (at most <see cref="YamlConfigReader.MaxBytes"/>); problems become user errors (exit code 1).</summary>
    public static string ReadText(string path)
    {
        try { return YamlConfigReader.ReadText(path); }
        catch (YamlConfigException e) { throw new CliUserException(e.Message); }
    }

    /// <summary>Reads a pipeline strictly; YAML errors become user errors (exit code 1).</summary>
    public static PipelineConfig Read(string yaml, string sourceName, IEnumerable<string> overrides) => Read<PipelineConfig>(yaml, sourceName, overrides);

    /// <summary>Reads a config (a pipeline, a sweep) strictly; YAML errors become user errors (exit code 1).</summary>
    public static T Read<T>(string yaml, string sourceName, IEnumerable<string> overrides) where T : class, new()
    {
        try { return YamlConfigReader.Read<T>(yaml, sourceName, overrides); }
        catch (YamlConfigException e) { throw new CliUserException(e.Message); }
    }

    /// <summary>Runs <paramref name="config"/> into <paramref name="outDir"/>; returns the report's path (or metrics.json's without a report).</summary>
    public static string Execute(CliContext context, PipelineConfig config, string pipelineDirectory, string outDir, bool quiet, bool json) =>
        Execute(context, config, pipelineDirectory, outDir, new OutputChoices(quiet, json), CancellationToken.None).Value;

    /// <summary>Runs <paramref name="config"/> into <paramref name="outDir"/> until done or cancelled; a cancelled run still writes
    /// metrics.json and report.html for the stages that finished, marked as interrupted. A folder holding an earlier run's
    /// results is refused unless <see cref="OutputChoices.Force"/>.</summary>
    public static Outcome<string> Execute(CliContext context, PipelineConfig config, string pipelineDirectory, string outDir, OutputChoices choices,
        CancellationToken cancellation)
    {
        OutputFolder.EnsureFree(outDir, choices.Force);
        using var folder = OutputFolder.Open(context, config, outDir, "run.log", appendLog: false, choices.Quiet, choices.Json);
        var runner = new PipelineRunner(folder.View) { RecordMachine = choices.RecordMachine };
        var (report, interrupted) = folder.Run(_ => runner.Run(config, pipelineDirectory, folder.Path, cancellation));
        return new(folder.Finish(report, ComparisonTable(report), writeHtml: config.Outputs.Report, interrupted), interrupted);
    }

    /// <summary>One row per method: test accuracy, balanced accuracy, macro F1, AUC, mean Dice, training time, and (when the run has
    /// a scratch method) the accuracy difference to scratch, paired over the test cases, with its 95% interval.</summary>
    public static IReadOnlyList<string> ComparisonTable(RunReport report)
    {
        static string F(double? v) => v is { } x ? x.ToString("F3", CultureInfo.InvariantCulture) : "-";
        int width = Math.Max(6, report.Methods.Max(m => (int?)m.Name.Length) ?? 6);
        bool paired = report.Methods.Any(m => m.VersusScratch is not null);
        var lines = new List<string>
        {
            $"{"method".PadRight(width)}  {"kind",-21}  {"accuracy",8}  {"balanced",8}  {"macro F1",8}  {"AUC",6}  {"Dice",6}  {"seconds",8}"
                + (paired ? "  vs scratch [95% CI]" : ""),
        };
        foreach (var m in report.Methods)
        {
            var c = m.Classification;
            lines.Add($"{m.Name.PadRight(width)}  {m.Kind,-21}  {F(c?.Accuracy),8}  {F(c?.BalancedAccuracy),8}  {F(c?.MacroF1),8}  {F(c?.MacroRocAuc),6}  {F(m.Segmentation?.MeanDice),6}  {m.TrainingSeconds.ToString("F1", CultureInfo.InvariantCulture),8}"
                + (paired ? "  " + (m.VersusScratch?.Format() ?? "-") : ""));
        }
        if (paired)
            lines.Add($"vs scratch: test accuracy minus {report.Methods.First(m => m.VersusScratch is not null).VersusScratch!.Baseline}'s on the same test cases, " +
                      "with Student's t 95% interval over the cases (one training seed: test-set sampling error only).");
        return lines;
    }
}
