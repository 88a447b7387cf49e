using System.Globalization;
using System.Reflection;

namespace MlNetMedical.AutoML;

/// <summary>Sweeps a numeric property over [Low, High]: a float parameter on double/float properties, an int parameter on int ones.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class RangeAttribute : Attribute
{
    public RangeAttribute(double low, double high) { Low = low; High = high; }
    public double Low { get; }
    public double High { get; }
    /// <summary>Sample on a logarithmic scale.</summary>
    public bool Log { get; init; }
    /// <summary>Grid step for int properties (default 1).</summary>
    public int Step { get; init; } = 1;
}

/// <summary>Sweeps a property over a fixed list of values.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ChoiceAttribute : Attribute
{
    public ChoiceAttribute(params object[] choices) { Choices = choices; }
    public IReadOnlyList<object> Choices { get; }
}

/// <summary>Sweeps a bool property over {false, true}.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class BooleanChoiceAttribute : Attribute;

/// <summary>Builds search spaces from attributed options classes and writes trial values back into them.</summary>
public static class OptionsSpace
{
    /// <summary>
    /// One parameter per attributed public property, named after the property. The value a fresh instance
    /// holds becomes the parameter's default (CFO's low-cost start) when it lies in range.
    /// </summary>
    public static SearchSpace FromOptions<TOptions>() where TOptions : new()
    {
        var defaults = new TOptions();
        var space = new SearchSpace();
        foreach (var prop in SweptProperties(typeof(TOptions)))
            space.Add(ParameterFor(prop, prop.GetValue(defaults)));
        if (space.Count == 0)
            throw new ArgumentException($"{typeof(TOptions).Name} has no property marked [Range], [Choice] or [BooleanChoice].");
        return space;
    }

    /// <summary>A new options instance with the trial's values applied to the attributed properties.</summary>
    public static TOptions Create<TOptions>(ParameterSet values, string prefix = "") where TOptions : new()
    {
        var options = new TOptions();
        Apply(values, options, prefix);
        return options;
    }

    /// <summary>Writes the trial's values into <paramref name="options"/>; properties missing from the set keep their value.</summary>
    public static void Apply(ParameterSet values, object options, string prefix = "")
    {
        foreach (var prop in SweptProperties(options.GetType()))
        {
            if (!values.TryGet(prefix + prop.Name, out var v)) continue;
            var target = Nullable.GetUnderlyingType(prop.PropertyType) ?? prop.PropertyType;
            try
            {
                prop.SetValue(options, target.IsEnum ? Enum.Parse(target, Convert.ToString(v, CultureInfo.InvariantCulture)!)
                                                    : Convert.ChangeType(v, target, CultureInfo.InvariantCulture));
            }
            catch (Exception e) when (e is InvalidCastException or FormatException or OverflowException or ArgumentException)
            {
                throw new ArgumentException($"Parameter '{prefix + prop.Name}' = '{v}' cannot be written to {options.GetType().Name}.{prop.Name} ({prop.PropertyType.Name}).", e);
            }
        }
    }

    private static IEnumerable<PropertyInfo> SweptProperties(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.IsDefined(typeof(RangeAttribute)) || p.IsDefined(typeof(ChoiceAttribute)) || p.IsDefined(typeof(BooleanChoiceAttribute)))
            .OrderBy(p => p.MetadataToken);

    private static Parameter ParameterFor(PropertyInfo prop, object? initial)
    {
        var type = Nullable.GetUnderlyingType(prop.PropertyType) ?? prop.PropertyType;
        string where = $"{prop.DeclaringType?.Name}.{prop.Name}";
        if (prop.GetCustomAttribute<RangeAttribute>() is { } r)
        {
            if (type == typeof(double) || type == typeof(float))
            {
                double? d = initial is null ? null : Convert.ToDouble(initial, CultureInfo.InvariantCulture);
                return new FloatParameter(prop.Name, r.Low, r.High, r.Log, d >= r.Low && d <= r.High ? d : null);
            }
            if (type == typeof(int))
            {
                if (r.Low != Math.Floor(r.Low) || r.High != Math.Floor(r.High))
                    throw new ArgumentException($"[Range] on int property {where} needs whole bounds, got [{r.Low}, {r.High}].");
                int? i = initial as int?;
                bool onGrid = i is { } v && v >= r.Low && v <= r.High && (v - (int)r.Low) % r.Step == 0;
                return new IntParameter(prop.Name, (int)r.Low, (int)r.High, r.Step, r.Log, onGrid ? i : null);
            }
            throw new ArgumentException($"[Range] on {where} needs a double, float or int property, not {type.Name}.");
        }
        if (prop.GetCustomAttribute<ChoiceAttribute>() is { } c)
        {
            var choices = c.Choices.Select(x => x is Enum e ? (object)e.ToString() : x).ToArray();
            object? d = initial is Enum ie ? ie.ToString() : initial;
            var p = new ChoiceParameter(prop.Name, choices);
            return d is not null && choices.Any(x => Equals(p.Canonicalize(x), TryCanonical(p, d))) ? new ChoiceParameter(prop.Name, choices, defaultValue: d) : p;
        }
        if (type != typeof(bool)) throw new ArgumentException($"[BooleanChoice] on {where} needs a bool property, not {type.Name}.");
        return new ChoiceParameter(prop.Name, new object[] { false, true }, defaultValue: initial);
    }

    private static object? TryCanonical(ChoiceParameter p, object v)
    {
        try { return p.Canonicalize(v); } catch (ArgumentException) { return null; }
    }
}
