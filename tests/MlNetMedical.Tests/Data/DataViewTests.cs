using System.Collections;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMedical.Catalogs;
using MlNetMedical.Data;
using MlNetMedical.Imaging;
using MlNetMedical.Imaging.Preprocessing;
using MlNetMedical.Pipeline;
using MlNetMedical.Tests.Trainers;
using Xunit;

namespace MlNetMedical.Tests.Data;

/// <summary>
/// The framework's own views on ML.NET's <c>ml.Data</c>: manifest and Decathlon loading (<c>LoadFromManifest</c>), split filtering
/// (<c>FilterBySplit</c>) and the in-memory cache that keeps volume columns (<c>CacheInMemory</c>). ML.NET's LoadFromEnumerable,
/// cursors and schema are ML.NET's and tested there.
/// </summary>
public sealed class DataViewTests : IDisposable
{
    private readonly MLContext _ml = new(seed: 1);
    private readonly string _dir = Directory.CreateTempSubdirectory("mlnm-dataview-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private sealed class CountingRows<T>(IReadOnlyList<T> rows) : IEnumerable<T>
    {
        public int Enumerations { get; private set; }
        public IEnumerator<T> GetEnumerator() { Enumerations++; return rows.GetEnumerator(); }
        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }

    [Fact]
    public void ManifestViewHasTheDocumentedColumns()
    {
        var chain = new TransformChain(new ZScore { Mask = "nonzero" });
        var data = _ml.Data.LoadFromManifest(SyntheticImages.WriteManifest(_dir, 4, i => i < 2 ? "train" : "test"), chain, prefetch: 0);
        var s = data.Schema;
        Assert.Equal(["Id", "Image", "Mask", "Label", "GroupId", "Split"], s.Select(c => c.Name));
        Assert.IsType<TextDataViewType>(s["Id"].Type);
        Assert.Equal(new VolumeDataViewType(VolumeKind.Image, typeof(Volume)), s["Image"].Type);
        Assert.Equal(new VolumeDataViewType(VolumeKind.Mask, typeof(Volume)), s["Mask"].Type);
        Assert.Equal(new KeyDataViewType(typeof(uint), 2), s["Label"].Type);
        Assert.Equal(["left", "right"], s["Label"].ClassNames());   // the sorted distinct labels, as ML.NET's KeyValues
        Assert.Equal(chain.ToJson(), PreprocessingAnnotation.Read(s)?.ToJson());
        Assert.Null(PreprocessingAnnotation.Read(s, "Mask"));
        Assert.Equal(4, data.GetRowCount());
        Assert.Equal(["case00", "case01", "case02", "case03"], data.GetColumn<string>("Id"));
        Assert.Equal([1u, 2u, 1u, 2u], data.GetColumn<uint>("Label"));   // even rows left, odd rows right
        Assert.Equal(["P0", "P0", "P1", "P1"], data.GetColumn<string>("GroupId"));
        Assert.Equal(["train", "train", "test", "test"], data.GetColumn<string>("Split"));
        Assert.All(data.GetColumn<Volume>("Image"), v => Assert.Equal([16, 16], v.Shape.Take(2)));
        // ML.NET's own stages read the view: MapValueToKey over the text Id, evaluation-ready keys over Label.
        var keyed = _ml.Transforms.Conversion.MapValueToKey("IdKey", "Id").Fit(data).Transform(data);
        Assert.Equal([1u, 2u, 3u, 4u], keyed.GetColumn<uint>("IdKey"));
    }

    [Fact]
    public void ManifestWithoutLabelsOrSplitsHasMissingKeysAndEmptySplits()
    {
        SyntheticImages.WriteManifest(_dir, 2, _ => "train");
        var path = Path.Combine(_dir, "plain.csv");
        File.WriteAllLines(path, ["id,image", "a,img0.nii", "b,img1.nii"]);
        var data = _ml.Data.LoadFromManifest(path, prefetch: 0);
        Assert.Equal(new KeyDataViewType(typeof(uint), 1), data.Schema["Label"].Type);   // a key type needs one value: a placeholder
        Assert.Equal([0u, 0u], data.GetColumn<uint>("Label"));
        Assert.Equal(["", ""], data.GetColumn<string>("Split"));
        Assert.Equal(["a", "b"], data.GetColumn<string>("GroupId"));   // no group: the id
        Assert.All(data.GetColumn<Volume?>("Mask"), Assert.Null);
        Assert.Null(PreprocessingAnnotation.Read(data.Schema));
    }

    [Fact]
    public void ManifestErrorsNameTheFile()
    {
        var missing = Path.Combine(_dir, "nope.csv");
        Assert.ThrowsAny<IOException>(() => _ml.Data.LoadFromManifest(missing));
        var empty = Path.Combine(_dir, "empty.csv");
        File.WriteAllLines(empty, ["id,image"]);
        var noCases = Assert.Throws<MlNetMedical.Imaging.Datasets.ManifestException>(() => _ml.Data.LoadFromManifest(empty));
        Assert.Equal(empty, noCases.Path);
        Assert.Contains("the manifest lists no cases", noCases.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => _ml.Data.LoadFromManifest(SyntheticImages.WriteManifest(_dir, 2, _ => "train"), prefetch: -1));
    }

    [Fact]
    public void FilterBySplitOnAnyViewIsLazyAndKeepsOrder()
    {
        var source = new CountingRows<PatientRow>(PatientRow.Make());
        var view = _ml.Data.LoadFromEnumerable(source);
        var test = _ml.Data.FilterBySplit(view, "test");
        Assert.Equal(0, source.Enumerations);   // nothing read yet
        Assert.Equal(PatientRow.Make().Where(r => r.Split == "test").Select(r => r.Patient), test.GetColumn<string>("Patient"));
        Assert.Equal(1, source.Enumerations);
        Assert.All(test.GetColumn<string>("Split"), s => Assert.Equal("test", s));
        Assert.Empty(_ml.Data.FilterBySplit(view, "Test").GetColumn<string>("Patient"));   // ordinal, case-sensitive
        // ML.NET's own stages consume it.
        var keyed = _ml.Transforms.Conversion.MapValueToKey("Label", "Diagnosis").Fit(test).Transform(test);
        Assert.Equal(12, keyed.GetColumn<uint>("Label").Count());
    }

    [Fact]
    public void FilterBySplitOnAManifestViewKeepsItsRows()
    {
        var data = _ml.Data.LoadFromManifest(SyntheticImages.WriteManifest(_dir, 6, i => i % 3 == 0 ? "test" : "train"), prefetch: 2);
        var test = _ml.Data.FilterBySplit(data, "test");
        Assert.Equal(2, test.GetRowCount());   // a subset of the dataset itself: the count is known without reading
        Assert.Equal(["case00", "case03"], test.GetColumn<string>("Id"));
        Assert.Equal(data.GetColumn<Volume>("Image").Where((_, i) => i % 3 == 0).Select(v => Convert.ToHexString(v.Data)),
            test.GetColumn<Volume>("Image").Select(v => Convert.ToHexString(v.Data)));
        Assert.Equal(data.Schema["Label"].ClassNames(), test.Schema["Label"].ClassNames());
    }

    [Fact]
    public void FilterBySplitChecksTheColumn()
    {
        var view = _ml.Data.LoadFromEnumerable(PatientRow.Make());
        var missing = Assert.Throws<ArgumentException>(() => _ml.Data.FilterBySplit(view, "test", "Fold"));
        Assert.Contains("no split column 'Fold'", missing.Message);
        Assert.Contains("Patient", missing.Message);   // lists the columns there are
        Assert.Equal("splitColumnName", missing.ParamName);
        Assert.Contains("split column 'Features' is Vector<Single, 2>, expected a scalar Text column",
            Assert.Throws<ArgumentException>(() => _ml.Data.FilterBySplit(view, "test", "Features")).Message);
    }

    public sealed class MaskRow
    {
        public string Patient { get; set; } = "";
        [VolumeColumn(VolumeKind.Mask)] public LabelMap Mask { get; set; } = null!;
        [VectorType(2)] public float[] Features { get; set; } = [];
    }

    [Fact]
    public void CacheInMemoryKeepsVolumeColumnsAndReadsTheSourceOnce()
    {
        var rows = Enumerable.Range(0, 5).Select(i => new MaskRow { Patient = $"P{i}", Mask = new LabelMap([2, 2], [i % 2, 0, 0, 1]), Features = [i, -i] }).ToList();
        var source = new CountingRows<MaskRow>(rows);
        var cached = _ml.Data.CacheInMemory(_ml.Data.LoadFromEnumerable(source));
        Assert.Equal(0, source.Enumerations);
        Assert.Equal(cached.Schema.Select(c => (c.Name, c.Type)), _ml.Data.LoadFromEnumerable(rows).Schema.Select(c => (c.Name, c.Type)));
        for (var pass = 0; pass < 3; pass++)
        {
            Assert.Equal(rows.Select(r => r.Mask), cached.GetColumn<LabelMap>("Mask"));   // the same objects, every pass
            Assert.Equal(rows.Select(r => r.Patient), cached.GetColumn<string>("Patient"));
            Assert.Equal(rows.Select(r => r.Features), cached.GetColumn<float[]>("Features"));
        }
        Assert.Equal(1, source.Enumerations);
        Assert.Equal(5, cached.GetRowCount());
    }

    /// <summary>An estimator that reads its input three times, as iterative trainers do.</summary>
    private sealed class ThreePassEstimator : EstimatorBase<MlNetMedical.Tests.Pipeline.VectorScaler>
    {
        protected override IReadOnlyList<ColumnRequirement> RequiredColumns => [ColumnRequirement.SingleVector("Features")];
        protected override IReadOnlyList<SchemaShape.Column> GetOutputColumns(SchemaShape inputSchema) => [];
        protected override MlNetMedical.Tests.Pipeline.VectorScaler FitCore(IDataView input)
        {
            for (var pass = 0; pass < 3; pass++) _ = input.GetColumn<float[]>("Features").Count();
            return new MlNetMedical.Tests.Pipeline.VectorScaler("Features", 1f);
        }
    }

    [Fact]
    public void CacheInMemoryServesMultiPassTrainingFromOneRead()
    {
        var plain = new CountingRows<PatientRow>(PatientRow.Make());
        new ThreePassEstimator().Fit(_ml.Data.LoadFromEnumerable(plain));
        Assert.Equal(3, plain.Enumerations);

        // A framework transformer upstream (computed lazily, per read) is also computed once.
        var cachedRows = new CountingRows<PatientRow>(PatientRow.Make());
        var scaled = new MlNetMedical.Tests.Pipeline.VectorScaler("Features", 2f).Transform(_ml.Data.LoadFromEnumerable(cachedRows));
        var cached = _ml.Data.CacheInMemory(scaled);
        new ThreePassEstimator().Fit(cached);
        Assert.Equal(1, cachedRows.Enumerations);
        Assert.Equal(PatientRow.Make().Select(r => r.Features.Select(v => 2 * v).ToArray()), cached.GetColumn<float[]>("Features"));
    }
}
