using System.Diagnostics;
using System.Text;
using MlNetMedical.Cli.Pipelines;
using MlNetMedical.Cli.Sweeps;
using MlNetMedical.Cli.Yaml;
using Xunit;
using Xunit.Abstractions;

namespace MlNetMedical.Cli.Tests;

/// <summary>
/// Fixed-seed mutations of the shipped pipelines/*.yaml, fed to the config reader (not run): every case must finish and
/// either bind or throw <see cref="YamlConfigException"/>, the one exception the reader documents for bad input.
/// </summary>
public sealed class YamlFuzzTests(ITestOutputHelper output)
{
    private const int Seed = 20261202;
    private const int CasesPerFile = 420;

    /// <summary>Fragments that YAML parsers trip on: flow and block indicators, anchors and aliases, tags, directives,
    /// document markers, odd scalars, odd characters, and deep or long input.</summary>
    private static readonly string[] Fragments =
    [
        "{", "}", "[", "]", ":", ": ", "- ", ",", "? ", "|", ">-", "&a ", "*a", "*undefined", "&a [*a]", "<<: *a\n", "!!binary ", "!!str ", "!!int ",
        "!!map ", "!custom ", "%YAML 1.1\n", "%TAG ! tag:x,2000:\n", "---\n", "...\n", "\t", "'", "\"", "#", "\\", "\r", "\r\n", "\u0085", "\u2028",
        "\0", "\uFEFF", "\uD800", "null", "~", "''", "1e999", "-1e999", ".nan", ".inf", "99999999999999999999", "-2147483649", "0x1F", "0o17", "1_000",
        "true", "yes", "On", "=", "@", "`", "%", "!", "|\n  text\n", "  ", "\n", "key: value\n", "stages: []\n", "stages: ~\n", "- {}\n",
        new string('[', 3000), new string('{', 3000), string.Concat(Enumerable.Repeat("a: ", 2000)), string.Concat(Enumerable.Repeat("- ", 2000)),
        new string('x', 100_000), "a: &x [1, 1, 1, 1]\nb: &y [*x, *x, *x, *x]\nc: [*y, *y, *y, *y]\n",
    ];

    /// <summary>Inputs past the reader's limits: each must be refused with <see cref="YamlConfigException"/>, promptly.</summary>
    public static TheoryData<string, string> Extremes() => new()
    {
        // 200,000 unclosed '[' overflowed the stack while YamlDotNet built the tree: the process died (SIGABRT).
        { "deep flow sequences", "name: x\nstages: " + new string('[', 200_000) },
        { "deep flow mappings", "name: x\nstages: " + string.Concat(Enumerable.Repeat("{a: ", 100_000)) },
        { "deep block lists", "name: x\nstages:\n" + string.Concat(Enumerable.Range(1, 500).Select(i => new string(' ', 2 * i) + "-\n")) },
        { "over a megabyte", "name: x\n# " + new string('x', 1 << 20) + "\n" },
        // 20,000 uses of an anchor holding 1,000 levels: twenty million values from a 360 KB file.
        { "aliases that expand", "name: x\ndata: {synthetic: {task: cardiac-level-2d}}\nstages:\n  - featurize: &f {levels: ["
            + string.Join(", ", Enumerable.Repeat("-1", 1000)) + "]}\n" + string.Concat(Enumerable.Repeat("  - featurize: *f\n", 20_000)) },
    };

