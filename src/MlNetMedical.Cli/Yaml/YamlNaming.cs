using System.Reflection;
using System.Text;

namespace MlNetMedical.Cli.Yaml;

/// <summary>Marks a config property that is not read from or written to YAML.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class YamlSkipAttribute : Attribute;

/// <summary>Marks a union-like config class (exactly one key set): the writer leaves out its null keys.</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class YamlOneOfAttribute : Attribute;

/// <summary>How config classes map to YAML: properties become snake_case keys, enum members kebab-case values.</summary>
public static class YamlNaming
{
    /// <summary>"LearningRate" → "learning_rate".</summary>
    public static string Key(string propertyName) => Split(propertyName, '_');

    /// <summary>"HierarchicalUnfreezing" → "hierarchical-unfreezing".</summary>
    public static string EnumValue(string memberName) => Split(memberName, '-');

    /// <summary>The YAML keys of a config class with their properties, in declaration order (a base class's first).</summary>
    public static IReadOnlyList<(string Key, PropertyInfo Property)> Keys(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanRead && p.CanWrite && p.GetCustomAttribute<YamlSkipAttribute>() is null)
            .OrderBy(p => Depth(p.DeclaringType!)).ThenBy(p => p.MetadataToken)
            .Select(p => (Key(p.Name), p)).ToList();

    private static int Depth(Type type) => type.BaseType is { } b ? 1 + Depth(b) : 0;

    /// <summary>The allowed YAML values of an enum type, in declaration order.</summary>
    public static IReadOnlyList<string> EnumValues(Type enumType) => Enum.GetNames(enumType).Select(EnumValue).ToList();

    private static string Split(string name, char separator)
    {
        var text = new StringBuilder();
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            bool boundary = i > 0 && char.IsUpper(c) && (char.IsLower(name[i - 1]) || char.IsDigit(name[i - 1])
                || (i + 1 < name.Length && char.IsLower(name[i + 1]) && char.IsUpper(name[i - 1])));
            if (boundary) text.Append(separator);
            text.Append(char.ToLowerInvariant(c));
        }
        return text.ToString();
    }
}
