using static MlNetMedical.Torch.Interop.NativeMethods;

namespace MlNetMedical.Torch.Nn;

/// <summary>
/// Base of every network part, shaped after <c>torch.nn.Module</c>: it holds named parameters,
/// buffers and submodules, and names them with dotted paths (<c>encoder.stages.1.conv1.weight</c>).
/// A module owns its tensors and submodules: <see cref="Dispose"/> frees them all.
/// </summary>
public abstract class Module : IDisposable
{
    // Insertion-ordered, like PyTorch's OrderedDicts; a slot may be null (e.g. a conv without bias).
    private readonly List<KeyValuePair<string, Tensor?>> parameters = [];
    private readonly List<KeyValuePair<string, Tensor?>> buffers = [];
    private readonly List<KeyValuePair<string, Module>> children = [];
    private readonly HashSet<string> nonPersistent = new(StringComparer.Ordinal);
    private bool disposed;

    /// <summary>True in training mode (the default), false in evaluation mode.</summary>
    public bool Training { get; private set; } = true;

    /// <summary>True when frozen with <see cref="Freeze()"/> (directly or through a parent or prefix).
    /// A frozen normalisation layer stays in evaluation mode even under <see cref="Train"/>.</summary>
    public bool Frozen { get; private set; }

    /// <summary>Normalisation layers with running statistics override this to stay in eval mode while frozen.</summary>
    protected virtual bool StaysInEvalWhenFrozen => false;

    /// <summary>The single-tensor forward pass. Modules with other signatures define their own methods.</summary>
    public virtual Tensor Forward(Tensor input) =>
        throw new NotSupportedException($"{GetType().Name} has no single-tensor Forward");

    /// <summary>Same as <see cref="Forward"/>.</summary>
    public Tensor Call(Tensor input) => Forward(input);

    // ---- registration ---------------------------------------------------------------------------

    /// <summary>Adds a trainable parameter (requires_grad on unless <paramref name="requiresGrad"/> is false).
    /// The module takes ownership of <paramref name="value"/>'s storage; the returned tensor is the parameter.</summary>
    protected Tensor? RegisterParameter(string name, Tensor? value, bool requiresGrad = true)
    {
        CheckNewName(name);
        Tensor? p = null;
        if (value != null)
        {
            p = value.Detach().RequiresGrad_(requiresGrad);
            Own(p);
            value.Dispose();
        }
        parameters.Add(new(name, p));
        return p;
    }

    /// <summary>Adds a buffer (state that is not trained, e.g. running means). Persistent buffers go in the state dict.</summary>
    protected Tensor? RegisterBuffer(string name, Tensor? value, bool persistent = true)
    {
        CheckNewName(name);
        if (value != null) Own(value);
        buffers.Add(new(name, value));
        if (!persistent) nonPersistent.Add(name);
        return value;
    }

    /// <summary>Adds a submodule under <paramref name="name"/> and returns it.</summary>
    protected T RegisterModule<T>(string name, T module) where T : Module
    {
        ArgumentNullException.ThrowIfNull(module);
        CheckNewName(name);
        children.Add(new(name, module));
        return module;
    }

