namespace MlNetMedical.Data;

/// <summary>Reads a key label column and a float-vector column together: the input of trainers and of evaluation.</summary>
internal sealed class LabelledVectors
{
    private readonly ValueGetter<uint> _label;
    private readonly ValueGetter<float[]> _vector;
    private readonly string _labelColumnName;
    private readonly string _stage;

    /// <summary>Binds to the two columns of <paramref name="row"/>; <paramref name="stage"/> names the reader in errors.</summary>
    public LabelledVectors(DataViewRow row, string labelColumnName, string vectorColumnName, string stage)
    {
        _label = row.GetGetter<uint>(row.Schema[labelColumnName]);
        _vector = row.GetGetter<float[]>(row.Schema[vectorColumnName]);
        _labelColumnName = labelColumnName;
        _stage = stage;
    }

    /// <summary>The current row's class index (key − 1) and vector; a missing label (key 0) is an error naming the row.</summary>
    public (int Class, float[] Vector) Read(long position)
    {
        uint key = 0;
        float[] values = [];
        _label(ref key);
        _vector(ref values);
        if (key == 0) throw new InvalidOperationException($"{_stage}: label column '{_labelColumnName}' is missing (key 0) at row {position}");
        return ((int)key - 1, values);
    }

    /// <summary>Every row's class index and vector.</summary>
    public static (List<int> Classes, List<float[]> Vectors) ReadAll(IDataView data, string labelColumnName, string vectorColumnName, string stage)
    {
        var classes = new List<int>();
        var vectors = new List<float[]>();
        using var cursor = data.GetRowCursor([data.Schema[labelColumnName], data.Schema[vectorColumnName]]);
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
