using System.Collections;
using System.Globalization;
using System.Reflection;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace MlNetMedical.Cli.Yaml;

/// <summary>A config class that checks its values after binding (ranges, required keys, cross-references).</summary>
public interface IYamlValidated
{
    void Validate(YamlValidation check);
}

/// <summary>Reports a bad value at the line of the key it concerns (or of the mapping, when the key is absent).</summary>
public sealed class YamlValidation
{
    private readonly YamlSourceMap _sources;
    internal YamlValidation(YamlSourceMap sources) => _sources = sources;

    /// <summary>Throws <see cref="YamlConfigException"/> at <paramref name="owner"/>'s key for <paramref name="propertyName"/> unless <paramref name="ok"/>.</summary>
    public void Check(bool ok, object owner, string propertyName, string message)
    {
        if (!ok) Fail(owner, propertyName, message);
    }

    public void Fail(object owner, string propertyName, string message) =>
        throw new YamlConfigException(_sources.Where(owner, propertyName), $"'{YamlNaming.Key(propertyName)}' {message}");
}

/// <summary>Where each bound object and key came from, for error messages.</summary>
public sealed class YamlSourceMap
{
    private readonly Dictionary<object, (string Where, Dictionary<string, string> Keys)> _objects = new(ReferenceEqualityComparer.Instance);

    internal void Add(object owner, string where, Dictionary<string, string> keys) => _objects[owner] = (where, keys);

    /// <summary>The location of <paramref name="owner"/>'s value for the property, or of its mapping when the key is absent.</summary>
    public string Where(object owner, string propertyName)
    {
        if (!_objects.TryGetValue(owner, out var entry)) return "(config)";
        return entry.Keys.TryGetValue(propertyName, out var at) ? at : $"{entry.Where} (key '{YamlNaming.Key(propertyName)}' absent)";
    }
}

/// <summary>Reads a YAML file strictly into typed config classes: unknown keys, wrong types, bad enum values,
/// duplicate keys and failed <see cref="IYamlValidated"/> checks are errors naming the file, line and column and what is allowed.
/// <c>--set key.path=value</c> overrides are applied to the document before binding.</summary>
public static class YamlConfigReader
{
    /// <summary>Larger is not a config file (the shipped ones are a few KB); refused before it is read.</summary>
    public const int MaxBytes = 1 << 20;
    /// <summary>Deeper nesting is refused before the document is built: YamlDotNet builds nodes recursively, and 100,000
    /// unclosed '[' overflowed the stack, which kills the process.</summary>
    public const int MaxDepth = 64;
    /// <summary>Values bound in one document, aliases counted each time they are used, so a small file of aliases to aliases
    /// cannot expand into billions of values.</summary>
    public const int MaxValues = 100_000;

    public static T ReadFile<T>(string path, IEnumerable<string>? overrides = null) where T : class, new() => Read<T>(ReadText(path), path, overrides);

    /// <summary>A config file's text; a missing, unreadable or oversized file is a <see cref="YamlConfigException"/>.</summary>
    public static string ReadText(string path)
    {
        try
        {
            var length = new FileInfo(path).Length;
            if (length > MaxBytes) throw new YamlConfigException(path, $"is {length:N0} bytes; a config file is at most {MaxBytes:N0}");
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException or IOException)
        {
            throw new YamlConfigException(path, $"cannot read the file: {e.Message}");
        }
    }

    /// <summary>Binds <paramref name="yaml"/>; <paramref name="sourceName"/> names it in errors.</summary>
    public static T Read<T>(string yaml, string sourceName, IEnumerable<string>? overrides = null) where T : class, new() =>
        Read<T>(yaml, sourceName, overrides, out _);

    public static T Read<T>(string yaml, string sourceName, IEnumerable<string>? overrides, out YamlSourceMap sources) where T : class, new()
    {
        var binder = new Binder(sourceName);
        var root = Parse(yaml, sourceName, binder);
        root ??= new YamlMappingNode();
        foreach (var assignment in overrides ?? []) YamlOverrides.Apply(ref root, assignment, binder.OverrideSources);
        var value = (T)binder.Bind(root, typeof(T), "")!;
        binder.ValidateAll();
        sources = binder.Sources;
        return value;
    }

