using System.Text.RegularExpressions;
using MlNetMedical.Cli.Reporting;
using Xunit;

namespace MlNetMedical.Cli.Tests;

public sealed class ReportWriterTests
{
    private static int Count(string html, string needle) => Regex.Matches(html, Regex.Escape(needle)).Count;

    [Fact]
    public void FullReportHasEverySectionAndChart()
    {
        var html = ReportWriter.Render(ReportSamples.Full());
        foreach (var id in new[] { "comparison", "learning-curves", "classification", "segmentation", "samples", "sweep", "environment" })
            Assert.Contains($"<section id=\"{id}\">", html);
        Assert.Equal(3, Count(html, "data-chart=\"roc\""));               // one per classifier
        Assert.Equal(4, Count(html, "data-chart=\"learning-loss\""));     // one per method
        Assert.Equal(1, Count(html, "data-chart=\"learning-compare\""));
        foreach (var kind in new[] { "trial-history", "intermediate", "importance", "parallel" })
            Assert.Equal(1, Count(html, $"data-chart=\"{kind}\""));
        Assert.Equal(3, Count(html, "<table class=\"confusion\">"));
        Assert.Equal(6, Count(html, "<svg class=\"sample\""));
        Assert.Equal(6, Count(html, "data:image/png;base64,"));
        Assert.Contains("class=\"mask-true\"", html);
        Assert.Contains("class=\"mask-pred\"", html);
        Assert.Contains("HCM (AUC 0.", html);                               // AUC in the ROC legend
        // The by-method chart shows only the methods that report its metric (not the segmentation pretraining).
        var compare = Regex.Match(html, "data-chart=\"learning-compare\".*?</svg>", RegexOptions.Singleline).Value;
        Assert.DoesNotContain("segmentation-pretrain", compare);
        Assert.Contains("fine-tune", compare);
    }

    [Fact]
    public void UserTextIsEscapedEverywhere()
    {
        var report = ReportSamples.Full();
        report.Title = "<script>alert('t')</script>";
        report.Methods[1].Name = "a<b>&\"c\"";
        report.ResolvedConfig = "x: </pre><img src=x onerror=alert(1)>";
        report.Environment["<k>"] = "<v>";
        report.Samples[0].Id = "<id>";
        var html = ReportWriter.Render(report);
        Assert.DoesNotContain("<script>alert", html);
        Assert.Contains("&lt;script&gt;alert(&#39;t&#39;)&lt;/script&gt;", html);
        Assert.DoesNotContain("a<b>", html);
        Assert.Contains("a&lt;b&gt;&amp;&quot;c&quot;", html);
        Assert.DoesNotContain("<img", html);
        Assert.DoesNotContain("<k>", html);
        Assert.DoesNotContain("<id>", html);
        Assert.Contains("Other &amp; &lt;rare&gt;", html);                 // a class name from the data
        Assert.DoesNotContain("<rare>", html);
        // Only our own three scripts (error catcher, page script) exist.
        Assert.Equal(2, Count(html, "<script>"));
    }

    [Fact]
    public void NothingIsFetchedFromElsewhere()
    {
        var html = ReportWriter.Render(ReportSamples.Full());
        // The only URL allowed is the SVG namespace name, which browsers never fetch.
        var urls = Regex.Matches(html, @"(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^\s""'<>)]*").Select(m => m.Value).Distinct().ToList();
        Assert.Equal(["http://www.w3.org/2000/svg"], urls);
        Assert.DoesNotMatch(@"(?i)<(link|iframe|object|embed)\b", html);
        Assert.DoesNotMatch(@"(?i)\b(src|href)\s*=\s*""(?!#|data:)", html);
        Assert.DoesNotContain("@import", html);
        Assert.DoesNotMatch(@"(?i)url\((?!#)", html);
    }

    [Fact]
    public void EmptyReportRendersWithOnlyTheEnvironment()
    {
        var html = ReportWriter.Render(new RunReport());
        Assert.Contains("<title>MlNetMedical report</title>", html);
        Assert.Contains("<section id=\"environment\">", html);
        Assert.DoesNotContain("<section id=\"comparison\">", html);
        Assert.DoesNotContain("<section id=\"sweep\">", html);
        Assert.Contains("No environment recorded.", html);
    }

