namespace MlNetMedical.Data;

/// <summary>Reads a key label column and a float-vector column together: the input of trainers and of evaluation.</summary>
internal sealed class LabelledVectors
{
    private readonly ValueGetter<uint> _label;
    private readonly ValueGetter<VBuffer<float>> _vector;
    private readonly string _labelColumnName;
    private readonly string _vectorColumnName;
    private readonly string _stage;
    private VBuffer<float> _buffer;

    /// <summary>Binds to the two columns of <paramref name="row"/>; <paramref name="stage"/> names the reader in errors.
    /// The label must be a key column of <c>uint</c> (as <c>MapValueToKey</c> makes), the vector a <c>Single</c> vector.</summary>
    public LabelledVectors(DataViewRow row, string labelColumnName, string vectorColumnName, string stage)
    {
        ArgumentNullException.ThrowIfNull(row);
        var label = Find(row.Schema, labelColumnName, stage, "label");
        if (label.Type is not KeyDataViewType { RawType: var raw } || raw != typeof(uint))
            throw new ArgumentException($"{stage}: label column '{labelColumnName}' is {label.Type}, expected a key column of UInt32 " +
                                        "(map text labels with ml.Transforms.Conversion.MapValueToKey)", nameof(labelColumnName));
        var vector = Find(row.Schema, vectorColumnName, stage, "vector");
        if (vector.Type is not VectorDataViewType { ItemType: var item } || !item.Equals(NumberDataViewType.Single))
            throw new ArgumentException($"{stage}: column '{vectorColumnName}' is {vector.Type}, expected a vector of Single", nameof(vectorColumnName));
        _label = row.GetGetter<uint>(label);
        _vector = row.GetGetter<VBuffer<float>>(vector);
        (_labelColumnName, _vectorColumnName, _stage) = (labelColumnName, vectorColumnName, stage);
    }

    private static DataViewSchema.Column Find(DataViewSchema schema, string name, string stage, string what) =>
        schema.GetColumnOrNull(name)
        ?? throw new ArgumentException($"{stage}: there is no {what} column '{name}'; columns: {schema.Describe()}", name);

    /// <summary>The current row's class index (key − 1) and a fresh dense copy of its vector; a missing label (key 0) is an error naming the row.</summary>
    public (int Class, float[] Vector) Read(long position)
    {
        uint key = 0;
        _label(ref key);
        _vector(ref _buffer);
        if (key == 0) throw new InvalidOperationException($"{_stage}: label column '{_labelColumnName}' is missing (key 0) at row {position}");
        if (_buffer.Length == 0) throw new InvalidOperationException($"{_stage}: column '{_vectorColumnName}' holds an empty vector at row {position}");
        return ((int)key - 1, ColumnValues.Dense(_buffer));
    }

    /// <summary>Every row's class index and vector.</summary>
    public static (List<int> Classes, List<float[]> Vectors) ReadAll(IDataView data, string labelColumnName, string vectorColumnName, string stage)
    {
        ArgumentNullException.ThrowIfNull(data);
        var classes = new List<int>();
        var vectors = new List<float[]>();
        var columns = new[] { Find(data.Schema, labelColumnName, stage, "label"), Find(data.Schema, vectorColumnName, stage, "vector") };
        using var cursor = data.GetRowCursor(columns.DistinctBy(c => c.Index));
        var reader = new LabelledVectors(cursor, labelColumnName, vectorColumnName, stage);
        while (cursor.MoveNext())
        {
            var (c, v) = reader.Read(cursor.Position);
            classes.Add(c);
            vectors.Add(v);
        }
        return (classes, vectors);
    }
}
