namespace MlNetMedical.Data;

/// <summary>
/// A cursor built from two functions: advance, and read a column of the current row as an object. Every
/// in-memory and derived view uses it, so the getter checks live in one place.
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
            var own = schema.GetColumnOrNull(c.Name)
                ?? throw new ArgumentException($"column '{c.Name}' is not in this view ({schema.Describe()})", nameof(active));
            _active[own.Index] = true;
        }
    }

    public override DataViewSchema Schema { get; }

    public override long Position => _position;

    public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];

    public override bool MoveNext()
    {
        if (_done) return false;
        if (_moveNext()) { _position++; return true; }
        _done = true;
        return false;
    }

    public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
    {
        var own = CheckGetter<TValue>(column);
        return (ref TValue value) =>
        {
            if (_position < 0 || _done) throw new InvalidOperationException($"cursor is not on a row (reading column '{own.Name}')");
            value = (TValue)_valueAt(own.Index)!;
        };
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _dispose?.Invoke();
    }
}
