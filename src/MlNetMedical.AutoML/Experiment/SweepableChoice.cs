namespace MlNetMedical.AutoML;

/// <summary>
/// A stage that is a choice between alternatives, each with its own search space; e.g. a classifier head
/// that is either softmax regression (learning rate) or an MLP (learning rate, hidden size). Its
/// <see cref="Space"/> is one choice parameter with a sub-space per alternative, and <see cref="Resolve"/>
/// builds the chosen alternative from a trial's values. Pipelines bind trainers to this later.
/// </summary>
public sealed class SweepableChoice<T>
{
    private readonly List<(string Label, SearchSpace Space, Func<ParameterSet, T> Build)> _alternatives = new();

    public SweepableChoice(string name) { Name = name; }

    public string Name { get; }

    public SweepableChoice<T> Add(string label, SearchSpace space, Func<ParameterSet, T> build)
    {
        if (_alternatives.Any(a => a.Label == label)) throw new ArgumentException($"Sweepable choice '{Name}' already has an alternative '{label}'.");
        _alternatives.Add((label, space, build));
        return this;
    }

    public SweepableChoice<T> Add<TOptions>(string label, Func<TOptions, T> build) where TOptions : new() =>
        Add(label, OptionsSpace.FromOptions<TOptions>(), p => build(OptionsSpace.Create<TOptions>(p)));

    /// <summary>The space: "Name" picks the alternative; "Name.label.param" are that alternative's parameters.</summary>
    public SearchSpace Space
    {
        get
        {
            if (_alternatives.Count == 0) throw new InvalidOperationException($"Sweepable choice '{Name}' has no alternatives.");
            return new SearchSpace().Choice(Name, _alternatives.Select(a => ((object)a.Label, (SearchSpace?)a.Space)).ToArray());
        }
    }

    /// <summary>The chosen alternative's label and the value built from its own parameters (prefix removed).</summary>
    public (string Label, T Value) Resolve(ParameterSet values)
    {
        string label = values.GetString(Name);
        var alt = _alternatives.FirstOrDefault(a => a.Label == label);
        if (alt.Build is null) throw new ArgumentException($"Sweepable choice '{Name}' has no alternative '{label}'.");
        string prefix = $"{Name}.{label}.";
        var own = new ParameterSet(values.Values.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal))
                                                .Select(kv => new KeyValuePair<string, object>(kv.Key[prefix.Length..], kv.Value)));
        return (label, alt.Build(own));
    }
}
