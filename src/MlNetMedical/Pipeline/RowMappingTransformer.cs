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

    /// <summary>How many rows <see cref="MapRows"/> receives at once (default 1: row by row). Transformers that run a network
    /// raise it so a batch of rows goes through the network together.</summary>
    protected virtual int MapBatchSize => 1;

    /// <summary>Computes the outputs of several consecutive rows (at most <see cref="MapBatchSize"/>); the default calls
    /// <see cref="MapRow"/> for each. The rows are snapshots of the input columns this transformer reads.</summary>
    protected virtual void MapRows(IReadOnlyList<DataViewRow> inputs, IReadOnlyList<object?[]> outputs)
    {
        for (var i = 0; i < inputs.Count; i++) MapRow(inputs[i], outputs[i]);
    }

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
            var innerColumns = inputNeeded.ToArray();
            var inner = input.GetRowCursor(innerColumns);
            var getters = innerColumns.ToDictionary(c => c.Index, c => inner.GetBoxedGetter(c));
            var passThrough = needed.Where(c => outputIndex[c.Index] < 0).ToDictionary(c => c.Index, c => input.Schema[c.Name].Index);
            var batchSize = Math.Max(1, mapper.MapBatchSize);
            // Rows are read ahead in batches: each a snapshot of the input columns; outputs are computed for the whole batch
            // on the first read of an output column (row by row when the batch size is 1).
            var rows = new List<SnapshotRow>(batchSize);
            var values = new List<object?[]>(batchSize);
            var at = -1;
            var computed = false;
            bool MoveNext()
            {
                if (++at < rows.Count) return true;
                rows.Clear();
                values.Clear();
                (at, computed) = (0, false);
                while (rows.Count < batchSize && inner.MoveNext())
                {
                    rows.Add(new SnapshotRow(input.Schema, inner.Position, getters.ToDictionary(g => g.Key, g => g.Value())));
                    values.Add(new object?[outputs.Count]);
                }
                return rows.Count > 0;
            }
            return new BoxedRowCursor(schema, needed, MoveNext, index =>
            {
                if (passThrough.TryGetValue(index, out var inputIndex)) return rows[at].Value(inputIndex);
                if (!computed)
                {
                    mapper.MapRows(rows, values);
                    for (var r = 0; r < rows.Count; r++)
                        for (var i = 0; i < outputs.Count; i++)
                            if (!outputs[i].Type.RawType.IsInstanceOfType(values[r][i]))
                                throw new InvalidOperationException(
                                    $"{mapper.StageName} wrote {values[r][i]?.GetType().Name ?? "null"} to column '{outputs[i].Name}' ({outputs[i].Type}) at row {rows[r].Position}");
                    computed = true;
                }
                return values[at][outputIndex[index]];
            }, inner.Dispose);
        }
    }
}

/// <summary>The values of some columns of one row, captured so several rows can be mapped together.</summary>
internal sealed class SnapshotRow(DataViewSchema schema, long position, IReadOnlyDictionary<int, object?> values) : DataViewRow
{
    public override DataViewSchema Schema => schema;

    public override long Position => position;

    public override bool IsColumnActive(DataViewSchema.Column column) => values.ContainsKey(column.Index);

    public object? Value(int index) => values[index];

    public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
    {
        var own = CheckGetter<TValue>(column);
        return (ref TValue value) => value = (TValue)values[own.Index]!;
    }
}
