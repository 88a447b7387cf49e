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
/// The model file records the input preprocessing chain (from the training view's schema or given explicitly), and the
/// core reads manifest mask volumes and gives predicted masks their image's spacing.
/// </summary>
[Collection("Torch")]
public sealed class ModelPreprocessingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mlnm-modelprep-").FullName;
    private readonly MLContext _ml = new(seed: 5);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly double[] Spacing = [0.5, 2.0];   // x (fastest), y: tensor order is [y, x] → [2.0, 0.5]

    private static TransformChain Chain => new(new ZScore { Mask = "nonzero" }, new CenterCrop { Size = [12, 12] });

    /// <summary>Synthetic disks as NIfTI files with anisotropic spacing; rows alternate test/train.</summary>
    private string WriteManifest(int count) =>
        SyntheticImages.WriteManifest(_dir, count, i => i % 2 == 0 ? "test" : "train", Affine.Diagonal(Spacing[0], Spacing[1], 1));

    private static ITransformer PassThrough(MLContext ml, IDataView data) =>
        ml.Transforms.Conversion.MapValueToKey("LabelKey", "Id").Fit(data);

    [Fact]
    public void SavedModelRecordsTheTrainingViewsPreprocessing()
    {
        var data = _ml.Data.LoadFromManifest(WriteManifest(4), Chain);
        Assert.Equal(Chain.ToJson(), PreprocessingAnnotation.Read(data.Schema)?.ToJson());
        Assert.Equal(Chain.ToJson(), PreprocessingAnnotation.Read(_ml.Data.FilterBySplit(data, "train").Schema)?.ToJson());
        var model = PassThrough(_ml, data);
        // ML.NET's own stages pass the annotation through.
        Assert.Equal(Chain.ToJson(), PreprocessingAnnotation.Read(model.Transform(data).Schema)?.ToJson());
        var path = Path.Combine(_dir, "model.zip");
        _ml.Model.SaveMedical(model, data.Schema, path);

        var loaded = _ml.Model.LoadMedical(path, out var schema);
        var recorded = PreprocessingAnnotation.Read(schema!);
        Assert.NotNull(recorded);
        Assert.Equal(Chain.ToJson(), recorded!.ToJson());
        Assert.Equal(Chain.Hash(), recorded.Hash());
        Assert.Equal(data.Schema.Select(c => (c.Name, c.Type)), schema!.Select(c => (c.Name, c.Type)));
        // The recorded chain loads new data exactly as training saw it, and the loaded model runs on it.
        var again = _ml.Data.LoadFromManifest(Path.Combine(_dir, "manifest.csv"), recorded, prefetch: 0);
        Assert.Equal(model.Transform(data).GetColumn<uint>("LabelKey"), loaded.Transform(again).GetColumn<uint>("LabelKey"));
        Assert.Equal(data.GetColumn<Volume>("Image").Select(v => Convert.ToHexString(v.Data)), again.GetColumn<Volume>("Image").Select(v => Convert.ToHexString(v.Data)));
        Assert.Equal(new[] { 12, 12 }, again.GetColumn<Volume>("Image").First().Shape.Take(2));
    }

    [Fact]
    public void ExplicitPreprocessingOverridesAndNoneStaysNone()
    {
        var plain = _ml.Data.LoadFromManifest(WriteManifest(2));
        Assert.Null(PreprocessingAnnotation.Read(plain.Schema));
        var model = PassThrough(_ml, plain);
        using (var stream = new MemoryStream())
        {
            _ml.Model.SaveMedical(model, plain.Schema, stream);
            stream.Position = 0;
            _ml.Model.LoadMedical(stream, out var schema);
            Assert.NotNull(schema);
            Assert.Null(PreprocessingAnnotation.Read(schema!));
        }
        using (var stream = new MemoryStream())
        {
            var explicitChain = new TransformChain(new PercentileClip { Lower = 1, Upper = 99 });
            _ml.Model.SaveMedical(model, plain.Schema, stream, explicitChain);
            stream.Position = 0;
            _ml.Model.LoadMedical(stream, out var schema);
            Assert.Equal(explicitChain.ToJson(), PreprocessingAnnotation.Read(schema!)!.ToJson());
        }
        var e = Assert.Throws<ArgumentException>(() => _ml.Model.SaveMedical(model, null, new MemoryStream(), Chain));
        Assert.Contains("input schema", e.Message);
    }

    [Fact]
    public void ManifestMaskVolumesConvertWithTheirSpacingInTensorOrder()
    {
        var data = _ml.Data.LoadFromManifest(WriteManifest(2));
        var mask = data.GetColumn<Volume>("Mask").First();
        Assert.True(MaskConverters.CanConvert(mask.GetType()));
        var map = MaskConverters.ToLabelMap(mask);
        Assert.Equal(new[] { 16, 16 }, map.Shape);
        Assert.Equal(new[] { 2.0, 0.5 }, map.Spacing);
        Assert.Equal(mask.ToFloatArray().Select(v => (int)v), map.Labels);

        var twoChannels = Volume.Create<byte>(new byte[2 * 4 * 4], [4, 4, 2], spatialRank: 2);
        Assert.Contains("2 channels", Assert.Throws<ArgumentException>(() => MaskConverters.ToLabelMap(twoChannels)).Message);
        var fractional = Volume.Create<float>([0, 0.5f, 1, 1], [2, 2]);
        Assert.Contains("voxel 1", Assert.Throws<ArgumentException>(() => MaskConverters.ToLabelMap(fractional)).Message);
    }

    [Fact]
    public void PredictedMasksCarryTheImageSpacingAndEvaluateAgainstManifestMasks()
    {
        var data = _ml.Data.LoadFromManifest(WriteManifest(8), prefetch: 0);
        using var model = _ml.Segmentation.Trainers.UNet(SyntheticImages.TinyUNet, SyntheticImages.Quick(2)).Fit(_ml.Data.FilterBySplit(data, "train"));
        var scored = model.Transform(_ml.Data.FilterBySplit(data, "test"));
        Assert.All(scored.GetColumn<LabelMap>(DefaultColumnNames.PredictedMask), m => Assert.Equal(new[] { 2.0, 0.5 }, m.Spacing));
        var metrics = _ml.Segmentation.Evaluate(scored, classes: [1]);
        Assert.InRange(metrics.MeanDice, 0, 1);
    }
}
