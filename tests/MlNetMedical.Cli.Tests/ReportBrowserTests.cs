using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using MlNetMedical.Cli.Reporting;
using Xunit;

namespace MlNetMedical.Cli.Tests;

/// <summary>Debian's headless Chromium, found on PATH (or $MLNM_CHROMIUM); scripts/bootstrap.sh --test installs it.</summary>
internal static class Chromium
{
    public static readonly string? Path = Find();

    private static string? Find()
    {
        if (Environment.GetEnvironmentVariable("MLNM_CHROMIUM") is { Length: > 0 } given) return File.Exists(given) ? given : null;
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(System.IO.Path.PathSeparator))
            foreach (var name in new[] { "chromium", "chromium-browser" })
                if (dir.Length > 0 && File.Exists(System.IO.Path.Combine(dir, name))) return System.IO.Path.Combine(dir, name);
        return null;
    }

    /// <summary>Runs headless Chromium on a file with extra arguments; returns stdout. Fails on timeout or a non-zero exit.</summary>
    public static string Run(string htmlPath, params string[] args)
    {
        var profile = Directory.CreateTempSubdirectory("mlnm-chromium-");
        try
        {
            var psi = new ProcessStartInfo(Path!) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
                         "--disable-extensions", "--disable-background-networking", "--virtual-time-budget=10000",
                         $"--user-data-dir={profile.FullName}" }.Concat(args))
                psi.ArgumentList.Add(a);
            psi.ArgumentList.Add(new Uri(htmlPath).AbsoluteUri);
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(TimeSpan.FromSeconds(120)))
            {
                p.Kill(entireProcessTree: true);
                Assert.Fail($"chromium did not finish within 120 s; stderr: {stderr.Result}");
            }
            Assert.True(p.ExitCode == 0, $"chromium exited with {p.ExitCode}; stderr: {stderr.Result}");
            return stdout.Result;
        }
        finally { profile.Delete(recursive: true); }
    }
}

/// <summary>A test that needs headless Chromium: skipped, visibly, when it is not installed.</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public ChromiumFactAttribute()
    {
        if (Chromium.Path is null) Skip = "SKIPPED: chromium not found on PATH (scripts/bootstrap.sh --test installs Debian's chromium)";
    }
}

/// <summary>
/// Loads reports in real headless Chromium. A probe script, appended by the test, shows every tab panel and writes
/// what the browser laid out (size and drawn elements of each chart and sample) into the DOM, which --dump-dom
/// returns; script errors are read from the page's own #script-errors box.
/// </summary>
public sealed class ReportBrowserTests
{
    private const string Probe = """
        <script>
        (function () {
          document.querySelectorAll('.tab-panel').forEach(function (p) { p.hidden = false; });
          var out = { ready: document.body.getAttribute('data-ready'), errors: document.getElementById('script-errors').textContent, charts: [], samples: [] };
          document.querySelectorAll('svg.chart').forEach(function (s) {
            var r = s.getBoundingClientRect();
            var drawn = Array.prototype.filter.call(s.querySelectorAll('path, circle, rect, line'), function (e) {
              var b = e.getBBox(); return b.width > 0 || b.height > 0;
            }).length;
            out.charts.push({ kind: s.getAttribute('data-chart'), width: r.width, height: r.height, drawn: drawn, texts: s.querySelectorAll('text').length });
          });
          document.querySelectorAll('svg.sample').forEach(function (s) {
            var img = s.querySelector('image'); var r = s.getBoundingClientRect();
            out.samples.push({ width: r.width, height: r.height, image: img ? img.getBBox().width : 0, outlines: s.querySelectorAll('path').length });
          });
          var pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
        })();
        </script>
        """;

    private static JsonElement LoadAndProbe(string html)
    {
        var dir = Directory.CreateTempSubdirectory("mlnm-report-browser-");
        try
        {
            var path = System.IO.Path.Combine(dir.FullName, "report.html");
            File.WriteAllText(path, html.Replace("</body>", Probe + "</body>"));
            var dom = Chromium.Run(path, "--dump-dom");
            var json = Regex.Match(dom, "<pre id=\"probe\">(.*?)</pre>", RegexOptions.Singleline);
            Assert.True(json.Success, $"the probe did not run; DOM starts: {dom[..Math.Min(400, dom.Length)]}");
            return JsonDocument.Parse(System.Net.WebUtility.HtmlDecode(json.Groups[1].Value)).RootElement.Clone();
        }
        finally { dir.Delete(recursive: true); }
    }

