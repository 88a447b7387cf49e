using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using MlNetMedical.Cli.Reporting;
using MlNetMedical.Cli.Terminal;
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

    /// <summary>Reads a pipeline strictly; YAML errors become user errors (exit code 1).</summary>
    public static PipelineConfig Read(string yaml, string sourceName, IEnumerable<string> overrides) => Read<PipelineConfig>(yaml, sourceName, overrides);

    /// <summary>Reads a config (a pipeline, a sweep) strictly; YAML errors become user errors (exit code 1).</summary>
    public static T Read<T>(string yaml, string sourceName, IEnumerable<string> overrides) where T : class, new()
    {
        try { return YamlConfigReader.Read<T>(yaml, sourceName, overrides); }
        catch (YamlConfigException e) { throw new CliUserException(e.Message); }
    }

    /// <summary>Runs <paramref name="config"/> into <paramref name="outDir"/>; returns the report's path (or metrics.json's without a report).</summary>
    public static string Execute(CliContext context, PipelineConfig config, string pipelineDirectory, string outDir, bool quiet, bool json)
    {
        outDir = Path.GetFullPath(outDir);
        Directory.CreateDirectory(outDir);
        var resolved = YamlConfigWriter.Write(config);
        File.WriteAllText(Path.Combine(outDir, "config.resolved.yaml"), resolved);
        using var log = new StreamWriter(Path.Combine(outDir, "run.log"), append: false);
        var view = new ProgressView(context, ProgressView.ChooseMode(context, quiet, json), log);
        view.Log($"{config.Name}: output folder {outDir}");
        var report = RunInView(view, log, config.Name, () => new PipelineRunner(view).Run(config, pipelineDirectory, outDir));
        // The runner filled in what it read from the data (network dimensions, channels, classes).
        resolved = YamlConfigWriter.Write(config);
        File.WriteAllText(Path.Combine(outDir, "config.resolved.yaml"), resolved);
        report.ResolvedConfig = resolved;
        var metricsPath = Path.Combine(outDir, "metrics.json");
        File.WriteAllText(metricsPath, JsonSerializer.Serialize(report, MetricsJson));
        string? reportPath = null;
        if (config.Outputs.Report)
        {
            reportPath = Path.Combine(outDir, "report.html");
            ReportWriter.Write(report, reportPath);
        }
        var table = ComparisonTable(report);
        foreach (var line in table) view.LogFileOnly(line);
        if (json) context.Output.WriteLine(JsonSerializer.Serialize(report, MetricsJson));
        else foreach (var line in table) context.Output.WriteLine(line);
        var last = reportPath ?? metricsPath;
        if (!json) context.Output.WriteLine(last);
        return last;
    }

    /// <summary>Runs <paramref name="work"/> under <paramref name="view"/>; what the library rejects becomes a user error (the stack trace goes to the log).</summary>
    public static T RunInView<T>(ProgressView view, TextWriter log, string name, Func<T> work)
    {
        try { return view.Run(work); }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or InvalidDataException or FileNotFoundException or DirectoryNotFoundException)
        {
            // Bad settings the library rejects (a level that does not exist, too few groups for validation...) are the user's to fix.
            log.WriteLine(e.ToString());
            throw new CliUserException($"{name}: {e.Message}");
        }
    }

    /// <summary>One row per method: test accuracy, balanced accuracy, macro F1, AUC, mean Dice, training time.</summary>
    public static IReadOnlyList<string> ComparisonTable(RunReport report)
    {
        static string F(double? v) => v is { } x ? x.ToString("F3", CultureInfo.InvariantCulture) : "-";
        int width = Math.Max(6, report.Methods.Max(m => (int?)m.Name.Length) ?? 6);
        var lines = new List<string>
        {
            $"{"method".PadRight(width)}  {"kind",-21}  {"accuracy",8}  {"balanced",8}  {"macro F1",8}  {"AUC",6}  {"Dice",6}  {"seconds",8}",
        };
        foreach (var m in report.Methods)
        {
            var c = m.Classification;
            lines.Add($"{m.Name.PadRight(width)}  {m.Kind,-21}  {F(c?.Accuracy),8}  {F(c?.BalancedAccuracy),8}  {F(c?.MacroF1),8}  {F(c?.MacroRocAuc),6}  {F(m.Segmentation?.MeanDice),6}  {m.TrainingSeconds.ToString("F1", CultureInfo.InvariantCulture),8}");
        }
        return lines;
    }
}
