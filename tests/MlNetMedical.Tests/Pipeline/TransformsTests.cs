using System.Collections;
using MlNetMedical.Data;
using MlNetMedical.Pipeline;
using Xunit;

namespace MlNetMedical.Tests.Pipeline;

public class TransformsTests
{
    private readonly MedicalContext _ml = new(seed: 3);

    public sealed class MixedRow
    {
        public float Age { get; set; }
        [VectorType(2)] public float[] Level1 { get; set; } = [];
        [VectorType(3)] public float[] Level2 { get; set; } = [];
        public double Wrong { get; set; }
    }

    [Fact]
    public void ConcatenateJoinsScalarsAndVectorsInOrder()
    {
        var data = _ml.Data.LoadFromEnumerable(new[] { new MixedRow { Age = 7, Level1 = [1, 2], Level2 = [3, 4, 5] } });
        var concat = _ml.Transforms.Concatenate("Features", "Level2", "Age", "Level1");
        var output = concat.Fit(data).Transform(data);
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 6), output.Schema["Features"].Type);
        Assert.Equal([3f, 4, 5, 7, 1, 2], output.GetColumn<float[]>("Features").Single());
        var e = Assert.Throws<SchemaMismatchException>(() => _ml.Transforms.Concatenate("Features", "Age", "Wrong").Fit(data));
        Assert.Contains("Concatenate('Features') needs column 'Wrong' to be a Single scalar or a known-length vector of Single, but it is Double", e.Message);
        // Saved and loaded inside a chain.
        using var stream = new MemoryStream();
        _ml.Model.Save(_ml.Transforms.Concatenate("Features", "Age", "Level1").Fit(data).Append(new VectorScaler("Features", 2f)), data.Schema, stream);
        stream.Position = 0;
        Assert.Equal([14f, 2, 4], _ml.Model.Load(stream, out _).Transform(data).GetColumn<float[]>("Features").Single());
    }

    private sealed class CountingRows(IReadOnlyList<PatientRow> rows) : IEnumerable<PatientRow>
    {
        public int Enumerations { get; private set; }
        public IEnumerator<PatientRow> GetEnumerator() { Enumerations++; return rows.GetEnumerator(); }
        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }

    /// <summary>An estimator that reads its input three times, as iterative trainers do.</summary>
    private sealed class ThreePassEstimator : EstimatorBase<VectorScaler>
    {
        protected override IReadOnlyList<ColumnRequirement> RequiredColumns => [ColumnRequirement.SingleVector("Features")];
        protected override IReadOnlyList<SchemaShape.Column> GetOutputColumns(SchemaShape inputSchema) => [];
        protected override VectorScaler FitCore(IDataView input)
        {
            for (var pass = 0; pass < 3; pass++) _ = input.GetColumn<float[]>("Features").Count();
            return new VectorScaler("Features", 1f);
        }
    }

    [Fact]
    public void CacheCheckpointReadsUpstreamOnce()
    {
        var plain = new CountingRows(PatientRow.Make());
        _ml.Transforms.Conversion.MapValueToKey("Label", "Diagnosis").Append(new ThreePassEstimator()).Fit(_ml.Data.LoadFromEnumerable(plain));
        Assert.Equal(1 + 3, plain.Enumerations);

        var cached = new CountingRows(PatientRow.Make());
        _ml.Transforms.Conversion.MapValueToKey("Label", "Diagnosis").Append(new VectorScalerEstimator("Features", 1f)).AppendCacheCheckpoint()
            .Append(new ThreePassEstimator()).Fit(_ml.Data.LoadFromEnumerable(cached));
        Assert.Equal(1 + 1, cached.Enumerations);   // key fit, then one cache fill serves all three passes

        var source = new CountingRows(PatientRow.Make());
        var view = _ml.Data.Cache(_ml.Data.LoadFromEnumerable(source));
        Assert.Equal(0, source.Enumerations);
        Assert.Equal(48, view.GetColumn<string>("Patient").Count());
        Assert.Equal(48, view.CountRows());
        Assert.Equal(PatientRow.Make().Select(r => r.Patient), view.GetColumn<string>("Patient"));
        Assert.Equal(1, source.Enumerations);
    }
}