    private static YamlNode? Parse(string yaml, string sourceName, Binder binder)
    {
        if (yaml.Length > MaxBytes) throw new YamlConfigException(sourceName, $"holds {yaml.Length:N0} characters; a config file is at most {MaxBytes:N0}");
        var stream = new YamlStream();
        try
        {
            CheckDepth(yaml, sourceName, binder.At);
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            var problem = e.InnerException?.Message ?? e.Message;
            throw new YamlConfigException(binder.At(e.Start), $"not valid YAML: {StripMark(problem)}");
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException or OverflowException or IndexOutOfRangeException)
        {
            // YamlDotNet's scanner throws these on some malformed input (found by fuzzing); they are the file's fault, not ours.
            throw new YamlConfigException(sourceName, $"not valid YAML (the parser stopped: {e.Message})");
        }
        if (stream.Documents.Count > 1) throw new YamlConfigException(binder.At(stream.Documents[1].RootNode.Start), "holds more than one YAML document; use one");
        return stream.Documents.Count == 0 ? null : stream.Documents[0].RootNode;
    }

    /// <summary>Walks the parser's events (no tree, no recursion) and refuses nesting deeper than <see cref="MaxDepth"/>.</summary>
    internal static void CheckDepth(string yaml, string sourceName, Func<Mark, string> at)
    {
        var parser = new Parser(new StringReader(yaml));
        int depth = 0;
        while (parser.MoveNext())
        {
            switch (parser.Current)
            {
                case YamlDotNet.Core.Events.MappingStart or YamlDotNet.Core.Events.SequenceStart:
                    if (++depth > MaxDepth) throw new YamlConfigException(at(parser.Current.Start), $"nests lists and mappings more than {MaxDepth} deep");
                    break;
                case YamlDotNet.Core.Events.MappingEnd or YamlDotNet.Core.Events.SequenceEnd:
                    depth--;
                    break;
            }
        }
    }

    // YamlDotNet prefixes messages with "(Line: 3, Col: 5, Idx: …) - (…): "; we name the place ourselves.
    private static string StripMark(string message)
    {
        var at = message.LastIndexOf("): ", StringComparison.Ordinal);
        return at >= 0 && message.StartsWith('(') ? message[(at + 3)..] : message;
    }

    private sealed class Binder(string sourceName)
    {
        public Dictionary<YamlNode, string> OverrideSources { get; } = new(ReferenceEqualityComparer.Instance);
        public YamlSourceMap Sources { get; } = new();
        private readonly List<IYamlValidated> _validated = [];
        private int _values;

        public string At(Mark mark) => $"{sourceName}:{mark.Line}:{mark.Column}";

        private string At(YamlNode node) => OverrideSources.TryGetValue(node, out var assignment) ? assignment : At(node.Start);

        public void ValidateAll()
        {
            var check = new YamlValidation(Sources);
            foreach (var item in _validated) item.Validate(check); // children were added before their parents
        }

        /// <summary>Binds <paramref name="node"/>; <paramref name="path"/> is its dotted key path ("" = the document).</summary>
        /// <remarks>A mapping bound to a property that already holds an object (set by its owner's constructor) updates that
        /// object, so owners can give nested settings their own defaults.</remarks>
        public object? Bind(YamlNode node, Type type, string path, bool nullableReference = false, object? existing = null)
        {
            var what = path == "" ? "the document" : $"'{path}'";
            if (++_values > MaxValues) throw new YamlConfigException(At(node), $"expands to more than {MaxValues:N0} values (aliases included); a config is far smaller");
            var underlying = Nullable.GetUnderlyingType(type);
            if (IsNull(node))
            {
                if (underlying is not null || nullableReference) return null;
                throw new YamlConfigException(At(node), $"{what} is empty; expected {Describe(type)}");
            }
            type = underlying ?? type;
            if (type == typeof(string)) return Scalar(node, type, what).Value;
            if (type == typeof(int)) return ParseNumber(node, what, type, s => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : null);
            if (type == typeof(long)) return ParseNumber(node, what, type, s => long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : null);
            if (type == typeof(double)) return ParseNumber(node, what, type, s => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) ? v : null);
            if (type == typeof(bool))
            {
                var text = Scalar(node, type, what).Value;
                return text switch
                {
                    "true" => true,
                    "false" => false,
                    _ => throw new YamlConfigException(At(node), $"{what} is '{text}'; expected true or false"),
                };
            }
            if (type.IsEnum)
            {
                var text = Scalar(node, type, what).Value;
                foreach (var name in Enum.GetNames(type))
                    if (YamlNaming.EnumValue(name) == text) return Enum.Parse(type, name);
                throw new YamlConfigException(At(node), $"{what} is '{text}'; allowed values: {string.Join(", ", YamlNaming.EnumValues(type))}");
            }
            if (ItemType(type) is { } itemType)
            {
                if (node is not YamlSequenceNode sequence) throw new YamlConfigException(At(node), $"{what} must be a list; expected {Describe(type)}");
                var list = (IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(itemType))!;
                int i = 0;
                foreach (var child in sequence.Children) list.Add(Bind(child, itemType, path == "" ? $"{i++}" : $"{path}.{i++}"));
                if (!type.IsArray) return list;
                var array = Array.CreateInstance(itemType, list.Count);
                list.CopyTo(array, 0);
                return array;
            }
            if (type.IsClass && type.GetConstructor(Type.EmptyTypes) is not null) return BindObject(node, type, path, existing);
            throw new InvalidOperationException($"config type {type.Name} is not supported by the YAML binder");
        }

