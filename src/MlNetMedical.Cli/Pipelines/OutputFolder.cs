using System.Text.Json;
using MlNetMedical.Cli.Reporting;
using MlNetMedical.Cli.Terminal;
using MlNetMedical.Cli.Yaml;

namespace MlNetMedical.Cli.Pipelines;

/// <summary>How `run`, `quickstart` and `sweep` write and print (their shared options).</summary>
/// <param name="Quiet">No progress, only the summary lines.</param>
/// <param name="Json">Print metrics.json on stdout instead of the table.</param>
/// <param name="Force">Write into a folder that already holds results.</param>
/// <param name="RecordMachine">Put the host name in metrics.json and the report.</param>
public sealed record OutputChoices(bool Quiet = false, bool Json = false, bool Force = false, bool RecordMachine = false);

/// <summary>
/// The output folder of `run`, `quickstart` and `sweep`: config.resolved.yaml, the log file and the progress view while the
/// work runs; then metrics.json, report.html and what stdout gets (the table, or metrics.json with --json, and last the path).
/// Every file is written whole (<see cref="AtomicFile"/>); a folder with an earlier run's results is refused unless forced.
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

    /// <summary>What an earlier run, quickstart or sweep leaves in its folder.</summary>
    private static readonly string[] Results = ["config.resolved.yaml", "metrics.json", "report.html", "run.log", "sweep.log", "models"];

    /// <summary>The results of an earlier run in <paramref name="outDir"/> (names relative to it); empty when there are none.</summary>
    public static IReadOnlyList<string> EarlierResults(string outDir) =>
        Directory.Exists(outDir) ? Results.Where(r => File.Exists(System.IO.Path.Combine(outDir, r)) || Directory.Exists(System.IO.Path.Combine(outDir, r))).ToList() : [];

    /// <summary>Refuses <paramref name="outDir"/> when it holds an earlier run's results, before anything is written, so old and
    /// new models are never mixed silently. <paramref name="alternative"/> says what else than --force allows it (sweep: --resume).</summary>
    public static void EnsureFree(string outDir, bool force, string? alternative = null)
    {
        if (force) return;
        var found = EarlierResults(outDir);
        if (found.Count == 0) return;
        throw new CliUserException($"output folder '{System.IO.Path.GetFullPath(outDir)}' already holds results of an earlier run ({string.Join(", ", found)}); "
                                   + (alternative is null ? "" : alternative + ", ")
                                   + "pass --force to write into it anyway (files of the same name are replaced, others are kept), or choose another --out");
    }

    /// <summary>Creates the folder, writes config.resolved.yaml and opens the log (<paramref name="logName"/>) and the view.
    /// The caller has checked the folder (<see cref="EnsureFree"/>).</summary>
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

    /// <summary>Runs the work under the view; what the user can fix becomes a user error (the stack trace goes to the log).</summary>
    public T Run<T>(Func<ProgressView, T> work)
    {
        try { return View.Run(() => work(View)); }
        catch (Exception e) when (UserErrors.Unwrap(e) is not CliUserException && UserErrors.Message(e, libraryRejections: true) is { } message)
        {
            // Missing or corrupt files, and bad settings the library rejects (a level that does not exist, too few groups for
            // validation...), are the user's to fix.
            _log.WriteLine(e.ToString());
            _log.Flush();
            throw new CliUserException($"{_config.Name}: {message}");
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
        AtomicFile.WriteAllText(metricsPath, metrics);
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

    /// <summary>metrics.json: the report's figures (sample images are left out: they are patient data, shown only in the
    /// report), plus the "interrupted" object when the work was cut short.</summary>
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
        AtomicFile.WriteAllText(System.IO.Path.Combine(outDir, "config.resolved.yaml"), resolved);
        return resolved;
    }
}
