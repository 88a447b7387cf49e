namespace MlNetMedical.AutoML;

/// <summary>
/// An ordered set of parameters, some conditional (a choice's sub-space is active only when that choice is
/// taken). Flattened depth-first into <see cref="Dimensions"/>, which tuners see as [0,1)^d.
/// Nested parameters are named "choice.label.param".
/// </summary>
public sealed class SearchSpace
{
    private readonly List<Parameter> _parameters = new();
    private List<Dimension>? _dimensions;

    public SearchSpace() { }

    public SearchSpace(params Parameter[] parameters)
    {
        foreach (var p in parameters) Add(p);
    }

    /// <summary>A flattened dimension: its full name, the parameter, and the choice that activates it (if nested).</summary>
    public sealed record Dimension(int Index, string FullName, Parameter Parameter, int? ParentIndex, int ParentChoice);

    public int Count => _parameters.Count;
    public IReadOnlyList<Parameter> Parameters => _parameters;

    public IReadOnlyList<Dimension> Dimensions => _dimensions ??= Flatten();

    public Dimension this[string fullName] => Dimensions.FirstOrDefault(d => d.FullName == fullName)
        ?? throw new KeyNotFoundException($"The search space has no parameter '{fullName}' (has: {string.Join(", ", Dimensions.Select(d => d.FullName))}).");

    public SearchSpace Add(Parameter parameter)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        if (_parameters.Any(p => p.Name == parameter.Name))
            throw new ArgumentException($"Search-space parameter '{parameter.Name}' is declared twice.");
        _parameters.Add(parameter);
        _dimensions = null;
        return this;
    }

    // Fluent declarations.
    public SearchSpace Float(string name, double low, double high, bool log = false, double? defaultValue = null) =>
        Add(new FloatParameter(name, low, high, log, defaultValue));

    public SearchSpace Int(string name, int low, int high, int step = 1, bool log = false, int? defaultValue = null) =>
        Add(new IntParameter(name, low, high, step, log, defaultValue));

    public SearchSpace Choice(string name, params object[] choices) => Add(new ChoiceParameter(name, choices));

    public SearchSpace Bool(string name, bool? defaultValue = null) =>
        Add(new ChoiceParameter(name, new object[] { false, true }, defaultValue: defaultValue));

    /// <summary>A choice whose options each carry their own sub-space (null or empty: nothing more to tune).</summary>
    public SearchSpace Choice(string name, params (object Choice, SearchSpace? Space)[] branches) =>
        Add(new ChoiceParameter(name, branches.Select(b => b.Choice).ToArray(), branches.Select(b => b.Space).ToArray()));

    private List<Dimension> Flatten()
    {
        var dims = new List<Dimension>();
        void Walk(SearchSpace space, string prefix, int? parent, int parentChoice)
        {
            foreach (var p in space._parameters)
            {
                var dim = new Dimension(dims.Count, prefix + p.Name, p, parent, parentChoice);
                dims.Add(dim);
                if (p is ChoiceParameter c)
                    for (int i = 0; i < c.Choices.Count; i++)
                        if (c.BranchOf(i) is { } sub)
                            Walk(sub, $"{dim.FullName}.{ChoiceParameter.Label(c.Choices[i])}.", dim.Index, i);
            }
        }
        Walk(this, "", null, 0);
        var dup = dims.GroupBy(d => d.FullName).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new ArgumentException($"Search-space parameter '{dup.Key}' is declared twice.");
        return dims;
    }

    /// <summary>Whether a dimension is active given the values chosen so far.</summary>
    public bool IsActive(Dimension dim, ParameterSet values)
    {
        if (dim.ParentIndex is not { } pi) return true;
        var parent = Dimensions[pi];
        return IsActive(parent, values) && values.TryGet(parent.FullName, out var v)
            && ((ChoiceParameter)parent.Parameter).IndexOf(v) == dim.ParentChoice;
    }

    /// <summary>Decodes a point of [0,1)^d; only active parameters appear in the result.</summary>
    public ParameterSet Decode(IReadOnlyList<double> point)
    {
        if (point.Count != Dimensions.Count)
            throw new ArgumentException($"A point of this space has {Dimensions.Count} coordinates, got {point.Count}.");
        var set = new ParameterSet();
        foreach (var d in Dimensions)
            if (IsActive(d, set)) set[d.FullName] = d.Parameter.Decode(point[d.Index]);
        return set;
    }

    /// <summary>Encodes to [0,1)^d; inactive parameters sit at 0.5. Throws naming any invalid parameter.</summary>
    public double[] Encode(ParameterSet values)
    {
        var canonical = Validate(values);
        var point = new double[Dimensions.Count];
        foreach (var d in Dimensions)
            point[d.Index] = canonical.TryGet(d.FullName, out var v) ? d.Parameter.Encode(v) : 0.5;
        return point;
    }

    /// <summary>
    /// Checks that exactly the active parameters are set and each is valid; returns them converted to their
    /// canonical types (float: double, int: int, choice: the declared choice object).
    /// </summary>
    public ParameterSet Validate(ParameterSet values)
    {
        var result = new ParameterSet();
        foreach (var d in Dimensions)
        {
            if (!IsActive(d, result)) continue;
            if (!values.TryGet(d.FullName, out var v))
                throw new ArgumentException($"Search-space parameter '{d.FullName}' is active but has no value.");
            result[d.FullName] = d.Parameter.Canonicalize(v);
        }
        var extra = values.Names.FirstOrDefault(n => !result.Contains(n));
        if (extra is not null)
            throw new ArgumentException(Dimensions.Any(d => d.FullName == extra)
                ? $"Search-space parameter '{extra}' is set but inactive for the choices made."
                : $"'{extra}' is not a parameter of this search space.");
        return result;
    }

    /// <summary>A uniform sample (log-uniform for log parameters), active parameters only.</summary>
    public ParameterSet Sample(Random rng)
    {
        var point = new double[Dimensions.Count];
        for (int i = 0; i < point.Length; i++) point[i] = rng.NextDouble();
        return Decode(point);
    }

    /// <summary>The declared defaults, falling back to the middle of the range; the low-cost start of CFO.</summary>
    public ParameterSet DefaultPoint()
    {
        var set = new ParameterSet();
        foreach (var d in Dimensions)
            if (IsActive(d, set)) set[d.FullName] = d.Parameter.Default is { } v ? d.Parameter.Canonicalize(v) : d.Parameter.Decode(0.5);
        return set;
    }

    /// <summary>Every combination of grid values (floats get <paramref name="floatPoints"/> points), respecting conditions.</summary>
    public IEnumerable<ParameterSet> Grid(int floatPoints = 5)
    {
        IEnumerable<ParameterSet> Expand(int index, ParameterSet partial)
        {
            while (index < Dimensions.Count && !IsActive(Dimensions[index], partial)) index++;
            if (index == Dimensions.Count) { yield return new ParameterSet(partial.Values); yield break; }
            var d = Dimensions[index];
            foreach (var v in d.Parameter.GridValues(floatPoints))
            {
                var next = new ParameterSet(partial.Values) { [d.FullName] = v };
                foreach (var s in Expand(index + 1, next)) yield return s;
            }
        }
        return Expand(0, new ParameterSet());
    }

    public override string ToString() => string.Join("; ", Dimensions.Select(d => d.FullName + " " + d.Parameter));
}