        private object BindObject(YamlNode node, Type type, string path, object? existing)
        {
            var what = path == "" ? "the document" : $"'{path}'";
            if (node is not YamlMappingNode mapping) throw new YamlConfigException(At(node), $"{what} must be a mapping with keys: {string.Join(", ", YamlNaming.Keys(type).Select(k => k.Key))}");
            var target = existing ?? Activator.CreateInstance(type)!;
            var keys = YamlNaming.Keys(type).ToDictionary(k => k.Key, k => k.Property);
            var locations = new Dictionary<string, string>();
            bool oneOf = type.GetCustomAttributes(typeof(YamlOneOfAttribute), false).Length > 0;
            foreach (var (keyNode, value) in mapping.Children)
            {
                var valueNode = value;
                var key = keyNode is YamlScalarNode s ? s.Value ?? "" : throw new YamlConfigException(At(keyNode), "keys must be plain names");
                if (!keys.TryGetValue(key, out var property))
                    throw new YamlConfigException(At(keyNode), $"unknown key '{key}' in {what}; allowed keys: {string.Join(", ", keys.Keys)}");
                if (oneOf && IsNull(valueNode) && property.PropertyType.IsClass && property.PropertyType != typeof(string))
                {
                    // `- pretrain:` in a one-key union means "this kind, all defaults", as `- pretrain: {}` does.
                    var empty = new YamlMappingNode();
                    OverrideSources[empty] = At(valueNode);
                    valueNode = empty;
                }
                bool nullable = Nullability.Create(property).WriteState == NullabilityState.Nullable;
                var current = property.PropertyType.IsClass && property.PropertyType != typeof(string) && ItemType(property.PropertyType) is null ? property.GetValue(target) : null;
                property.SetValue(target, Bind(valueNode, property.PropertyType, path == "" ? key : $"{path}.{key}", nullable, current));
                locations[property.Name] = At(valueNode);
            }
            Sources.Add(target, At(node), locations);
            if (target is IYamlValidated validated) _validated.Add(validated);
            return target;
        }

        private YamlScalarNode Scalar(YamlNode node, Type type, string what) =>
            node as YamlScalarNode ?? throw new YamlConfigException(At(node), $"{what} must be a single value; expected {Describe(type)}");

        private object ParseNumber(YamlNode node, string what, Type type, Func<string, object?> parse)
        {
            var scalar = Scalar(node, type, what);
            return (scalar.Style is ScalarStyle.Plain ? parse(scalar.Value ?? "") : null)
                ?? throw new YamlConfigException(At(node), $"{what} is '{scalar.Value}'; expected {Describe(type)}");
        }

        private static bool IsNull(YamlNode node) =>
            node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any, Value: null or "" or "~" or "null" };

        // Reference properties accept null only when declared `T?`.
        private readonly NullabilityInfoContext Nullability = new();
    }

    internal static Type? ItemType(Type type)
    {
        if (type.IsArray) return type.GetElementType();
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>)) return type.GetGenericArguments()[0];
        return null;
    }

    /// <summary>What a value of <paramref name="type"/> looks like, for messages and the schema docs.</summary>
    public static string Describe(Type type)
    {
        var underlying = Nullable.GetUnderlyingType(type);
        if (underlying is not null) return Describe(underlying) + " or null";
        if (type == typeof(string)) return "a string";
        if (type == typeof(int) || type == typeof(long)) return "an integer";
        if (type == typeof(double)) return "a number";
        if (type == typeof(bool)) return "true or false";
        if (type.IsEnum) return "one of " + string.Join(", ", YamlNaming.EnumValues(type));
        if (ItemType(type) is { } item) return $"a list of {Describe(item).Replace("a ", "").Replace("an ", "")}";
        return "a mapping with keys: " + string.Join(", ", YamlNaming.Keys(type).Select(k => k.Key));
    }
}
