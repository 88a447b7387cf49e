using System.Collections;
using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace MlNetMedical.Cli.Yaml;

/// <summary>Writes config objects as YAML with every key, defaults included (the resolved config), in the names
/// <see cref="YamlConfigReader"/> reads back.</summary>
public static class YamlConfigWriter
{
    public static string Write(object config)
    {
        var writer = new StringWriter();
        new YamlStream(new YamlDocument(ToNode(config))).Save(writer, assignAnchors: false);
        var text = writer.ToString();
        // YamlStream ends the document with "...": one document per file needs no end marker.
        var end = text.LastIndexOf("...", StringComparison.Ordinal);
        return (end >= 0 && text[end..].Trim() == "..." ? text[..end] : text).TrimEnd() + "\n";
    }

    private static YamlNode ToNode(object? value)
    {
        switch (value)
        {
            case null: return new YamlScalarNode("null");
            case string s: return new YamlScalarNode(s) { Style = NeedsQuotes(s) ? ScalarStyle.DoubleQuoted : ScalarStyle.Plain };
            case bool b: return new YamlScalarNode(b ? "true" : "false");
            case Enum e: return new YamlScalarNode(YamlNaming.EnumValue(e.ToString()));
            case double d: return new YamlScalarNode(d.ToString("R", CultureInfo.InvariantCulture));
            case int or long: return new YamlScalarNode(Convert.ToString(value, CultureInfo.InvariantCulture));
            case IList list:
                var sequence = new YamlSequenceNode();
                foreach (var item in list) sequence.Add(ToNode(item));
                if (list.Cast<object?>().All(i => i is null or string or bool or Enum or double or int or long)) sequence.Style = SequenceStyle.Flow;
                return sequence;
            default:
                var mapping = new YamlMappingNode();
                bool oneOf = value.GetType().GetCustomAttributes(typeof(YamlOneOfAttribute), false).Length > 0;
                foreach (var (key, property) in YamlNaming.Keys(value.GetType()))
                    if (property.GetValue(value) is var item && (item is not null || !oneOf)) mapping.Add(key, ToNode(item));
                return mapping;
        }
    }

    // Strings that would read back as another type (or not at all) are quoted.
    private static bool NeedsQuotes(string s) =>
        s.Length == 0 || s is "null" or "~" or "true" or "false" || double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out _)
        || s.IndexOfAny([':', '#', '[', ']', '{', '}', ',', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`', '\n']) >= 0
        || char.IsWhiteSpace(s[0]) || char.IsWhiteSpace(s[^1]) || s[0] == '-' || s[0] == '?';
}
