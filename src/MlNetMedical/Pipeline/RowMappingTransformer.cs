using MlNetMedical.Data;
using MlNetMedical.Serialization;

namespace MlNetMedical.Pipeline;

/// <summary>
/// Base class for the framework's transformers that add (or, by hiding, replace) columns computed from each input row.
/// Declare the columns read and written, compute one row in <see cref="MapRow"/> (values in plain CLR form: string,
/// T[], uint, float, volumes; see <see cref="ColumnValues"/>), save in <see cref="SaveToArchive"/>, and register a
/// loader with <see cref="ModelRegistry.Register{TTransformer}"/>. Works as a lazy <see cref="Transform"/> and as a
/// row-to-row mapper, so ML.NET's prediction engine can run it.
/// </summary>
public abstract class RowMappingTransformer : IMedicalTransformer
{
    /// <inheritdoc/>
    public virtual string StageName => GetType().Name;

    /// <summary>The input columns this transformer reads.</summary>
    protected abstract IReadOnlyList<ColumnRequirement> RequiredColumns { get; }

    /// <summary>The columns it writes, given a (validated) input schema.</summary>
    protected abstract IReadOnlyList<DataViewSchema.DetachedColumn> GetOutputColumns(DataViewSchema inputSchema);

    /// <summary>Computes the output columns of the current <paramref name="input"/> row into <paramref name="outputs"/>
    /// (aligned with <see cref="GetOutputColumns"/>; plain CLR values).</summary>
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
    public abstract void SaveToArchive(ArchiveSaveContext context);

    void ICanSaveModel.Save(ModelSaveContext ctx) => throw new MedicalModelSaveException(StageName);

    /// <inheritdoc/>
    public bool IsRowToRowMapper => true;

