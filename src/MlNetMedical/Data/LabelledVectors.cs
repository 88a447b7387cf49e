namespace MlNetMedical.Data;

/// <summary>Reads a key label column and a float-vector column together: the input of trainers and of evaluation.</summary>
internal static class LabelledVectors
{
    /// <summary>Per row, the class index (key − 1) and the vector. A missing label (key 0) is an error naming
    /// <paramref name="stage"/>, the column and the row.</summary>
    public static (List<int> Classes, List<float[]> Vectors) Read(IDataView data, string labelColumnName, string vectorColumnName, string stage)
    {
        var classes = new List<int>();
        var vectors = new List<float[]>();
        using var cursor = data.GetRowCursor([data.Schema[labelColumnName], data.Schema[vectorColumnName]]);
        var label = cursor.GetGetter<uint>(data.Schema[labelColumnName]);
        var vector = cursor.GetGetter<float[]>(data.Schema[vectorColumnName]);
        while (cursor.MoveNext())
        {
            uint key = 0;
            float[] values = [];
            label(ref key);
            vector(ref values);
            if (key == 0) throw new InvalidOperationException($"{stage}: label column '{labelColumnName}' is missing (key 0) at row {cursor.Position}");
            classes.Add((int)key - 1);
            vectors.Add(values);
        }
        return (classes, vectors);
    }
}
