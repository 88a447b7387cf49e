using MlNetMedical.Data;
using MlNetMedical.Serialization;

namespace MlNetMedical.Pipeline;

/// <summary>
/// Base class for transformers that add (or replace) columns computed from each input row: the easy way to
/// write a custom, saveable transformer. Declare the columns read and written, compute one row in
/// <see cref="MapRow"/>, save config and blobs in <see cref="Save"/>, and register a loader with
/// <see cref="ModelRegistry.Register{TTransformer}"/>.
/// </summary>
public abstract class RowMappingTransformer : ITransformer
{
    /// <summary>The stage name used in errors (default: the type name).</summary>
    public virtual string StageName => GetType().Name;

    /// <summary>The input columns this transformer reads.</summary>
    protected abstract IReadOnlyList<ColumnRequirement> RequiredColumns { get; }

    /// <summary>The columns it writes, given a (validated) input schema.</summary>
    protected abstract IReadOnlyList<DataViewSchema.DetachedColumn> GetOutputColumns(DataViewSchema inputSchema);

    /// <summary>Computes the output columns of the current <paramref name="input"/> row into <paramref name="outputs"/>
    /// (aligned with <see cref="GetOutputColumns"/>; each value of the column's raw type).</summary>
    protected abstract void MapRow(DataViewRow input, object?[] outputs);

    /// <inheritdoc/>
    public abstract void Save(ModelSaveContext context);

    /// <inheritdoc/>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var shape = SchemaShape.Create(inputSchema);
        foreach (var r in RequiredColumns) r.Check(shape, StageName);
        return new DataViewSchema(inputSchema.Detach().Concat(GetOutputColumns(inputSchema)));
    }

    /// <inheritdoc/>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var schema = GetOutputSchema(input.Schema);
        return new MappedDataView(input, schema, GetOutputColumns(input.Schema), RequiredColumns.Select(r => r.Name).ToArray(), this);
    }

    /// <summary>The view produced by <see cref="Transform"/>: input columns pass through, outputs are computed once per row on first read.</summary>
    private sealed class MappedDataView(IDataView input, DataViewSchema schema, IReadOnlyList<DataViewSchema.DetachedColumn> outputs,
        string[] readColumns, RowMappingTransformer mapper) : IDerivedDataView
    {
        public DataViewSchema Schema => schema;

        public IDataView Source => input;

        public long? GetRowCount() => input.GetRowCount();

        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded)
        {
            var needed = columnsNeeded.Select(c => schema[c.Name]).DistinctBy(c => c.Index).ToArray();
            var outputIndex = needed.ToDictionary(c => c.Index, c => outputs.ToList().FindIndex(o => o.Name == c.Name));
            var anyOutput = outputIndex.Values.Any(i => i >= 0);
            var inputNeeded = needed.Where(c => outputIndex[c.Index] < 0).Select(c => input.Schema[c.Name])
                .Concat(anyOutput ? readColumns.Select(n => input.Schema[n]) : [])
                .DistinctBy(c => c.Name);
            var inner = input.GetRowCursor(inputNeeded);
            var passThrough = needed.Where(c => outputIndex[c.Index] < 0).ToDictionary(c => c.Index, c => inner.GetBoxedGetter(input.Schema[c.Name]));
            var values = new object?[outputs.Count];
            long computedAt = -1;
            return new BoxedRowCursor(schema, needed, inner.MoveNext, index =>
            {
                if (passThrough.TryGetValue(index, out var getter)) return getter();
                if (computedAt != inner.Position)
                {
                    Array.Clear(values);
                    mapper.MapRow(inner, values);
                    for (var i = 0; i < outputs.Count; i++)
                        if (!outputs[i].Type.RawType.IsInstanceOfType(values[i]))
                            throw new InvalidOperationException(
                                $"{mapper.StageName} wrote {values[i]?.GetType().Name ?? "null"} to column '{outputs[i].Name}' ({outputs[i].Type}) at row {inner.Position}");
                    computedAt = inner.Position;
                }
                return values[outputIndex[index]];
            }, inner.Dispose);
        }
    }
}
