using System.Text.RegularExpressions;
using MlNetMedical.Cli.Pipelines;
using MlNetMedical.Cli.Yaml;
using Xunit;

namespace MlNetMedical.Cli.Tests;

/// <summary>pipelines/README.md's schema tables list exactly the keys the config classes read.</summary>
public sealed class PipelineSchemaDocsTests
{
    // Mappings used in several places are documented once under a placeholder.
    private static readonly Dictionary<Type, string> Shared = new()
    {
        [typeof(TrainingSettings)] = "<training>", [typeof(TransferSettings)] = "<transfer>",
        [typeof(HeadSettings)] = "<head>", [typeof(SizeSettings)] = "<size>",
    };

    [Fact]
    public void EveryDocumentedKeyExistsAndEveryKeyIsDocumented()
    {
        var code = new SortedSet<string>(StringComparer.Ordinal);
        AddPaths(typeof(PipelineConfig), "", code);
        foreach (var (type, placeholder) in Shared) AddPaths(type, placeholder, code);

        var readme = File.ReadAllText(Path.Combine(RunCommandTests.RepoRoot(), "pipelines", "README.md"));
        var schema = readme[readme.IndexOf("\n## Schema", StringComparison.Ordinal)..];
        var next = schema.IndexOf("\n## ", 5, StringComparison.Ordinal); // a later section (e.g. sweeps) is not schema
        if (next > 0) schema = schema[..next];
        var documented = new SortedSet<string>(Regex.Matches(schema, @"^\| `([^`]+)` \|", RegexOptions.Multiline).Select(m => m.Groups[1].Value), StringComparer.Ordinal);

        Assert.Empty(code.Except(documented));   // keys the README lacks
        Assert.Empty(documented.Except(code));   // documented keys the code does not read
    }

    private static void AddPaths(Type type, string prefix, ISet<string> paths)
    {
        foreach (var (key, property) in YamlNaming.Keys(type))
        {
            var path = prefix == "" ? key : $"{prefix}.{key}";
            paths.Add(path);
            var valueType = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            if (YamlConfigReaderItem(valueType) is { } item)
            {
                if (IsMapping(item)) AddPaths(item, path + "[]", paths);
            }
            else if (IsMapping(valueType) && !Shared.ContainsKey(valueType)) AddPaths(valueType, path, paths);
        }
    }

    private static Type? YamlConfigReaderItem(Type type) =>
        type.IsArray ? type.GetElementType() : type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>) ? type.GetGenericArguments()[0] : null;

    private static bool IsMapping(Type type) => type.IsClass && type != typeof(string);
}
