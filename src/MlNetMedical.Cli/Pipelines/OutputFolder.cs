using System.Text.Json;
using MlNetMedical.Cli.Reporting;
using MlNetMedical.Cli.Terminal;
using MlNetMedical.Cli.Yaml;

namespace MlNetMedical.Cli.Pipelines;

/// <summary>
/// The output folder of `run`, `quickstart` and `sweep`: config.resolved.yaml, the log file and the progress view while the
/// work runs; then metrics.json, report.html and what stdout gets (the table, or metrics.json with --json, and last the path).
/// </summary>
public sealed class OutputFolder : IDisposable
{
    private readonly CliContext _context;
    private readonly ExperimentConfig _config;
    private readonly StreamWriter _log;
    private readonly bool _json;

    private OutputFolder(CliContext context, ExperimentConfig config, string path, StreamWriter log, ProgressView view, bool json) =>
        (_context, _config, Path, _log, View, _json) = (context, config, path, log, view, json);

    /// <summary>The folder, as a full path.</summary>
    public string Path { get; }

    public ProgressView View { get; }

    /// <summary>Creates the folder, writes config.resolved.yaml and opens the log (<paramref name="logName"/>) and the view.</summary>
    public static OutputFolder Open(CliContext context, ExperimentConfig config, string outDir, string logName, bool appendLog, bool quiet, bool json)
    {
        outDir = System.IO.Path.GetFullPath(outDir);
        Directory.CreateDirectory(outDir);
        WriteResolved(config, outDir);
        var log = new StreamWriter(System.IO.Path.Combine(outDir, logName), append: appendLog);
        var view = new ProgressView(context, ProgressView.ChooseMode(context, quiet, json), log);
        view.Log($"{config.Name}: output folder {outDir}");
        return new OutputFolder(context, config, outDir, log, view, json);
    }

    /// <summary>Runs the work under the view; what the library rejects becomes a user error (the stack trace goes to the log).</summary>
    public T Run<T>(Func<ProgressView, T> work)
    {
        try { return View.Run(() => work(View)); }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or InvalidDataException or FileNotFoundException or DirectoryNotFoundException)
        {
            // Bad settings the library rejects (a level that does not exist, too few groups for validation...) are the user's to fix.
            _log.WriteLine(e.ToString());
            throw new CliUserException($"{_config.Name}: {e.Message}");
        }
    }

    /// <summary>Writes metrics.json (and report.html), logs <paramref name="table"/> and prints it (or, with --json, metrics.json);
    /// the last line printed is the path returned: report.html's, or metrics.json's without a report. An interrupted run's
    /// metrics.json gets an "interrupted" object, its report's title says so, and its last line says where the partial results are.</summary>
    public string Finish(RunReport report, IReadOnlyList<string> table, bool writeHtml, Interruption? interrupted = null)
    {
        // The work filled in what it read from the data (network dimensions, channels, classes).
        report.ResolvedConfig = WriteResolved(_config, Path);
        if (interrupted is not null) report.Title += $" (interrupted during {interrupted.During})";
        var metricsPath = System.IO.Path.Combine(Path, "metrics.json");
        var metrics = MetricsJson(report, interrupted);
        File.WriteAllText(metricsPath, metrics);
        string? reportPath = null;
        if (writeHtml)
        {
            reportPath = System.IO.Path.Combine(Path, "report.html");
            ReportWriter.Write(report, reportPath);
        }
        foreach (var line in table) View.LogFileOnly(line);
        var last = reportPath ?? metricsPath;
        if (_json) _context.Output.WriteLine(metrics);
        else foreach (var line in table) _context.Output.WriteLine(line);
        if (interrupted is not null)
        {
            var done = interrupted.Completed.Count == 0 ? "nothing had finished" : $"kept: {string.Join(", ", interrupted.Completed)}";
            View.Log($"interrupted during {interrupted.During}; {done}");
            _log.Flush();
            // With --json stdout stays one JSON document; the pointer goes to stderr there.
            (_json ? _context.Error : _context.Output).WriteLine($"interrupted: partial results in {last}");
        }
        else if (!_json) _context.Output.WriteLine(last);
        return last;
    }

    /// <summary>metrics.json: the report, plus the "interrupted" object when the work was cut short.</summary>
    private static string MetricsJson(RunReport report, Interruption? interrupted)
    {
        if (interrupted is null) return JsonSerializer.Serialize(report, PipelineExecution.MetricsJson);
        var node = JsonSerializer.SerializeToNode(report, PipelineExecution.MetricsJson)!.AsObject();
        node["interrupted"] = JsonSerializer.SerializeToNode(interrupted, PipelineExecution.MetricsJson);
        return node.ToJsonString(PipelineExecution.MetricsJson);
    }

    public void Dispose() => _log.Dispose();

    private static string WriteResolved(ExperimentConfig config, string outDir)
    {
        var resolved = YamlConfigWriter.Write(config);
        File.WriteAllText(System.IO.Path.Combine(outDir, "config.resolved.yaml"), resolved);
        return resolved;
    }
}
