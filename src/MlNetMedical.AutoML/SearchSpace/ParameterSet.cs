using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MlNetMedical.AutoML;

/// <summary>Values for the active parameters of one trial, by full name ("lr", "trainer.mlp.hidden").</summary>
public sealed class ParameterSet : IEquatable<ParameterSet>
{
    private readonly SortedDictionary<string, object> _values = new(StringComparer.Ordinal);

    public ParameterSet() { }

    public ParameterSet(IEnumerable<KeyValuePair<string, object>> values)
    {
        foreach (var (k, v) in values) _values[k] = v;
    }

    public int Count => _values.Count;
    public IEnumerable<string> Names => _values.Keys;
    public IEnumerable<KeyValuePair<string, object>> Values => _values;
    public bool Contains(string name) => _values.ContainsKey(name);
    public bool TryGet(string name, out object value) => _values.TryGetValue(name, out value!);

    public object this[string name]
    {
        get => _values.TryGetValue(name, out var v) ? v
            : throw new KeyNotFoundException($"Parameter '{name}' is not set in this trial (set: {string.Join(", ", _values.Keys)}).");
        set => _values[name] = value;
    }

    public double GetDouble(string name) => Convert.ToDouble(this[name], CultureInfo.InvariantCulture);
    public int GetInt(string name) => Convert.ToInt32(this[name], CultureInfo.InvariantCulture);
    public string GetString(string name) => Convert.ToString(this[name], CultureInfo.InvariantCulture)!;
    public bool GetBool(string name) => this[name] is bool b ? b
        : throw new InvalidCastException($"Parameter '{name}' holds '{this[name]}', not a bool.");

    /// <summary>JSON object text; numbers, strings and bools round-trip (see <see cref="FromJson"/>).</summary>
    public string ToJson()
    {
        var o = new JsonObject();
        foreach (var (k, v) in _values) o[k] = ToNode(v);
        return o.ToJsonString();
    }

    public static ParameterSet FromJson(string json)
    {
        var set = new ParameterSet();
        if (JsonNode.Parse(json) is not JsonObject o) throw new FormatException($"Parameter JSON must be an object, got: {json}");
        foreach (var (k, v) in o) set[k] = FromNode(v, k);
        return set;
    }

    internal static JsonNode ToNode(object v) => v switch
    {
        string s => JsonValue.Create(s),
        bool b => JsonValue.Create(b),
        int i => JsonValue.Create(i),
        long l => JsonValue.Create(l),
        double d => JsonValue.Create(d),
        float f => JsonValue.Create((double)f),
        _ => throw new ArgumentException($"Cannot store parameter value '{v}' of type {v.GetType().Name}."),
    };

    internal static object FromNode(JsonNode? node, string name)
    {
        if (node is not JsonValue jv) throw new FormatException($"Parameter '{name}' has a non-scalar JSON value.");
        var e = jv.GetValue<JsonElement>();
        return e.ValueKind switch
        {
            JsonValueKind.String => e.GetString()!,
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Number when e.TryGetInt32(out int i) && !e.GetRawText().Contains('.') && !e.GetRawText().Contains('e', StringComparison.OrdinalIgnoreCase) => i,
            JsonValueKind.Number => e.GetDouble(),
            _ => throw new FormatException($"Parameter '{name}' has unsupported JSON value {e.GetRawText()}."),
        };
    }

    public bool Equals(ParameterSet? other) => other is not null && ToJson() == other.ToJson();
    public override bool Equals(object? obj) => obj is ParameterSet p && Equals(p);
    public override int GetHashCode() => ToJson().GetHashCode(StringComparison.Ordinal);
    public override string ToString() => string.Join(", ", _values.Select(kv => $"{kv.Key}={Format(kv.Value)}"));

    private static string Format(object v) => v switch
    {
        double d => d.ToString("G6", CultureInfo.InvariantCulture),
        _ => Convert.ToString(v, CultureInfo.InvariantCulture) ?? "",
    };
}
