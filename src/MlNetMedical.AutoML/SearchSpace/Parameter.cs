using System.Globalization;

namespace MlNetMedical.AutoML;

/// <summary>One dimension of a search space. Every parameter maps its values to [0,1) and back.</summary>
public abstract class Parameter
{
    protected Parameter(string name)
    {
        if (string.IsNullOrWhiteSpace(name))
            throw new ArgumentException("A search-space parameter needs a non-empty name.", nameof(name));
        if (name.Contains('.'))
            throw new ArgumentException($"Parameter name '{name}' must not contain '.', which separates nested names.", nameof(name));
        Name = name;
    }

    /// <summary>The name as declared (nested parameters get a dotted full name in their space).</summary>
    public string Name { get; }

    /// <summary>The value a cost-frugal search starts from (the "low-cost" point), if declared.</summary>
    public object? Default { get; protected init; }

    /// <summary>Maps u in [0,1] to a value (u outside is clamped).</summary>
    public abstract object Decode(double u);

    /// <summary>Maps a value to the centre of its cell in [0,1); throws naming the parameter when it is out of range.</summary>
    public abstract double Encode(object value);

    /// <summary>Converts a stored or user-supplied value to this parameter's canonical type, or throws naming the parameter.</summary>
    public abstract object Canonicalize(object value);

    /// <summary>The smallest meaningful move in normalised units (1/number of cells; 0 for continuous).</summary>
    public abstract double Granularity { get; }

    /// <summary>Up to <paramref name="floatPoints"/> evenly spread values (all values for discrete parameters).</summary>
    public abstract IReadOnlyList<object> GridValues(int floatPoints);

    protected static double Clamp01(double u) => double.IsNaN(u) ? 0.5 : Math.Clamp(u, 0.0, 1.0);

    protected ArgumentException Invalid(string what) => new($"Search-space parameter '{Name}': {what}");

    protected double ToDouble(object value)
    {
        try
        {
            return value switch
            {
                double d => d,
                float f => f,
                int i => i,
                long l => l,
                decimal m => (double)m,
                string s => double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture),
                _ => Convert.ToDouble(value, CultureInfo.InvariantCulture),
            };
        }
        catch (Exception e) when (e is FormatException or InvalidCastException or OverflowException)
        {
            throw Invalid($"expected a number, got '{value}' ({value.GetType().Name}).");
        }
    }
}

/// <summary>A real-valued parameter on [Low, High], uniform or logarithmic.</summary>
public sealed class FloatParameter : Parameter
{
    public FloatParameter(string name, double low, double high, bool log = false, double? defaultValue = null) : base(name)
    {
        if (!double.IsFinite(low) || !double.IsFinite(high) || !(low < high))
            throw Invalid($"range must be finite with low < high, got [{low}, {high}].");
        if (log && low <= 0)
            throw Invalid($"a log range needs low > 0, got low = {low}.");
        Low = low; High = high; Log = log;
        if (defaultValue is { } d)
        {
            if (!(d >= low && d <= high)) throw Invalid($"default {d} lies outside [{low}, {high}].");
            Default = d;
        }
    }

    public double Low { get; }
    public double High { get; }
    public bool Log { get; }

    public override object Decode(double u)
    {
        u = Clamp01(u);
        double v = Log ? Math.Exp(Math.Log(Low) + u * (Math.Log(High) - Math.Log(Low))) : Low + u * (High - Low);
        return Math.Clamp(v, Low, High);
    }

    public override double Encode(object value)
    {
        double v = (double)Canonicalize(value);
        double u = Log ? (Math.Log(v) - Math.Log(Low)) / (Math.Log(High) - Math.Log(Low)) : (v - Low) / (High - Low);
        return Math.Clamp(u, 0.0, 1.0);
    }

    public override object Canonicalize(object value)
    {
        double v = ToDouble(value);
        if (!(v >= Low && v <= High)) throw Invalid($"value {v.ToString(CultureInfo.InvariantCulture)} lies outside [{Low}, {High}].");
        return v;
    }

    public override double Granularity => 0.0;

    public override IReadOnlyList<object> GridValues(int floatPoints)
    {
        if (floatPoints < 2) throw Invalid($"a grid needs at least 2 points per float, got {floatPoints}.");
        return Enumerable.Range(0, floatPoints).Select(i => Decode(i / (double)(floatPoints - 1))).ToArray();
    }

    public override string ToString() => $"{Name}: float[{Low}, {High}]{(Log ? " log" : "")}";
}

/// <summary>An integer parameter on {Low, Low+Step, ..., High}, uniform or logarithmic (log needs Step = 1).</summary>
public sealed class IntParameter : Parameter
{
    public IntParameter(string name, int low, int high, int step = 1, bool log = false, int? defaultValue = null) : base(name)
    {
        if (low > high) throw Invalid($"range needs low <= high, got [{low}, {high}].");
        if (step < 1) throw Invalid($"step must be >= 1, got {step}.");
        if ((high - (long)low) % step != 0) throw Invalid($"range [{low}, {high}] is not a whole number of steps of {step}.");
        if (log && low < 1) throw Invalid($"a log range needs low >= 1, got low = {low}.");
        if (log && step != 1) throw Invalid($"a log range needs step = 1, got step = {step}.");
        Low = low; High = high; Step = step; Log = log;
        if (defaultValue is { } d) Default = Canonicalize(d);
    }

