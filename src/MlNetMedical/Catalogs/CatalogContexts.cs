using MlNetMedical.Pipeline;
using System.Runtime.CompilerServices;

namespace MlNetMedical.Catalogs;

/// <summary>
/// Finds the <see cref="MLContext"/> an ML.NET catalog object belongs to, for the framework's extension methods on
/// ML.NET's catalogs (<c>ml.MulticlassClassification.Trainers.FineTunedEncoder</c>, <c>ml.Model.SaveMedical</c>…), which need
/// the context's <see cref="MedicalSettings"/> (seed, device, progress, log).
/// </summary>
/// <remarks>
/// ML.NET's catalogs keep their environment in an internal member and expose nothing public. Two ways, in order:
/// <list type="number">
/// <item>Contexts registered with <see cref="Register"/> (done by <c>ml.Medical()</c> and <c>ml.Segmentation</c>): each of the
/// context's catalog objects maps to it (ML.NET creates them once per context).</item>
/// <item>Otherwise reflection, pinned to Microsoft.ML 6.0.0 and kept in <see cref="MlNetInternals"/> with the framework's other uses of ML.NET internals: the catalog's environment through
/// ML.NET's internal <c>Microsoft.ML.Data.IInternalCatalog.Environment</c>, and the context that owns that environment through
/// the message listener <c>MLContext</c> adds to it (<c>HostEnvironmentBase.ListenerDict</c>, whose dispatchers hold the
/// context's <c>ProcessMessage</c> delegate in <c>_listenerAction</c>). When a Microsoft.ML upgrade changes these internals,
/// it throws <see cref="CatalogContextException"/> naming the member that moved.</item>
/// </list>
/// </remarks>
internal static class CatalogContexts
{
    /// <summary>The Microsoft.ML version the reflection path was written against.</summary>
    internal const string PinnedMicrosoftMLVersion = "6.0.0";

    // Catalog objects and environments -> their context. Weak keys: a context and its catalogs die together.
    private static readonly ConditionalWeakTable<object, MLContext> Known = new();

    /// <summary>Maps every catalog object of <paramref name="ml"/> (and its environment, when reachable) to it.</summary>
    public static void Register(MLContext ml)
    {
        ArgumentNullException.ThrowIfNull(ml);
        foreach (var catalog in CatalogsOf(ml)) Known.AddOrUpdate(catalog, ml);
    }

    /// <summary>The context that owns <paramref name="catalog"/> (any ML.NET catalog or sub-catalog object, e.g.
    /// <c>ml.MulticlassClassification.Trainers</c>, <c>ml.Transforms</c>, <c>ml.Model</c>, <c>ml.Data</c>).</summary>
    /// <exception cref="CatalogContextException">The catalog's context cannot be found (e.g. a Microsoft.ML version whose
    /// internals differ from <see cref="PinnedMicrosoftMLVersion"/>).</exception>
    public static MLContext Of(object catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        if (Known.TryGetValue(catalog, out var known)) return known;
        var ml = OfByReflection(catalog);
        Register(ml);
        return ml;
    }

    /// <summary>The reflection path alone (tests call it to check it still works on the referenced Microsoft.ML).</summary>
    internal static MLContext OfByReflection(object catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var environment = MlNetInternals.EnvironmentOf(catalog);
        if (Known.TryGetValue(environment, out var known)) return known;
        var ml = MlNetInternals.OwnerOf(environment) ?? throw MlNetInternals.CatalogLookupBroken(
            $"no MLContext listens to the environment ({environment.GetType().FullName}) of {catalog.GetType().FullName}; " +
            "was the catalog made by an MLContext?");
        Known.AddOrUpdate(environment, ml);
        return ml;
    }

    private static IEnumerable<object> CatalogsOf(MLContext ml)
    {
        object[] catalogs =
        [
            ml.BinaryClassification, ml.BinaryClassification.Trainers, ml.MulticlassClassification, ml.MulticlassClassification.Trainers,
            ml.Regression, ml.Regression.Trainers, ml.Clustering, ml.Clustering.Trainers, ml.Ranking, ml.Ranking.Trainers,
            ml.AnomalyDetection, ml.AnomalyDetection.Trainers, ml.Forecasting, ml.Forecasting.Trainers,
            ml.Transforms, ml.Transforms.Conversion, ml.Transforms.Categorical, ml.Transforms.Text, ml.Transforms.FeatureSelection,
            ml.Model, ml.Data,
        ];
        return catalogs;
    }
}

/// <summary>The framework could not find the <see cref="MLContext"/> behind an ML.NET catalog (see the message for the remedy).</summary>
public sealed class CatalogContextException(string message, Exception? inner = null) : InvalidOperationException(message, inner);

/// <summary>What the framework's catalog extensions need from the catalog's context.</summary>
internal static class CatalogSettings
{
    /// <summary>The framework settings of the context that owns <paramref name="catalog"/>.</summary>
    public static MedicalSettings Medical(object catalog) => CatalogContexts.Of(catalog).Medical();
}
