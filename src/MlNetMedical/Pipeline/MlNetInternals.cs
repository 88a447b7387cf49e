using System.Collections;
using System.Reflection;
using MlNetMedical.Catalogs;

namespace MlNetMedical.Pipeline;

/// <summary>
/// The only place the framework reaches into ML.NET's internals, pinned to Microsoft.ML 6.0.0 and checked at first use.
/// ML.NET 6.0 gives outside assemblies no public way to make a <see cref="SchemaShape.Column"/> (its constructor and
/// <c>SchemaShape.Create</c> are internal), yet <see cref="IEstimator{TTransformer}.GetOutputSchema"/> must return them;
/// nor to find the <see cref="MLContext"/> behind a catalog (<see cref="CatalogContexts"/>' fallback).
/// If an ML.NET update moves the constructor, every estimator of the framework fails with
/// <see cref="MlNetVersionException"/>, and MlNetInternalsTests fails in CI.
/// </summary>
internal static class MlNetInternals
{
    /// <summary>The ML.NET release this file was written against.</summary>
    public const string PinnedVersion = "6.0.0";

    private static readonly Lazy<ConstructorInfo> ColumnConstructor = new(FindColumnConstructor);

    /// <summary>A new shape column (ML.NET's internal constructor).</summary>
    public static SchemaShape.Column NewColumn(string name, SchemaShape.Column.VectorKind kind, DataViewType itemType, bool isKey, SchemaShape? annotations)
    {
        try
        {
            return (SchemaShape.Column)ColumnConstructor.Value.Invoke([name, kind, itemType, isKey, annotations]);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            throw e.InnerException;
        }
    }

    /// <summary>The version of the loaded Microsoft.ML assembly (its informational version, e.g. "6.0.0+hash").</summary>
    public static string LoadedVersion =>
        typeof(MLContext).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    private static ConstructorInfo FindColumnConstructor()
    {
        var ctor = typeof(SchemaShape.Column).GetConstructor(BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public, null,
            [typeof(string), typeof(SchemaShape.Column.VectorKind), typeof(DataViewType), typeof(bool), typeof(SchemaShape)], null);
        return ctor ?? throw new MlNetVersionException(
            $"Microsoft.ML {LoadedVersion} has no SchemaShape.Column(string, VectorKind, DataViewType, bool, SchemaShape) constructor; " +
            $"MlNetMedical was built against Microsoft.ML {PinnedVersion}: use that version");
    }

    // ---- The MLContext behind a catalog (CatalogContexts' fallback) ----

    private static readonly Lazy<PropertyInfo?> InternalCatalogEnvironment = new(() =>
        typeof(MLContext).Assembly.GetType("Microsoft.ML.Data.IInternalCatalog")?.GetProperty("Environment"));

    /// <summary>The environment an ML.NET catalog object holds (internal <c>IInternalCatalog.Environment</c>).</summary>
    public static object EnvironmentOf(object catalog)
    {
        var property = InternalCatalogEnvironment.Value
            ?? throw CatalogLookupBroken("Microsoft.ML.Data.IInternalCatalog.Environment is missing from Microsoft.ML.Data");
        if (!property.DeclaringType!.IsInstanceOfType(catalog))
            throw new ArgumentException($"{catalog.GetType().FullName} is not an ML.NET catalog (MLContext's Transforms, Model, Data, " +
                                        "MulticlassClassification, their Trainers…)", nameof(catalog));
        try
        {
            return property.GetValue(catalog) ?? throw CatalogLookupBroken($"{catalog.GetType().FullName} has no environment");
        }
        catch (TargetInvocationException e)
        {
            throw CatalogLookupBroken($"reading IInternalCatalog.Environment failed: {e.InnerException?.Message}", e);
        }
    }

    /// <summary>The MLContext listening to <paramref name="environment"/>'s messages (internal <c>HostEnvironmentBase.ListenerDict</c>).</summary>
    public static MLContext? OwnerOf(object environment)
    {
        const BindingFlags instance = BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public;
        FieldInfo? listeners = null;
        for (var t = environment.GetType(); t is not null && listeners is null; t = t.BaseType)
            listeners = t.GetField("ListenerDict", instance | BindingFlags.DeclaredOnly);
        if (listeners?.GetValue(environment) is not IDictionary dictionary)
            throw CatalogLookupBroken($"HostEnvironmentBase.ListenerDict is missing from {environment.GetType().FullName}");
        foreach (DictionaryEntry entry in dictionary)
        {
            if (entry.Value is null) continue;
            var action = entry.Value.GetType().GetField("_listenerAction", instance)
                ?? throw CatalogLookupBroken($"the listener dispatcher {entry.Value.GetType().FullName} has no _listenerAction field");
            if (action.GetValue(entry.Value) is not Delegate listener) continue;
            foreach (var d in listener.GetInvocationList())
                if (d.Target is MLContext ml) return ml;
        }
        return null;
    }

    /// <summary>The error when the catalog lookup's internals moved.</summary>
    public static CatalogContextException CatalogLookupBroken(string what, Exception? inner = null)
    {
        var version = typeof(MLContext).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
        return new CatalogContextException(
            $"MlNetMedical cannot find the MLContext of an ML.NET catalog: {what}. The lookup reads Microsoft.ML internals as of " +
            $"version {PinnedVersion}; the loaded Microsoft.ML is {version}. Call ml.Medical() once on the context before " +
            "using the framework's catalog extensions (it registers the context's catalogs), or use Microsoft.ML " +
            $"{PinnedVersion}.", inner);
    }
}

/// <summary>The loaded Microsoft.ML is not the version the framework was built for.</summary>
public sealed class MlNetVersionException(string message) : InvalidOperationException(message);