    [Fact]
    public void MissingAndUndefinedMetricsShowAsDashes()
    {
        var report = new RunReport
        {
            Methods =
            [
                new MethodResult
                {
                    Name = "one-class", Kind = "scratch", TrainingSeconds = double.NaN,
                    Classification = new ClassificationResult
                    {
                        ClassNames = ["only"], Accuracy = 1, BalancedAccuracy = 1, MacroF1 = 1, LogLoss = 0, MacroRocAuc = double.NaN,
                        PerClassPrecision = [1], PerClassRecall = [1], ConfusionMatrix = [[5]],
                    },
                },
            ],
        };
        var html = ReportWriter.Render(report);
        Assert.Contains("<section id=\"classification\">", html);
        Assert.DoesNotContain("<section id=\"segmentation\">", html);
        Assert.DoesNotContain("<section id=\"learning-curves\">", html);
        Assert.Contains("No ROC curves recorded.", html);
        Assert.Contains("<td class=\"num\">—</td>", html);                 // NaN AUC and NaN time
        Assert.DoesNotContain("NaN", html);
    }

    [Fact]
    public void ComputesParameterImportanceWhenNotGiven()
    {
        var report = ReportSamples.Full();
        Assert.Null(report.Sweep!.ParameterImportance);
        var html = ReportWriter.Render(report);
        var bars = Regex.Match(html, "data-chart=\"importance\".*?</svg>", RegexOptions.Singleline).Value;
        var labels = Regex.Matches(bars, "text-anchor=\"end\">([^<]+)</text>").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal("lr", labels[0]);                                     // the sample sweep is built so that lr dominates
        Assert.Contains("head.mlp.hidden", labels);
    }

    [Fact]
    public void GivenParameterImportanceIsShownAsIs()
    {
        var report = ReportSamples.Full();
        report.Sweep!.ParameterImportance = new() { ["batch"] = 0.7, ["lr"] = 0.3 };
        var html = ReportWriter.Render(report);
        Assert.Contains("<title>batch: 0.7</title>", html);
        Assert.Contains("<title>lr: 0.3</title>", html);
    }

    [Fact]
    public void BadSampleIsReportedInThePageNotThrown()
    {
        var report = ReportSamples.Full();
        report.Samples[0].Pixels = new float[3];
        var html = ReportWriter.Render(report);
        Assert.Contains("sample &#39;patient101_ED_slice5&#39;: 3 pixels for 96", html);
        Assert.Equal(5, Count(html, "<svg class=\"sample\""));
    }

    [Fact]
    public void MaskOutlinesFollowPixelEdges()
    {
        // A 2×1 block of label 1 in a 4×3 image: its outline is two horizontal runs of 2 and two vertical runs of 1.
        var mask = new byte[12];
        mask[1 * 4 + 1] = mask[1 * 4 + 2] = 1;
        var sample = new SampleImage { Id = "tiny", Width = 4, Height = 3, Pixels = new float[12], PredictedMask = mask };
        var html = ReportWriter.Render(new RunReport { Samples = [sample] });
        Assert.Contains("<path class=\"mask-pred\" data-label=\"1\" d=\"M1 1h2M1 2h2M1 1v1M3 1v1\"", html);
        Assert.DoesNotContain("mask-true\" data-label", html);
        // The true mask is filled run by run: one rectangle for the run of two.
        sample.TrueMask = mask;
        html = ReportWriter.Render(new RunReport { Samples = [sample] });
        Assert.Contains("<path class=\"mask-true\" data-label=\"1\" d=\"M1 1h2v1h-2z\"", html);
    }

    [Fact]
    public void WriteCreatesTheFolderAndAUtf8File()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"mlnm-report-test-{Guid.NewGuid():N}");
        try
        {
            var path = Path.Combine(dir, "out", "report.html");
            ReportWriter.Write(ReportSamples.Full(), path);
            var bytes = File.ReadAllBytes(path);
            Assert.Equal((byte)'<', bytes[0]);                                 // no BOM
            Assert.Contains("✓", File.ReadAllText(path));
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
    }
}