    [ChromiumFact]
    public void FullReportLoadsWithoutScriptErrorsAndDrawsEveryChart()
    {
        var probe = LoadAndProbe(ReportWriter.Render(ReportSamples.Full()));
        Assert.Equal("", probe.GetProperty("errors").GetString());
        Assert.Equal("1", probe.GetProperty("ready").GetString());
        var charts = probe.GetProperty("charts").EnumerateArray().ToList();
        var kinds = charts.Select(c => c.GetProperty("kind").GetString()).ToList();
        foreach (var kind in new[] { "learning-compare", "learning-loss", "learning-metrics", "roc", "trial-history", "intermediate", "importance", "parallel" })
            Assert.Contains(kind, kinds);
        Assert.Equal(3, kinds.Count(k => k == "roc"));
        foreach (var c in charts)
        {
            var kind = c.GetProperty("kind").GetString();
            Assert.True(c.GetProperty("width").GetDouble() > 200 && c.GetProperty("height").GetDouble() > 150, $"chart {kind} laid out too small: {c}");
            Assert.True(c.GetProperty("drawn").GetInt32() >= 5, $"chart {kind} draws almost nothing: {c}");
            Assert.True(c.GetProperty("texts").GetInt32() >= 3, $"chart {kind} has no labels: {c}");
        }
        var samples = probe.GetProperty("samples").EnumerateArray().ToList();
        Assert.Equal(6, samples.Count);
        Assert.All(samples, s =>
        {
            Assert.True(s.GetProperty("image").GetDouble() > 0, $"sample image not drawn: {s}");
            Assert.True(s.GetProperty("outlines").GetInt32() >= 4, $"sample outlines missing: {s}"); // 3 labels true + predicted
        });
    }

    [ChromiumFact]
    public void MinimalReportLoadsToo()
    {
        var probe = LoadAndProbe(ReportWriter.Render(new RunReport { Title = "empty" }));
        Assert.Equal("", probe.GetProperty("errors").GetString());
        Assert.Equal("1", probe.GetProperty("ready").GetString());
        Assert.Empty(probe.GetProperty("charts").EnumerateArray());
    }

    [ChromiumFact]
    public void AScriptErrorIsCaughtAndShown()
    {
        // The check above can fail: a broken script lands in #script-errors.
        var html = ReportWriter.Render(ReportSamples.Full()).Replace("</body>", "<script>notAFunction();</script></body>");
        var probe = LoadAndProbe(html);
        Assert.Contains("notAFunction", probe.GetProperty("errors").GetString());
    }

    /// <summary>
    /// Screenshots the sample report for people to look at: .cache/report-screenshot.png at the repository root
    /// (or $MLNM_REPORT_SCREENSHOT), next to the report itself (report-sample.html).
    /// </summary>
    [ChromiumFact]
    public void ScreenshotOfTheSampleReport()
    {
        var png = Environment.GetEnvironmentVariable("MLNM_REPORT_SCREENSHOT") is { Length: > 0 } given
            ? System.IO.Path.GetFullPath(given)
            : System.IO.Path.Combine(RepositoryRoot(), ".cache", "report-screenshot.png");
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(png)!);
        var html = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(png)!, "report-sample.html");
        ReportWriter.Write(ReportSamples.Full(), html);
        File.Delete(png);
        Chromium.Run(html, $"--screenshot={png}", "--window-size=1280,4000");
        var bytes = File.ReadAllBytes(png);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], bytes[..4]);
        Assert.True(bytes.Length > 50_000, $"screenshot is only {bytes.Length} bytes: a blank page?");
        // The sweep part lies below 4000 px: a second shot of a sweep-only report (…-sweep.png).
        var sweepOnly = ReportSamples.Full();
        sweepOnly.Methods.Clear();
        sweepOnly.Samples.Clear();
        var sweepHtml = System.IO.Path.ChangeExtension(html, null) + "-sweep.html";
        var sweepPng = System.IO.Path.ChangeExtension(png, null) + "-sweep.png";
        ReportWriter.Write(sweepOnly, sweepHtml);
        Chromium.Run(sweepHtml, $"--screenshot={sweepPng}", "--window-size=1280,2000");
        Assert.True(new FileInfo(sweepPng).Length > 20_000, "the sweep screenshot is blank");
    }

    private static string RepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(System.IO.Path.Combine(d.FullName, "MlNetMedical.sln"))) return d.FullName;
        return System.IO.Path.GetTempPath();
    }
}
