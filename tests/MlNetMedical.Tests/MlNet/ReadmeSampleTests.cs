using Xunit;

namespace MlNetMedical.Tests.MlNet;

/// <summary>The README's C# example is samples/CardiacFeatures/Program.cs (which the solution build compiles), line for line.</summary>
public sealed class ReadmeSampleTests
{
    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MlNetMedical.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("MlNetMedical.sln not found above " + AppContext.BaseDirectory);
    }

    private static string Normalise(string code) => string.Join("\n", code.Replace("\r", "").Trim().Split('\n').Select(l => l.TrimEnd()));

    [Fact]
    public void TheReadmesCSharpExampleIsTheCompiledSample()
    {
        var root = RepoRoot();
        var readme = File.ReadAllText(Path.Combine(root, "README.md")).Replace("\r", "");
        const string fence = "```csharp\n";
        var start = readme.IndexOf(fence, StringComparison.Ordinal);
        Assert.True(start >= 0, "README.md has no C# example");
        var end = readme.IndexOf("\n```", start + fence.Length, StringComparison.Ordinal);
        var snippet = readme[(start + fence.Length)..end];
        var sample = File.ReadAllText(Path.Combine(root, "samples", "CardiacFeatures", "Program.cs"));
        Assert.Equal(Normalise(sample), Normalise(snippet));
        Assert.Contains(Path.Combine("samples", "CardiacFeatures", "CardiacFeatures.csproj").Replace('/', '\\'), File.ReadAllText(Path.Combine(root, "MlNetMedical.sln")));
    }
}
