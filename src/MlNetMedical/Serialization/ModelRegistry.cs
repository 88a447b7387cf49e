using System.Collections.Concurrent;
using MlNetMedical.Pipeline;

namespace MlNetMedical.Serialization;

/// <summary>
/// Maps the framework's transformer types (<see cref="IMedicalTransformer"/>) to stable names, so a model file can be loaded
/// back. ML.NET's own transformers need no registration: <c>ml.Model.SaveMedical</c> stores them as ML.NET saves them. Built-in
/// components are registered already; register your own once at startup, before saving or loading:
/// <c>ModelRegistry.Register("MyCompany.Clipper", 1, MyClipper.Load)</c>.
/// </summary>
public static class ModelRegistry
{
    private sealed record Entry(string Name, int Version, Type Type, Func<ArchiveLoadContext, ITransformer> Load);

    private static readonly ConcurrentDictionary<string, Entry> ByName = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<Type, Entry> ByType = new();

    static ModelRegistry() => BuiltInTransformers.Register();

    /// <summary>
    /// Registers <typeparamref name="TTransformer"/> under <paramref name="name"/>. <paramref name="version"/> is the
    /// newest config version this code writes and reads; <paramref name="load"/> rebuilds an instance (it sees the saved
    /// version in <see cref="ArchiveLoadContext.Version"/>). Registering the same type and name again is allowed.
    /// </summary>
    public static void Register<TTransformer>(string name, int version, Func<ArchiveLoadContext, TTransformer> load) where TTransformer : IMedicalTransformer
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(version, 1);
        ArgumentNullException.ThrowIfNull(load);
        if (name is ArchiveLoadContext.ChainType or ArchiveLoadContext.MlNetType)
            throw new ArgumentException($"'{name}' is reserved for the model file's structure; choose another name", nameof(name));
        var entry = new Entry(name, version, typeof(TTransformer), context => load(context));
        lock (ByName)
        {
            if (ByName.TryGetValue(name, out var existing) && existing.Type != typeof(TTransformer))
                throw new InvalidOperationException($"transformer name '{name}' is already registered for {existing.Type.FullName}");
            if (ByType.TryGetValue(typeof(TTransformer), out var previous) && previous.Name != name)
                throw new InvalidOperationException($"{typeof(TTransformer).FullName} is already registered as '{previous.Name}'");
            ByName[name] = entry;
            ByType[typeof(TTransformer)] = entry;
        }
    }

    /// <summary>Whether a framework transformer type is registered (and so can be saved).</summary>
    public static bool IsRegistered(Type transformerType) => ByType.ContainsKey(transformerType);

    internal static (string Name, int Version) Describe(IMedicalTransformer transformer) =>
        ByType.TryGetValue(transformer.GetType(), out var e)
            ? (e.Name, e.Version)
            : throw new InvalidOperationException(
                $"transformer {transformer.GetType().FullName} ({transformer.StageName}) is not registered; call ModelRegistry.Register(name, version, load) before saving it");

    internal static ITransformer Load(string name, ArchiveLoadContext context)
    {
        if (!ByName.TryGetValue(name, out var e))
            throw new InvalidDataException($"{context.Where}: unknown transformer type '{name}'; register it with ModelRegistry.Register before loading");
        if (context.Version > e.Version)
            throw new InvalidDataException($"{context.Where}: '{name}' was saved with config version {context.Version}, this code reads up to {e.Version}");
        try
        {
            return e.Load(context);
        }
        catch (ArgumentException x)
        {
            // A constructor turned down a value from the file (a duplicate class name, an empty column name): the file is at fault.
            throw new InvalidDataException($"{context.Where}: '{name}' cannot be rebuilt from its saved config: {x.Message}", x);
        }
    }
}
