using System.Globalization;
using System.Text;
using MlNetMedical.Cli.Yaml;

namespace MlNetMedical.Cli.Codegen;

/// <summary>
/// C# text for generated code. Every string from a config (names, splits, paths) reaches Program.cs only through
/// <see cref="Str"/> (a literal) or <see cref="Comment"/>: both write printable ASCII alone, with everything else escaped, so no
/// line break (LF, CR, U+0085, U+2028, U+2029), quote, backslash or "*/" can end the literal or comment and start code.
/// </summary>
internal static class CSharp
{
    /// <summary>A regular string literal: quotes and backslashes escaped, anything outside printable ASCII as \uXXXX.</summary>
    public static string Str(string? s)
    {
        if (s is null) return "null";
        var literal = new StringBuilder("\"");
        foreach (var c in s)
        {
            if (c == '"') literal.Append("\\\"");
            else if (c == '\\') literal.Append("\\\\");
            else if (c is >= ' ' and <= '~') literal.Append(c);
            else literal.Append("\\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
        }
        return literal.Append('"').ToString();
    }

    /// <summary>Text for a // comment: shown as a literal (<see cref="Str"/>), so it is one line of printable ASCII.</summary>
    public static string Comment(string? s) => Str(s);

    public static string Num(double d) => d.ToString("R", CultureInfo.InvariantCulture) + (d == Math.Floor(d) && !double.IsInfinity(d) && Math.Abs(d) < 1e15 ? ".0" : "");
    public static string Int(int? i) => i is { } v ? v.ToString(CultureInfo.InvariantCulture) : "null";
    public static string Ints(IEnumerable<int> values) => "[" + string.Join(", ", values.Select(v => v.ToString(CultureInfo.InvariantCulture))) + "]";
    public static string Enum<T>(T value) where T : struct, System.Enum => $"{typeof(T).Name}.{value}";
    public static string Bool(bool b) => b ? "true" : "false";
    public static string Key(string yamlKey) => YamlNaming.Key(yamlKey);
}
