using MlNetMedical.Data;
using MlNetMedical.Serialization;

namespace MlNetMedical.Pipeline;

/// <summary>Something that can write itself into a model archive.</summary>
public interface ICanSaveModel
{
    /// <summary>Writes config, blobs and children (see <see cref="ModelSaveContext"/>). The type must be registered
    /// with <see cref="ModelRegistry"/> under a stable name.</summary>
    void Save(ModelSaveContext context);
}

/// <summary>A fitted stage: maps a data view to another, lazily. As ML.NET's <c>ITransformer</c>, and saveable.</summary>
public interface ITransformer : ICanSaveModel
{
    /// <summary>The schema <see cref="Transform"/> would produce; throws <see cref="SchemaMismatchException"/> when an input column is missing or of the wrong type.</summary>
    DataViewSchema GetOutputSchema(DataViewSchema inputSchema);

    /// <summary>Applies the transformer. Validates the schema now; rows are computed when read.</summary>
    IDataView Transform(IDataView input);
}

/// <summary>An unfitted stage, as ML.NET's <c>IEstimator&lt;TTransformer&gt;</c>.</summary>
public interface IEstimator<out TTransformer> where TTransformer : ITransformer
{
    /// <summary>Trains on <paramref name="input"/> and returns the fitted transformer.</summary>
    TTransformer Fit(IDataView input);

    /// <summary>The shape of the output given the shape of the input, without touching data; throws
    /// <see cref="SchemaMismatchException"/> naming the column and this stage when the input does not fit.</summary>
    SchemaShape GetOutputSchema(SchemaShape inputSchema);
}
