using System.Collections;

namespace MlNetMedical.Torch.Nn;

/// <summary>Runs its modules in order; they are named "0", "1", ... unless added with a name.
/// Intermediate results are freed as soon as the next module has consumed them.</summary>
public sealed class Sequential : Module, IEnumerable<Module>
{
    private readonly List<Module> items = [];

    public Sequential(params Module[] modules)
    {
        foreach (var m in modules) Add(m);
    }

    public Sequential Add(Module module) => Add(items.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), module);

    public Sequential Add(string name, Module module)
    {
        items.Add(RegisterModule(name, module));
        return this;
    }

    public int Count => items.Count;
    public Module this[int index] => items[index];

    public override Tensor Forward(Tensor input)
    {
        var x = input;
        foreach (var m in items)
        {
            var y = m.Forward(x);
            if (!ReferenceEquals(x, input) && !ReferenceEquals(x, y)) x.Dispose();
            x = y;
        }
        return x;
    }

    public IEnumerator<Module> GetEnumerator() => items.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>An indexed list of submodules named "0", "1", ...; it has no forward of its own.</summary>
public sealed class ModuleList : Module, IReadOnlyList<Module>
{
    private readonly List<Module> items = [];

    public ModuleList(params Module[] modules)
    {
        foreach (var m in modules) Add(m);
    }

    public ModuleList Add(Module module)
    {
        items.Add(RegisterModule(items.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), module));
        return this;
    }

    public int Count => items.Count;
    public Module this[int index] => items[index];
    public IEnumerator<Module> GetEnumerator() => items.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>Submodules by name, in insertion order; it has no forward of its own.</summary>
public sealed class ModuleDict : Module, IEnumerable<KeyValuePair<string, Module>>
{
    private readonly Dictionary<string, Module> items = new(StringComparer.Ordinal);
    private readonly List<string> order = [];

    public ModuleDict Add(string name, Module module)
    {
        items.Add(name, RegisterModule(name, module));
        order.Add(name);
        return this;
    }

    public int Count => items.Count;
    public Module this[string name] => items.TryGetValue(name, out var m) ? m : throw new KeyNotFoundException($"ModuleDict has no module named '{name}' (has: {string.Join(", ", order)})");
    public bool ContainsKey(string name) => items.ContainsKey(name);
    public IEnumerator<KeyValuePair<string, Module>> GetEnumerator() => order.Select(n => new KeyValuePair<string, Module>(n, items[n])).GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
