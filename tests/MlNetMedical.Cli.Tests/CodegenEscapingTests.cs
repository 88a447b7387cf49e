using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using MlNetMedical.Cli.Codegen;
using MlNetMedical.Cli.Pipelines;
using Xunit;

namespace MlNetMedical.Cli.Tests;

/// <summary>
/// Strings from a run's config reach the Program.cs that `mlnm codegen` writes (names, splits, paths). Whatever they hold,
/// they must stay inside string literals and comments: the generated code must parse to the same program as with plain names.
/// </summary>
public sealed class CodegenEscapingTests
{
    /// <summary>Line breaks C# knows (LF, CR, NEL, U+2028, U+2029), comment ends, quotes, backslashes and a statement to smuggle.</summary>
    public static readonly string[] Hostile =
    [
        "x\nSystem.IO.File.WriteAllText(\"/tmp/pwned\", \"1\");//",
        "x\rSystem.Environment.Exit(3);//",
        "x\u0085System.Environment.Exit(4);//",
        "x\u2028System.Environment.Exit(5);//",
        "x\u2029System.Environment.Exit(6);//",
        "x */ System.Environment.Exit(7); /* y",
        "\"); System.Environment.Exit(8); (\"",
        "back\\slash\\\"quote",
        "{braces} and $\"{interpolation}\"",
        "tab\there\0nul\u001bescape\u200Bzero-width",
    ];

    private static PipelineConfig Config(Func<int, string> text)
    {
        var config = PipelineExecution.Read("""
            name: plain
            data: {manifest: data/manifest.csv, cache_folder: cache}
            network: {spatial_dims: 2, in_channels: 1, segmentation_classes: 3}
            stages:
              - pretrain: {name: p}
              - featurize: {name: f, from: p}
              - imagenet_features: {name: i}
              - fine_tune: {name: t, from: p}
              - joint: {name: j, from: p}
              - scratch: {name: s}
              - imagenet_fine_tune: {name: n}
            """, "plain.yaml", []);
        // Set after reading: the YAML reader refuses such names, codegen must be safe without relying on it.
        config.Name = text(0);
        config.Data.Manifest = text(1);
        config.Data.CacheFolder = text(2);
        config.Data.TrainSplit = text(3);
        config.Data.TestSplit = text(4);
        config.Data.PretrainSplit = text(5);
        var names = Enumerable.Range(0, config.Stages.Count).Select(i => text(6 + i)).ToList();
        for (int i = 0; i < config.Stages.Count; i++)
        {
            var body = config.Stages[i].Body!;
            body.Name = names[i];
            body.Training.EarlyStoppingMetric = text(20 + i);
            switch (body)
            {
                case FeaturizeStage f: f.From = names[0]; break;
                case FineTuneStage t: t.From = names[0]; break;
                case JointStage j: j.From = names[0]; break;
                case PretrainStage p: p.Split = text(30); break;
            }
        }
        return config;
    }

    /// <summary>The program without its comments and with every string literal emptied: what the code does, not what it says.</summary>
    private static string Shape(SyntaxTree tree)
    {
        var root = tree.GetRoot();
        var stripped = root.ReplaceTokens(
            root.DescendantTokens().Where(t => t.IsKind(SyntaxKind.StringLiteralToken)),
            (t, _) => SyntaxFactory.Literal(""));
        stripped = stripped.ReplaceTrivia(stripped.DescendantTrivia(descendIntoTrivia: true)
            .Where(t => t.IsKind(SyntaxKind.SingleLineCommentTrivia) || t.IsKind(SyntaxKind.MultiLineCommentTrivia)), (_, _) => default);
        // Stage variables are named after the stages ("stageFineTune"): number them in order of appearance.
        var variables = new Dictionary<string, int>();
        return string.Join(" ", stripped.DescendantTokens().Select(t =>
            t.IsKind(SyntaxKind.IdentifierToken) && t.Text.StartsWith("stage", StringComparison.Ordinal) && t.Text.Length > 5
                ? "stage#" + (variables.TryGetValue(t.Text, out var n) ? n : variables[t.Text] = variables.Count)
                : t.Text));
    }

    [Fact]
    public void HostileNamesStayInsideLiteralsAndComments()
    {
        var plain = CSharpSyntaxTree.ParseText(ProgramWriter.Write(Config(i => $"plain{i}")));
        Assert.Empty(plain.GetDiagnostics());
        var expected = Shape(plain);
        foreach (var hostile in Hostile)
        {
            var code = ProgramWriter.Write(Config(i => $"{hostile}{i}"));
            var tree = CSharpSyntaxTree.ParseText(code);
            Assert.True(!tree.GetDiagnostics().Any(), $"does not parse with {Escape(hostile)}:\n{string.Join("\n", tree.GetDiagnostics())}\n{code}");
            Assert.True(expected == Shape(tree), $"the program changed with {Escape(hostile)}:\n{code}");
            // The values survive: each string literal the program holds is the config's text, unchanged.
            var literals = tree.GetRoot().DescendantTokens().Where(t => t.IsKind(SyntaxKind.StringLiteralToken)).Select(t => t.ValueText).ToHashSet();
            foreach (var i in new[] { 1, 3, 4, 6, 7 }) Assert.Contains($"{hostile}{i}", literals);
        }
    }

    private static string Escape(string s) => string.Concat(s.Select(c => c < 32 || c > 126 ? $"\\u{(int)c:X4}" : c.ToString()));
}
