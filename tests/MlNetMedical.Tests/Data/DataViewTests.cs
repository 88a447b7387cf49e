using System.Collections;
using MlNetMedical.Data;
using Xunit;

namespace MlNetMedical.Tests.Data;

public class DataViewTests
{
    public sealed class FakeVolume { public int Id { get; set; } }

    public sealed class AllTypesRow
    {
        public float Weight { get; set; }
        public double Age { get; set; }
        public int Count { get; set; }
        public long Big { get; set; }
        public bool Flag { get; set; }
        [ColumnName("PatientId")] public string Patient { get; set; } = "";
        [VectorType(3)] public float[] Features { get; set; } = new float[3];
        public double[] Ragged { get; set; } = [];
        [KeyType("benign", "malignant")] public uint Label { get; set; } = 1;
        public LabelMap Mask { get; set; } = new([2, 2], new int[4]);
        [VolumeColumn(VolumeKind.Image)] public FakeVolume Image { get; set; } = new();
        [NoColumn] public object? Ignored { get; set; }
    }

    private readonly MedicalContext _ml = new(seed: 1);

    [Fact]
    public void LoadFromEnumerableMapsPropertiesToTypedColumns()
    {
        var view = _ml.Data.LoadFromEnumerable(new[] { new AllTypesRow() });
        var s = view.Schema;
        Assert.Equal(NumberDataViewType.Single, s["Weight"].Type);
        Assert.Equal(NumberDataViewType.Double, s["Age"].Type);
        Assert.Equal(NumberDataViewType.Int32, s["Count"].Type);
        Assert.Equal(NumberDataViewType.Int64, s["Big"].Type);
        Assert.IsType<BooleanDataViewType>(s["Flag"].Type);
        Assert.IsType<TextDataViewType>(s["PatientId"].Type);
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 3), s["Features"].Type);
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Double), s["Ragged"].Type);
        Assert.Equal(["benign", "malignant"], ((KeyDataViewType)s["Label"].Type).KeyNames);
        Assert.Equal(VolumeDataViewType.LabelMapMask, s["Mask"].Type);
        Assert.Equal(new VolumeDataViewType(VolumeKind.Image, typeof(FakeVolume)), s["Image"].Type);
        Assert.Null(s.GetColumnOrNull("Ignored"));
        Assert.Equal(11, s.Count);
        var missing = Assert.Throws<ArgumentOutOfRangeException>(() => s["Patient"]);
        Assert.Contains("no column 'Patient'", missing.Message);
        Assert.Contains("PatientId", missing.Message);
    }

    public sealed class BadRow { public DateTime When { get; set; } }

    [Fact]
    public void UnsupportedPropertyIsNamed()
    {
        var e = Assert.Throws<ArgumentException>(() => _ml.Data.LoadFromEnumerable(new[] { new BadRow() }));
        Assert.Contains("property When of type DateTime", e.Message);
    }

    private sealed class CountingRows(IReadOnlyList<PatientRow> rows) : IEnumerable<PatientRow>
    {
        public int Enumerations { get; private set; }
        public IEnumerator<PatientRow> GetEnumerator() { Enumerations++; return rows.GetEnumerator(); }
        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }

    [Fact]
    public void ViewsAreLazyAndCursorsAreChecked()
    {
        var source = new CountingRows(PatientRow.Make());
        var view = _ml.Data.LoadFromEnumerable(source);
        var test = _ml.Data.FilterBySplit(view, "test");
        Assert.Equal(0, source.Enumerations);   // nothing read yet
        Assert.Equal(12, test.GetColumn<string>("Patient").Count());
        Assert.Equal(1, source.Enumerations);
        Assert.All(test.GetColumn<string>("Split"), s => Assert.Equal("test", s));

        using var cursor = view.GetRowCursor([view.Schema["Patient"]]);
        Assert.True(cursor.MoveNext());
        Assert.Equal("P00", cursor.GetValue<string>("Patient"));
        var wrongType = Assert.Throws<InvalidOperationException>(() => cursor.GetGetter<float>(view.Schema["Patient"]));
        Assert.Contains("column 'Patient' holds Text", wrongType.Message);
        var inactive = Assert.Throws<InvalidOperationException>(() => cursor.GetGetter<string>(view.Schema["Diagnosis"]));
        Assert.Contains("'Diagnosis' was not requested", inactive.Message);
    }

    [Fact]
    public void FilterBySplitChecksTheColumn()
    {
        var view = _ml.Data.LoadFromEnumerable(PatientRow.Make());
        Assert.Contains("no split column 'Fold'", Assert.Throws<ArgumentException>(() => _ml.Data.FilterBySplit(view, "test", "Fold")).Message);
        Assert.Contains("must be Text", Assert.Throws<ArgumentException>(() => _ml.Data.FilterBySplit(view, "test", "Features")).Message);
    }

    public sealed class SizedRow { [VectorType(3)] public float[] Features { get; set; } = [1, 2]; }

    [Fact]
    public void DeclaredVectorSizeIsEnforcedWhenRead()
    {
        var view = _ml.Data.LoadFromEnumerable(new[] { new SizedRow() });
        var e = Assert.Throws<InvalidOperationException>(() => view.GetColumn<float[]>("Features").ToList());
        Assert.Contains("column 'Features', row 0: vector has 2 items, the column declares 3", e.Message);
    }
}
