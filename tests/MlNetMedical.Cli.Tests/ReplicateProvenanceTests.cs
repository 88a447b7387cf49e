using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using MlNetMedical.Benchmarks.Replicate;
using Xunit;

namespace MlNetMedical.Cli.Tests;

/// <summary>Provenance of stored results: the replication suite gives the same figures when rerun with the same seeds, and
/// every file under benchmarks/results names its commit and machine.</summary>
public sealed class ReplicateProvenanceTests
{
    [Fact]
    public void ToySuiteRerunWithTheSameSeedsGivesIdenticalFigures()
    {
        var root = Path.Combine(Path.GetTempPath(), $"replicate-rerun-{Guid.NewGuid():N}");
        try
        {
            JsonObject Run(string name)
            {
                var options = new SuiteOptions
                {
                    Seeds = [3, 4], DataSeed = 7, Profile = Profile.Toy, Out = Path.Combine(root, name), Work = Path.Combine(root, name + "-work"), Threads = 1, Progress = false,
                };
                var result = new Suite(options, new CliContext(TextWriter.Null, TextWriter.Null)).Run();
                result.Write();
                var last = JsonNode.Parse(result.LastLine())!.AsObject();
                // The last line's shape: one entry per claim with holds, mean_diff and ci95, then minutes.
                Assert.Equal(Claims.All.Select(c => c.Name), last["claims"]!.AsObject().Select(c => c.Key));
                Assert.All(last["claims"]!.AsObject(), c => Assert.Equal(["holds", "mean_diff", "ci95"], c.Value!.AsObject().Select(k => k.Key)));
                Assert.NotNull(last["minutes"]);
                return JsonNode.Parse(File.ReadAllText(Path.Combine(options.Out, "replicate.json")))!.AsObject();
            }
            var first = Run("a");
            var second = Run("b");
            var figures = first["figures"]!.ToJsonString();
            Assert.Equal(figures, second["figures"]!.ToJsonString());
            // Not vacuous: every task and every seed produced rows, and the provenance is filled in.
            var rows = first["figures"]!["rows"]!.AsArray();
            Assert.Equal(3, rows.Select(r => r!["task"]!.GetValue<string>()).Distinct().Count());
            Assert.Equal([3, 4], rows.Select(r => r!["seed"]!.GetValue<int>()).Distinct().Order());
            Assert.Matches("^[0-9a-f]{7,}$", first["provenance"]!["commit"]!.GetValue<string>());
            Assert.True(first["provenance"]!["cores"]!.GetValue<int>() >= 1);
            Assert.Contains("<svg class=\"chart\" data-chart=\"claim-intervals\"", File.ReadAllText(Path.Combine(root, "a", "replicate.html")));
        }
        finally
        {
            if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>Files written before results carried their provenance, each with the reason it is kept as it is. A file that
    /// gains the facts (rewritten by its script) must leave this list, so the list stays true.</summary>
    private static readonly Dictionary<string, string> Legacy = new()
    {
        ["hpo.json"] = "predates the TorchSharp engine and BENCH_SAVE; the current HPO results are hpo-*.txt",
        ["torch-overhead.md"] = "history of a removed benchmark (the old libtorch shim), kept as a record",
        ["torch-step-2026-11-21.txt"] = "saved before BENCH_SAVE wrote the commit and machine header",
        ["torch-step-malloc-2026-11-21.txt"] = "a hand-written investigation note from before BENCH_SAVE",
    };

    private static readonly Regex Commit = new(@"commit\W{0,6}[0-9a-f]{7,40}\b", RegexOptions.IgnoreCase);
    private static readonly Regex Machine = new(@"\b\d+ cores\b|""cores""\W{0,3}\d+");

    [Fact]
    public void EveryStoredResultNamesItsCommitAndMachine()
    {
        var folder = Path.Combine(RunCommandTests.RepoRoot(), "benchmarks", "results");
        var files = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(folder, f)).Where(f => f != ".gitkeep").Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(files);
        var problems = new List<string>();
        foreach (var file in files)
        {
            var text = File.ReadAllText(Path.Combine(folder, file));
            bool facts = Commit.IsMatch(text) && Machine.IsMatch(text);
            if (Legacy.ContainsKey(file))
            {
                if (facts) problems.Add($"{file} now carries its commit and machine: remove it from the legacy list");
            }
            else if (!facts)
                problems.Add($"{file} lacks {(Commit.IsMatch(text) ? "" : "the commit ")}{(Machine.IsMatch(text) ? "" : "the machine (N cores)")}: results must be written by their script with both");
        }
        foreach (var gone in Legacy.Keys.Where(k => !files.Contains(k))) problems.Add($"{gone} is no longer stored: remove it from the legacy list");
        Assert.Empty(problems);
    }
}