    private void CheckNewName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name.Contains('.')) throw new ArgumentException($"name '{name}' must not contain '.'", nameof(name));
        if (parameters.Any(kv => kv.Key == name) || buffers.Any(kv => kv.Key == name) || children.Any(kv => kv.Key == name))
            throw new ArgumentException($"{GetType().Name} already has a member named '{name}'", nameof(name));
    }

    // Module-held tensors must outlive any dispose scope open while the module is built.
    private static void Own(Tensor t) => DisposeScope.Current?.Detach(t);

    // ---- traversal ------------------------------------------------------------------------------

    /// <summary>Direct submodules with their names.</summary>
    public IEnumerable<(string Name, Module Module)> NamedChildren() => children.Select(kv => (kv.Key, kv.Value));

    /// <summary>This module (name "") and every descendant, depth first, with dotted names.</summary>
    public IEnumerable<(string Name, Module Module)> NamedModules(string prefix = "")
    {
        yield return (prefix, this);
        foreach (var (name, child) in children)
            foreach (var item in child.NamedModules(Join(prefix, name)))
                yield return item;
    }

    public IEnumerable<Module> Modules() => NamedModules().Select(m => m.Module);

    /// <summary>Every parameter of this module and its descendants, with dotted names.</summary>
    public IEnumerable<(string Name, Tensor Parameter)> NamedParameters()
    {
        foreach (var (path, m) in NamedModules())
            foreach (var (name, p) in m.parameters)
                if (p != null) yield return (Join(path, name), p);
    }

    public IEnumerable<Tensor> Parameters() => NamedParameters().Select(p => p.Parameter);

    /// <summary>Every buffer of this module and its descendants, with dotted names.</summary>
    public IEnumerable<(string Name, Tensor Buffer)> NamedBuffers()
    {
        foreach (var (path, m) in NamedModules())
            foreach (var (name, b) in m.buffers)
                if (b != null) yield return (Join(path, name), b);
    }

    private static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;

    /// <summary>Runs <paramref name="action"/> on every descendant, children first, then on this module (as PyTorch does).</summary>
    public Module Apply(Action<Module> action)
    {
        foreach (var (_, child) in children) child.Apply(action);
        action(this);
        return this;
    }

    // ---- modes, devices -------------------------------------------------------------------------

    /// <summary>Sets training mode on this module and its descendants. Frozen normalisation layers stay in eval mode.</summary>
    public Module Train(bool training = true)
    {
        foreach (var m in Modules())
            m.Training = training && !(m.Frozen && m.StaysInEvalWhenFrozen);
        return this;
    }

    public Module Eval() => Train(false);

    /// <summary>Moves (and optionally converts) every parameter and buffer in place, so optimizers that hold them stay valid.</summary>
    public Module To(Device device, DType? dtype = null)
    {
        foreach (var (_, t) in NamedParameters()) Check(mlnm_nn_move(t, dtype is { } d ? (int)d : -1, (int)device.Type, device.Index));
        // Buffers keep integer dtypes (e.g. num_batches_tracked); floating ones follow dtype.
        foreach (var (_, t) in NamedBuffers())
            Check(mlnm_nn_move(t, dtype is { } d && t.DType.IsFloatingPoint() ? (int)d : -1, (int)device.Type, device.Index));
        return this;
    }

    // ---- state dict -----------------------------------------------------------------------------

    /// <summary>
    /// Parameters and persistent buffers by dotted name, in registration order. The values are the
    /// module's own tensors (not copies): read or save them, but do not dispose them.
    /// </summary>
    public Dictionary<string, Tensor> StateDict()
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (path, m) in NamedModules())
        {
            foreach (var (name, p) in m.parameters)
                if (p != null) result.Add(Join(path, name), p);
            foreach (var (name, b) in m.buffers)
                if (b != null && !m.nonPersistent.Contains(name)) result.Add(Join(path, name), b);
        }
        return result;
    }

    /// <summary>
    /// Copies tensors from <paramref name="stateDict"/> into this module's parameters and buffers.
    /// <para>With <paramref name="sourcePrefix"/> only keys starting with it are considered, and the prefix is
    /// replaced by <paramref name="targetPrefix"/> (e.g. load <c>encoder.</c> of a segmentation model into
    /// <c>backbone.</c> of a classifier); other keys are reported as <see cref="LoadResult.Ignored"/>.
    /// When <paramref name="targetPrefix"/> is set, only this module's keys under it can be missing.</para>
    /// <para>Strict loading throws <see cref="StateDictMismatchException"/> on any missing, unexpected or
    /// shape-mismatched key and then changes nothing. Non-strict loading copies what matches and reports the rest.</para>
    /// </summary>
    public LoadResult LoadStateDict(IReadOnlyDictionary<string, Tensor> stateDict, bool strict = true, string sourcePrefix = "", string targetPrefix = "")
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        var own = StateDict();
        var missing = new List<string>();
        var unexpected = new List<string>();
        var mismatched = new List<ShapeMismatch>();
        var ignored = new List<string>();
        var matches = new List<(Tensor Destination, Tensor Source)>();
        var loaded = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (key, source) in stateDict)
        {
            if (!key.StartsWith(sourcePrefix, StringComparison.Ordinal)) { ignored.Add(key); continue; }
            var target = targetPrefix + key[sourcePrefix.Length..];
            if (!own.TryGetValue(target, out var destination)) { unexpected.Add(key); continue; }
            seen.Add(target);
            var have = destination.Shape;
            var got = source.Shape;
            if (!have.SequenceEqual(got)) { mismatched.Add(new ShapeMismatch(target, have, got)); continue; }
            matches.Add((destination, source));
            loaded.Add(target);
        }
        foreach (var key in own.Keys)
            if (!seen.Contains(key) && key.StartsWith(targetPrefix, StringComparison.Ordinal)) missing.Add(key);

        var result = new LoadResult(loaded, missing, unexpected, mismatched, ignored);
        if (strict && (missing.Count > 0 || unexpected.Count > 0 || mismatched.Count > 0))
            throw new StateDictMismatchException(GetType().Name, result);
        using (Torch.NoGrad())
            foreach (var (destination, source) in matches) destination.Copy_(source);
        return result;
    }

    // ---- freezing -------------------------------------------------------------------------------

    /// <summary>Freezes this module and its descendants: parameters stop requiring gradients, their gradients are
    /// dropped, and normalisation layers stay in evaluation mode (smp's freeze_encoder).</summary>
    public Module Freeze() { SetFrozen("", true); return this; }

    /// <summary>Undoes <see cref="Freeze()"/>. Mode is not changed: call <see cref="Train"/> afterwards as needed.</summary>
    public Module Unfreeze() { SetFrozen("", false); return this; }

    /// <summary>Freezes every submodule and parameter whose dotted name equals <paramref name="prefix"/> or lies under it
    /// (<c>"encoder"</c> matches <c>encoder.conv.weight</c>, not <c>encoder2.weight</c>). Returns how many parameters were frozen.</summary>
    public int Freeze(string prefix) => SetFrozen(prefix, true);

    public int Unfreeze(string prefix) => SetFrozen(prefix, false);

    private int SetFrozen(string prefix, bool frozen)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var trimmed = prefix.TrimEnd('.');
        bool any = false;
        foreach (var (path, m) in NamedModules())
            if (UnderPrefix(path, trimmed))
            {
                any = true;
                m.Frozen = frozen;
                if (frozen && m.StaysInEvalWhenFrozen) m.Training = false;
            }
        int count = 0;
        foreach (var (name, p) in NamedParameters())
            if (UnderPrefix(name, trimmed))
            {
                p.RequiresGrad = !frozen;
                // libtorch optimizers skip a parameter only when its gradient is undefined: a gradient left from
                // before freezing would keep moving it (momentum, Adam moments, weight decay).
                if (frozen) p.ZeroGrad(setToNone: true);
                count++;
            }
        if (!any && count == 0)
            throw new ArgumentException($"no module or parameter of {GetType().Name} is named '{prefix}' or lies under it", nameof(prefix));
        return count;
    }

    private static bool UnderPrefix(string name, string prefix) =>
        prefix.Length == 0 || name == prefix || (name.StartsWith(prefix, StringComparison.Ordinal) && name.Length > prefix.Length && name[prefix.Length] == '.');

    // ---- disposal -------------------------------------------------------------------------------

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposed || !disposing) return;
        disposed = true;
        foreach (var (_, c) in children) c.Dispose();
        foreach (var (_, p) in parameters) p?.Dispose();
        foreach (var (_, b) in buffers) b?.Dispose();
    }

    public override string ToString() => GetType().Name;
}

