using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace MlNetMedical.Cli.Yaml;

/// <summary>Applies <c>--set key.path=value</c> to a parsed YAML document: dotted keys walk mappings, numbers index lists
/// (<c>stages.1.fine_tune.epochs=3</c>); missing mappings are created; the value is parsed as YAML (<c>[1, 2]</c> is a list).</summary>
public static class YamlOverrides
{
    public static void Apply(ref YamlNode root, string assignment, IDictionary<YamlNode, string> sources)
    {
        var where = $"--set {assignment}";
        var equals = assignment.IndexOf('=');
        if (equals <= 0) throw new YamlConfigException(where, "expected KEY.PATH=VALUE (e.g. data.synthetic.size=32)");
        var path = assignment[..equals].Split('.');
        if (path.Any(string.IsNullOrWhiteSpace)) throw new YamlConfigException(where, "the key path has an empty part");
        var value = ParseValue(assignment[(equals + 1)..], where);
        Mark(value, where, sources);

        if (root is not YamlMappingNode) root = new YamlMappingNode();
        YamlNode node = root;
        for (int i = 0; i < path.Length; i++)
        {
            bool last = i == path.Length - 1;
            var part = path[i];
            switch (node)
            {
                case YamlMappingNode mapping:
                    var key = new YamlScalarNode(part);
                    sources[key] = where;
                    if (last) { mapping.Children[key] = value; return; }
                    if (!mapping.Children.TryGetValue(key, out var child) || child is YamlScalarNode { Value: null or "" or "~" or "null" })
                    {
                        child = new YamlMappingNode();
                        sources[child] = where;
                        mapping.Children[key] = child;
                    }
                    node = child;
                    break;
                case YamlSequenceNode sequence:
                    if (!int.TryParse(part, out var index) || index < 0 || index >= sequence.Children.Count)
                        throw new YamlConfigException(where, $"'{string.Join('.', path[..i])}' is a list of {sequence.Children.Count}; '{part}' must be an index 0..{sequence.Children.Count - 1}");
                    if (last) { sequence.Children[index] = value; return; }
                    node = sequence.Children[index];
                    break;
                default:
                    throw new YamlConfigException(where, $"'{string.Join('.', path[..i])}' is a single value, it has no key '{part}'");
            }
        }
    }

    private static YamlNode ParseValue(string text, string where)
    {
        var stream = new YamlStream();
        try
        {
            YamlConfigReader.CheckDepth(text, where, _ => where);
            stream.Load(new StringReader(text));
        }
        catch (YamlException e) { throw new YamlConfigException(where, $"the value is not valid YAML: {e.InnerException?.Message ?? e.Message}"); }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException or OverflowException or IndexOutOfRangeException)
        {
            throw new YamlConfigException(where, $"the value is not valid YAML (the parser stopped: {e.Message})");
        }
        return stream.Documents.Count == 0 ? new YamlScalarNode("") : stream.Documents[0].RootNode;
    }

    private static void Mark(YamlNode node, string where, IDictionary<YamlNode, string> sources)
    {
        sources[node] = where;
        foreach (var child in node.AllNodes) sources[child] = where;
    }
}