    /// <inheritdoc/>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var shape = SchemaShapes.Create(inputSchema);
        foreach (var r in RequiredColumns) r.Check(shape, StageName);
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(inputSchema);
        builder.AddColumns(GetOutputColumns(inputSchema));
        return builder.ToSchema();
    }

    /// <inheritdoc/>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return new MappedDataView(input, new Mapping(this, input.Schema));
    }

    /// <inheritdoc/>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => new Mapping(this, inputSchema ?? throw new ArgumentNullException(nameof(inputSchema)));

    /// <summary>The input and output schemas of one application, and which input columns an output needs.</summary>
    private sealed class Mapping : IRowToRowMapper
    {
        public Mapping(RowMappingTransformer transformer, DataViewSchema inputSchema)
        {
            Transformer = transformer;
            InputSchema = inputSchema;
            OutputSchema = transformer.GetOutputSchema(inputSchema);
            Outputs = transformer.GetOutputColumns(inputSchema);
            Reads = transformer.RequiredColumns.Select(r => inputSchema[r.Name]).ToArray();
        }

        public RowMappingTransformer Transformer { get; }
        public DataViewSchema InputSchema { get; }
        public DataViewSchema OutputSchema { get; }
        public IReadOnlyList<DataViewSchema.DetachedColumn> Outputs { get; }
        public DataViewSchema.Column[] Reads { get; }

        public bool IsOutput(int index) => index >= InputSchema.Count;

        public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns)
        {
            var needed = dependingColumns.ToArray();
            var passThrough = needed.Where(c => !IsOutput(c.Index)).Select(c => InputSchema[c.Index]);
            return needed.Any(c => IsOutput(c.Index)) ? passThrough.Concat(Reads).DistinctBy(c => c.Index).ToArray() : passThrough.ToArray();
        }

        public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns) =>
            new MappedRow(this, input, activeColumns);

        /// <summary>Computes and checks the outputs of some rows, as raw ML.NET values.</summary>
        public void Compute(IReadOnlyList<DataViewRow> rows, List<object?[]> values)
        {
            values.Clear();
            for (var r = 0; r < rows.Count; r++) values.Add(new object?[Outputs.Count]);
            Transformer.MapRows(rows, values);
            for (var r = 0; r < rows.Count; r++)
                for (var i = 0; i < Outputs.Count; i++)
                {
                    var type = Outputs[i].Type;
                    var raw = ColumnValues.ToRaw(values[r][i], type);
                    if (raw is null ? type.RawType.IsValueType : !type.RawType.IsInstanceOfType(raw))
                        throw new InvalidOperationException(
                            $"{Transformer.StageName} wrote {values[r][i]?.GetType().Name ?? "null"} to column '{Outputs[i].Name}' ({type}) at row {rows[r].Position}");
                    values[r][i] = raw;
                }
        }
    }

    /// <summary>One mapped row over a live input row (the prediction engine's path): outputs computed once per input position.</summary>
    private sealed class MappedRow : DataViewRow
    {
        private readonly Mapping _mapping;
        private readonly DataViewRow _input;
        private readonly bool[] _active;
        private readonly Func<object?>[] _reads;
        private readonly List<object?[]> _values = [];
        private long _computedAt = -1;

        public MappedRow(Mapping mapping, DataViewRow input, IEnumerable<DataViewSchema.Column> active)
        {
            _mapping = mapping;
            _input = input;
            _active = new bool[mapping.OutputSchema.Count];
            foreach (var c in active) _active[c.Index] = true;
            _reads = _active.Select((a, i) => a && mapping.IsOutput(i)).Any(x => x)
                ? mapping.Reads.Select(c => input.GetRawGetter(c)).ToArray() : [];
        }

        public override DataViewSchema Schema => _mapping.OutputSchema;
        public override long Position => _input.Position;
        public override long Batch => _input.Batch;
        public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();
        public override bool IsColumnActive(DataViewSchema.Column column) => column.Index < _active.Length && _active[column.Index];

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            Rows.CheckGetter<TValue>(this, column);
            if (!_mapping.IsOutput(column.Index)) return _input.GetGetter<TValue>(_mapping.InputSchema[column.Index]);
            var output = column.Index - _mapping.InputSchema.Count;
            return (ref TValue value) =>
            {
                if (_computedAt != _input.Position)
                {
                    var snapshot = new SnapshotRow(_mapping.InputSchema, _input.Position,
                        _mapping.Reads.Select((c, i) => (c.Index, _reads[i]())).ToDictionary(p => p.Index, p => p.Item2));
                    _mapping.Compute([snapshot], _values);
                    _computedAt = _input.Position;
                }
                ColumnValues.Assign(_values[0][output], ref value);
            };
        }
    }

    /// <summary>The view <see cref="Transform"/> returns: input columns pass through, outputs are computed in batches of
    /// <see cref="MapBatchSize"/> rows on their first read.</summary>
    private sealed class MappedDataView(IDataView input, Mapping mapping) : IDerivedDataView
    {
        public IDataView Source => input;
        public DataViewSchema Schema => mapping.OutputSchema;
        public bool CanShuffle => false;
        public long? GetRowCount() => input.GetRowCount();

        public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
            [GetRowCursor(columnsNeeded, rand)];

        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
        {
            var needed = columnsNeeded.Select(c => Schema[c.Index]).DistinctBy(c => c.Index).ToArray();
            var innerColumns = mapping.GetDependencies(needed).ToArray();
            var inner = input.GetRowCursor(innerColumns);
            var getters = innerColumns.ToDictionary(c => c.Index, c => inner.GetRawGetter(c));
            var batchSize = Math.Max(1, mapping.Transformer.MapBatchSize);
            // Rows are read ahead in batches, each a snapshot of the input columns needed; outputs are computed for the
            // whole batch on the first read of an output column (row by row when the batch size is 1).
            var rows = new List<SnapshotRow>(batchSize);
            var values = new List<object?[]>(batchSize);
            var at = -1;
            var computed = false;
            bool MoveNext()
            {
                if (++at < rows.Count) return true;
                rows.Clear();
                (at, computed) = (0, false);
                while (rows.Count < batchSize && inner.MoveNext())
                    rows.Add(new SnapshotRow(input.Schema, inner.Position, getters.ToDictionary(g => g.Key, g => g.Value())));
                return rows.Count > 0;
            }
            return new BoxedRowCursor(Schema, needed, MoveNext, index =>
            {
                if (!mapping.IsOutput(index)) return rows[at].Value(index);
                if (!computed)
                {
                    mapping.Compute(rows, values);
                    computed = true;
                }
                return values[at][index - mapping.InputSchema.Count];
            }, inner.Dispose);
        }
    }
}

/// <summary>The raw values of some columns of one row, captured so several rows can be mapped together.</summary>
internal sealed class SnapshotRow(DataViewSchema schema, long position, IReadOnlyDictionary<int, object?> values) : DataViewRow
{
    public override DataViewSchema Schema => schema;
    public override long Position => position;
    public override long Batch => 0;
    public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => id = new DataViewRowId((ulong)position, 0);
    public override bool IsColumnActive(DataViewSchema.Column column) => values.ContainsKey(column.Index);

    public object? Value(int index) => values[index];

    public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
    {
        Rows.CheckGetter<TValue>(this, column);
        return (ref TValue value) => ColumnValues.Assign(values[column.Index], ref value);
    }
}