    public int Low { get; }
    public int High { get; }
    public int Step { get; }
    public bool Log { get; }
    public int Count => (High - Low) / Step + 1;

    // Log ints use cells of equal width in log space over [Low-0.5, High+0.5], so each integer owns one cell.
    private double LogLo => Math.Log(Low - 0.5);
    private double LogHi => Math.Log(High + 0.5);

    public override object Decode(double u)
    {
        u = Clamp01(u);
        if (Log)
        {
            int v = (int)Math.Round(Math.Exp(LogLo + u * (LogHi - LogLo)), MidpointRounding.AwayFromZero);
            return Math.Clamp(v, Low, High);
        }
        int idx = Math.Min((int)Math.Floor(u * Count), Count - 1);
        return Low + idx * Step;
    }

    public override double Encode(object value)
    {
        int v = (int)Canonicalize(value);
        if (Log)
        {
            double mid = 0.5 * (Math.Log(v - 0.5) + Math.Log(v + 0.5));
            return Math.Clamp((mid - LogLo) / (LogHi - LogLo), 0.0, 1.0);
        }
        return ((v - Low) / Step + 0.5) / Count;
    }

    public override object Canonicalize(object value)
    {
        double d = ToDouble(value);
        if (d != Math.Floor(d)) throw Invalid($"expected an integer, got {d.ToString(CultureInfo.InvariantCulture)}.");
        if (d < Low || d > High) throw Invalid($"value {d} lies outside [{Low}, {High}].");
        int v = (int)d;
        if ((v - Low) % Step != 0) throw Invalid($"value {v} is not on the grid {Low} + k*{Step}.");
        return v;
    }

    public override double Granularity => 1.0 / Count;

    public override IReadOnlyList<object> GridValues(int floatPoints) =>
        Enumerable.Range(0, Count).Select(i => (object)(Low + i * Step)).ToArray();

    public override string ToString() => $"{Name}: int[{Low}, {High}] step {Step}{(Log ? " log" : "")}";
}

/// <summary>A categorical parameter. Each choice may carry its own sub-space, active only when it is chosen.</summary>
public sealed class ChoiceParameter : Parameter
{
    private readonly object[] _choices;
    private readonly SearchSpace?[] _branches;

    public ChoiceParameter(string name, IReadOnlyList<object> choices, IReadOnlyList<SearchSpace?>? branches = null, object? defaultValue = null) : base(name)
    {
        if (choices.Count == 0) throw Invalid("needs at least one choice.");
        _choices = new object[choices.Count];
        for (int i = 0; i < choices.Count; i++)
        {
            var c = choices[i] ?? throw Invalid($"choice #{i} is null.");
            if (c is not (string or int or long or double or bool))
                throw Invalid($"choice '{c}' has type {c.GetType().Name}; choices must be string, int, long, double or bool.");
            _choices[i] = c is long l && l is >= int.MinValue and <= int.MaxValue ? (int)l : c;
        }
        var keys = _choices.Select(Key).ToArray();
        var dup = keys.GroupBy(k => k).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw Invalid($"choice '{dup.Key}' is listed twice.");
        if (branches is not null && branches.Count != choices.Count)
            throw Invalid($"got {branches.Count} sub-spaces for {choices.Count} choices.");
        _branches = branches?.ToArray() ?? new SearchSpace?[choices.Count];
        if (defaultValue is not null) Default = Canonicalize(defaultValue);
    }

    public IReadOnlyList<object> Choices => _choices;

    /// <summary>The sub-space that is active when choice <paramref name="index"/> is taken (null: none).</summary>
    public SearchSpace? BranchOf(int index) => _branches[index];

    public bool HasBranches => _branches.Any(b => b is { Count: > 0 });

    /// <summary>The label used in nested names: "choice.label.param".</summary>
    public static string Label(object choice) => choice switch
    {
        bool b => b ? "true" : "false",
        _ => Convert.ToString(choice, CultureInfo.InvariantCulture) ?? "",
    };

    public int IndexOf(object value)
    {
        string key = Key(value);
        for (int i = 0; i < _choices.Length; i++)
            if (Key(_choices[i]) == key) return i;
        throw Invalid($"'{value}' is not one of the choices [{string.Join(", ", _choices.Select(Key))}].");
    }

    public override object Decode(double u) => _choices[Math.Min((int)Math.Floor(Clamp01(u) * _choices.Length), _choices.Length - 1)];

    public override double Encode(object value) => (IndexOf(value) + 0.5) / _choices.Length;

    public override object Canonicalize(object value) => _choices[IndexOf(value)];

    public override double Granularity => 1.0 / _choices.Length;

    public override IReadOnlyList<object> GridValues(int floatPoints) => _choices;

    // Numbers compare by value (1 == 1L == 1.0), strings and bools by text.
    private static string Key(object v) => v switch
    {
        string s => "s:" + s,
        bool b => b ? "b:true" : "b:false",
        double d => "n:" + d.ToString("R", CultureInfo.InvariantCulture),
        float f => "n:" + ((double)f).ToString("R", CultureInfo.InvariantCulture),
        int i => "n:" + i.ToString(CultureInfo.InvariantCulture),
        long l => "n:" + l.ToString(CultureInfo.InvariantCulture),
        _ => "o:" + Convert.ToString(v, CultureInfo.InvariantCulture),
    };

    public override string ToString() => $"{Name}: choice[{string.Join(", ", _choices)}]";
}
