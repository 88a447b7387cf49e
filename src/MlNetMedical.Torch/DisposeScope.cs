namespace MlNetMedical.Torch;

/// <summary>
/// Frees, on <see cref="Dispose"/>, every tensor created on this thread while the scope was the
/// innermost one, except tensors moved out with <see cref="MoveToOuter"/> or <see cref="Detach"/>.
/// Training and inference steps run inside one so their intermediates are freed deterministically.
/// </summary>
/// <example><code>
/// using (var scope = Torch.NewDisposeScope())
/// {
///     var loss = model.Forward(x).Sub(y).Pow(2).Mean();
///     result = scope.MoveToOuter(loss);
/// }
/// </code></example>
public sealed class DisposeScope : IDisposable
{
    [ThreadStatic] private static DisposeScope? current;

    private readonly DisposeScope? outer;
    private readonly HashSet<Tensor> owned = new(ReferenceEqualityComparer.Instance);
    private bool disposed;

    internal DisposeScope()
    {
        outer = current;
        current = this;
    }

    /// <summary>The innermost open scope on this thread, or null.</summary>
    public static DisposeScope? Current => current;

    /// <summary>Number of tensors this scope will free.</summary>
    public int Count => owned.Count;

    internal void Register(Tensor tensor) => owned.Add(tensor);

    /// <summary>Hands the tensor to the enclosing scope (or to no scope) and returns it.</summary>
    public Tensor MoveToOuter(Tensor tensor)
    {
        if (owned.Remove(tensor)) outer?.Register(tensor);
        return tensor;
    }

    /// <summary>Takes the tensor out of every scope: the caller now owns it.</summary>
    public Tensor Detach(Tensor tensor)
    {
        owned.Remove(tensor);
        return tensor;
    }

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        foreach (var t in owned) t.Dispose();
        owned.Clear();
        // Scopes nest strictly per thread; a scope disposed out of order unlinks itself only.
        if (ReferenceEquals(current, this)) current = outer;
    }
}