    [Theory]
    [MemberData(nameof(Extremes))]
    public void DeepHugeAndExpandingConfigsAreRefused(string what, string yaml)
    {
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try { YamlConfigReader.Read<PipelineConfig>(yaml, what); }
            catch (Exception e) { failure = e; }
        }) { IsBackground = true };
        thread.Start();
        Assert.True(thread.Join(TimeSpan.FromSeconds(60)), $"{what}: still reading after 60 s");
        var e = Assert.IsType<YamlConfigException>(failure);
        output.WriteLine($"{what}: {e.Message[..Math.Min(200, e.Message.Length)]}");
    }

    private static string Mutate(string text, Random rng)
    {
        var lines = text.Split('\n').ToList();
        int at = rng.Next(text.Length + 1);
        switch (rng.Next(9))
        {
            case 0: // delete a span
                return text.Remove(at, Math.Min(text.Length - at, rng.Next(1, 24)));
            case 1: // insert a fragment
                return text.Insert(at, Fragments[rng.Next(Fragments.Length)]);
            case 2: // replace a character with any other
                return at >= text.Length ? text + (char)rng.Next(0, 128) : text.Remove(at, 1).Insert(at, ((char)rng.Next(0, 0x2100)).ToString());
            case 3: // duplicate a line
            {
                int i = rng.Next(lines.Count);
                lines.Insert(i, lines[i]);
                return string.Join('\n', lines);
            }
            case 4: // swap two lines
            {
                int i = rng.Next(lines.Count), j = rng.Next(lines.Count);
                (lines[i], lines[j]) = (lines[j], lines[i]);
                return string.Join('\n', lines);
            }
            case 5: // re-indent a line
            {
                int i = rng.Next(lines.Count);
                lines[i] = rng.Next(2) == 0 ? new string(' ', rng.Next(1, 9)) + lines[i] : lines[i].TrimStart();
                return string.Join('\n', lines);
            }
            case 6: // replace a value with a fragment
            {
                int i = rng.Next(lines.Count);
                var colon = lines[i].IndexOf(": ", StringComparison.Ordinal);
                if (colon < 0) goto case 1;
                lines[i] = lines[i][..(colon + 2)] + Fragments[rng.Next(Fragments.Length)].TrimEnd('\n');
                return string.Join('\n', lines);
            }
            case 7: // truncate
                return text[..at];
            default: // several mutations at once
                for (int k = rng.Next(2, 5); k > 0; k--) text = Mutate(text, rng);
                return text;
        }
    }

    [Fact]
    public void MutatedPipelinesAndSweepsNeverCrashOrHang()
    {
        var rng = new Random(Seed);
        var files = Directory.GetFiles(Path.Combine(RunCommandTests.RepoRoot(), "pipelines"), "*.yaml").Order(StringComparer.Ordinal).ToList();
        Assert.True(files.Count >= 5, "the shipped pipelines were not found");
        int cases = 0, bound = 0, rejected = 0;
        var bad = new List<string>();
        var clock = Stopwatch.StartNew();
        foreach (var file in files)
        {
            var original = File.ReadAllText(file);
            bool sweep = Path.GetFileName(file).StartsWith("sweep-", StringComparison.Ordinal);
            for (int i = 0; i < CasesPerFile; i++, cases++)
            {
                var text = Mutate(original, rng);
                var name = $"{Path.GetFileName(file)}#{i}";
                // On its own thread (the default stack, as mlnm's pool threads have), so a hang is seen and reported.
                Exception? failure = null;
                var thread = new Thread(() =>
                {
                    try
                    {
                        if (sweep) YamlConfigReader.Read<SweepConfig>(text, name);
                        else YamlConfigReader.Read<PipelineConfig>(text, name);
                    }
                    catch (Exception e) { failure = e; }
                }) { IsBackground = true };
                thread.Start();
                if (!thread.Join(TimeSpan.FromSeconds(20))) { bad.Add($"{name}: still running after 20 s"); continue; }
                if (failure is null) bound++;
                else if (failure is YamlConfigException) rejected++;
                else bad.Add($"{name}: {string.Join("\n", failure.ToString().Split('\n').Take(6))}\n--- input ---\n{Printable(text)}");
            }
        }
        output.WriteLine($"{cases} mutated configs in {clock.Elapsed.TotalSeconds:F2} s: {bound} bound, {rejected} rejected with YamlConfigException, {bad.Count} bad");
        Assert.True(cases >= 2000, $"only {cases} cases");
        Assert.True(bad.Count == 0, $"{bad.Count} bad cases; the first ones:\n" + string.Join("\n\n", bad.Take(3)));
    }

    private static string Printable(string s)
    {
        var sb = new StringBuilder();
        foreach (var c in s.Length > 2000 ? s[..2000] + "…" : s) sb.Append(c is '\n' || (c >= 32 && c < 127) ? c.ToString() : $"\\u{(int)c:X4}");
        return sb.ToString();
    }
}
