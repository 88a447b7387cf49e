namespace MlNetMedical.Data;

/// <summary>Reads the current row's value of one column into <paramref name="value"/>.</summary>
public delegate void ValueGetter<TValue>(ref TValue value);

/// <summary>
/// A lazy table: a schema plus cursors that read rows on demand, as ML.NET's <c>IDataView</c>. Nothing is
/// loaded until a cursor moves; every cursor sees the same rows in the same order.
/// </summary>
public interface IDataView
{
    /// <summary>The columns.</summary>
    DataViewSchema Schema { get; }

    /// <summary>The number of rows when known without reading them, else null.</summary>
    long? GetRowCount();

    /// <summary>Opens a cursor positioned before the first row; only <paramref name="columnsNeeded"/> may be read.</summary>
    DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded);
}

/// <summary>One row of a data view: typed getters by column.</summary>
public abstract class DataViewRow : IDisposable
{
    /// <summary>The columns of this row.</summary>
    public abstract DataViewSchema Schema { get; }

    /// <summary>Zero-based index of the current row; −1 before the first.</summary>
    public abstract long Position { get; }

    /// <summary>Whether <paramref name="column"/> was requested when the cursor was opened.</summary>
    public abstract bool IsColumnActive(DataViewSchema.Column column);

    /// <summary>A getter for <paramref name="column"/>; <typeparamref name="TValue"/> must be the column type's raw type.</summary>
    public abstract ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column);

    /// <summary>Checks a getter request and returns the column as it is in this row's schema.</summary>
    protected DataViewSchema.Column CheckGetter<TValue>(DataViewSchema.Column column)
    {
        ArgumentNullException.ThrowIfNull(column);
        var own = Schema.GetColumnOrNull(column.Name);
        if (own is null || own.Index != column.Index)
            throw new ArgumentException($"column '{column.Name}' is not part of this row's schema ({Schema.Describe()})", nameof(column));
        if (typeof(TValue) != own.Type.RawType)
            throw new InvalidOperationException($"column '{own.Name}' holds {own.Type} values ({own.Type.RawType.Name}); a getter of {typeof(TValue).Name} was asked for");
        if (!IsColumnActive(own))
            throw new InvalidOperationException($"column '{own.Name}' was not requested when the cursor was opened");
        return own;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases what the row holds.</summary>
    protected virtual void Dispose(bool disposing) { }
}

/// <summary>A forward-only cursor over the rows of a data view.</summary>
public abstract class DataViewRowCursor : DataViewRow
{
    /// <summary>Moves to the next row; false at the end.</summary>
    public abstract bool MoveNext();
}