/// <summary>A key whose tensor in the state dict has another shape than the module's.</summary>
public sealed record ShapeMismatch(string Key, long[] Expected, long[] Found)
{
    public override string ToString() => $"{Key}: module has [{string.Join(", ", Expected)}], state dict has [{string.Join(", ", Found)}]";
}

/// <summary>What <see cref="Module.LoadStateDict"/> did: loaded keys (module names), missing keys (module names not
/// supplied), unexpected keys (state-dict names with no place in the module), shape mismatches (skipped), ignored keys
/// (outside the source prefix).</summary>
public sealed record LoadResult(
    IReadOnlyList<string> Loaded,
    IReadOnlyList<string> Missing,
    IReadOnlyList<string> Unexpected,
    IReadOnlyList<ShapeMismatch> ShapeMismatched,
    IReadOnlyList<string> Ignored)
{
    public bool IsExact => Missing.Count == 0 && Unexpected.Count == 0 && ShapeMismatched.Count == 0;

    public override string ToString() =>
        $"loaded {Loaded.Count}; missing [{string.Join(", ", Missing)}]; unexpected [{string.Join(", ", Unexpected)}]; " +
        $"shape mismatches [{string.Join("; ", ShapeMismatched)}]";
}

/// <summary>Thrown by strict <see cref="Module.LoadStateDict"/> when the keys or shapes do not match; nothing was loaded.</summary>
public sealed class StateDictMismatchException(string moduleName, LoadResult result)
    : Exception($"state dict does not match {moduleName}: {result}")
{
    public LoadResult Result { get; } = result;
}
