namespace MlNetMedical.Data;

/// <summary>
/// A cursor whose values come from a function of the column index, as raw ML.NET values (see <see cref="ColumnValues.ToRaw"/>):
/// the building block of the framework's own views. Row ids are the positions (the views are not shuffled).
/// </summary>
internal sealed class BoxedRowCursor : DataViewRowCursor
{
    private readonly Func<bool> _moveNext;
    private readonly Func<int, object?> _valueAt;
    private readonly bool[] _active;
    private readonly Action? _dispose;
    private long _position = -1;
    private bool _done;

    public BoxedRowCursor(DataViewSchema schema, IEnumerable<DataViewSchema.Column> active, Func<bool> moveNext, Func<int, object?> valueAt, Action? dispose = null)
    {
        Schema = schema;
        _moveNext = moveNext;
        _valueAt = valueAt;
        _dispose = dispose;
        _active = new bool[schema.Count];
        foreach (var c in active)
        {
            if (c.Index >= schema.Count || schema[c.Index].Name != c.Name)
                throw new ArgumentException($"column '{c.Name}' is not in this view ({schema.Describe()})", nameof(active));
            _active[c.Index] = true;
        }
    }

    public override DataViewSchema Schema { get; }

    public override long Position => _position;

    public override long Batch => 0;

    public override bool IsColumnActive(DataViewSchema.Column column) => column.Index < _active.Length && _active[column.Index];

    public override bool MoveNext()
    {
        if (_done) return false;
        if (_moveNext()) { _position++; return true; }
        _done = true;
        return false;
    }

    public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => id = new DataViewRowId((ulong)_position, 0);

    public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
    {
        Rows.CheckGetter<TValue>(this, column);
        var index = column.Index;
        return (ref TValue value) =>
        {
            if (_position < 0 || _done) throw new InvalidOperationException($"cursor is not on a row (reading column '{column.Name}')");
            ColumnValues.Assign(_valueAt(index), ref value);
        };
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed) { _disposed = true; _dispose?.Invoke(); }
        base.Dispose(disposing);
    }

    private bool _disposed;
}

/// <summary>Checks shared by the framework's rows.</summary>
internal static class Rows
{
    /// <summary>Throws unless <paramref name="column"/> belongs to <paramref name="row"/>, is active and holds <typeparamref name="TValue"/>.</summary>
    public static void CheckGetter<TValue>(DataViewRow row, DataViewSchema.Column column)
    {
        if (column.Index < 0 || column.Index >= row.Schema.Count || row.Schema[column.Index].Name != column.Name)
            throw new ArgumentOutOfRangeException(nameof(column), $"column '{column.Name}' is not part of this row's schema ({row.Schema.Describe()})");
        var type = row.Schema[column.Index].Type;
        if (typeof(TValue) != type.RawType)
            throw new InvalidOperationException($"column '{column.Name}' holds {type} values ({type.RawType.Name}); a getter of {typeof(TValue).Name} was asked for");
        if (!row.IsColumnActive(column))
            throw new InvalidOperationException($"column '{column.Name}' was not requested when the cursor was opened");
    }
}
