using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMedical.Data;
using MlNetMedical.Imaging;
using MlNetMedical.Transforms;
using Xunit;

namespace MlNetMedical.Tests.Trainers;

/// <summary>ml.Transforms.ImageNetPixels (the grey mapping and layout ResNet18 expects) and ImageNetFeatures (ML.NET's
/// DnnFeaturizeImage with ResNet18 behind it). Few images: ResNet18 at 224² costs about 0.1–0.3 s per image on a CPU.</summary>
public sealed class ImageNetFeaturesTests : IDisposable
{
    private readonly MLContext _ml = new(seed: 3);
    private readonly string _dir = Directory.CreateTempSubdirectory("mlnm-imagenet-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private sealed class ImageRow
    {
        [VolumeColumn(VolumeKind.Image)] public Volume Image { get; set; } = null!;
    }

    private static float[] PixelsOf(MLContext ml, Volume image, int size)
    {
        var data = ml.Data.LoadFromEnumerable([new ImageRow { Image = image }]);
        return ml.Transforms.ImageNetPixels(size: size).Fit(data).Transform(data).GetColumn<float[]>("ImagePixels").Single();
    }

    [Fact]
    public void GreyLevelsAreMinMaxScaledTo0To255AndReplicatedToThreePlanes()
    {
        // 2×2 image, i fastest: (x=0,y=0)=10, (1,0)=20, (0,1)=30, (1,1)=50; kept at its size (no resize).
        var image = Volume.Create<float>([10f, 20f, 30f, 50f], [2, 2]);
        var pixels = PixelsOf(_ml, image, size: 2);
        float[] plane = [0f, 255f * 10 / 40, 255f * 20 / 40, 255f];
        Assert.Equal(12, pixels.Length);
        for (var c = 0; c < 3; c++)
            for (var i = 0; i < 4; i++) Assert.Equal(plane[i], pixels[c * 4 + i], 3);
    }

    [Fact]
    public void OutputColumnIsThreeBySizeBySizeAndAConstantImageIsBlack()
    {
        var data = _ml.Data.LoadFromEnumerable([new ImageRow { Image = Volume.Create<float>(Enumerable.Repeat(7f, 9).ToArray(), [3, 3]) }]);
        var transformed = _ml.Transforms.ImageNetPixels(size: 4).Fit(data).Transform(data);
        var type = Assert.IsType<VectorDataViewType>(transformed.Schema["ImagePixels"].Type);
        Assert.Equal([3, 4, 4], type.Dimensions.ToArray());
        Assert.All(transformed.GetColumn<float[]>("ImagePixels").Single(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void ResizeIsBilinearWithHalfPixelCentres()
    {
        // 2×1 row [0, 100] upsampled to 4 columns: centres at -0.25, 0.25, 0.75, 1.25 → clamped 0, 25, 75, 100 (then 0..255).
        var image = Volume.Create<float>([0f, 100f, 0f, 100f], [2, 2]);
        var pixels = PixelsOf(_ml, image, size: 4);
        float[] row = [0f, 63.75f, 191.25f, 255f];
        for (var y = 0; y < 4; y++)
            for (var x = 0; x < 4; x++) Assert.Equal(row[x], pixels[y * 4 + x], 3);
    }

    [Fact]
    public void VolumeGivesItsMiddleSliceAndSeveralChannelsTheFirst()
    {
        // 2×2×3 volume whose k = 1 slice is the only one with a gradient; a second channel of noise is ignored.
        var values = new float[2 * 2 * 3 * 2];
        float[] middle = [0f, 1f, 2f, 4f];
        for (var i = 0; i < 4; i++) values[4 + i] = middle[i];
        var random = new Random(1);
        for (var i = 12; i < 24; i++) values[i] = (float)random.NextDouble() * 100;
        var pixels = PixelsOf(_ml, Volume.Create<float>(values, [2, 2, 3, 2], spatialRank: 3), size: 2);
        for (var i = 0; i < 4; i++) Assert.Equal(middle[i] * 255f / 4, pixels[i], 3);
    }

    [Fact]
    public void MissingImageColumnIsNamed()
    {
        var data = _ml.Data.LoadFromEnumerable(PatientRow.Make(2, 1));
        var e = Assert.ThrowsAny<Exception>(() => _ml.Transforms.ImageNetPixels(imageColumnName: "Scan").Fit(data));
        Assert.Contains("Scan", e.Message);
    }

    [Fact]
    public void MissingModelDirectoryIsNamed()
    {
        var e = Assert.Throws<FileNotFoundException>(() => _ml.Transforms.ImageNetFeatures(modelDirectory: Path.Combine(_dir, "nowhere")));
        Assert.Contains("nowhere", e.Message);
        Assert.Contains("ResNet18.onnx", e.Message);
    }

    [Fact]
    public void ResNet18Gives512FeaturesPerImage()
    {
        var data = _ml.Data.LoadFromEnumerable(SyntheticImages.Disks(3, 1));
        var transformed = _ml.Transforms.ImageNetFeatures().Fit(data).Transform(data);
        Assert.Equal(512, Assert.IsType<VectorDataViewType>(transformed.Schema["Features"].Type).Size);
        Assert.Null(transformed.Schema.GetColumnOrNull("ImagePixels_Features")); // the 224² pixels are dropped
        var features = transformed.GetColumn<float[]>("Features").ToList();
        Assert.Equal(3, features.Count);
        Assert.All(features, f => Assert.Equal(512, f.Length));
        Assert.All(features, f => Assert.True(f.All(float.IsFinite) && f.Any(v => v != 0), "features are not all finite and non-zero"));
        Assert.NotEqual(features[0], features[1]); // different images, different features
    }

    [Fact]
    public void ChainWithMaximumEntropyTrainsScoresAndRoundTripsThroughSaveMedical()
    {
        var train = _ml.Data.LoadFromEnumerable(SyntheticImages.Disks(12, 1));
        var test = _ml.Data.LoadFromEnumerable(SyntheticImages.Disks(4, 2));
        // The cache keeps L-BFGS's passes from rerunning ResNet18 on every image.
        var model = _ml.Transforms.ImageNetFeatures().AppendCacheCheckpoint(_ml)
            .Append(_ml.Transforms.NormalizeMeanVariance("Features", fixZero: false))
            .Append(_ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy()).Fit(train);
        var scored = model.Transform(test);
        var scores = scored.GetColumn<float[]>("Score").ToList();
        Assert.Equal(4, scores.Count);
        Assert.All(scores, s => Assert.Equal(1f, s.Sum(), 3));
        var trainAccuracy = _ml.MulticlassClassification.Evaluate(model.Transform(train)).MicroAccuracy;
        Assert.True(trainAccuracy > 0.5, $"training accuracy {trainAccuracy} is no better than chance");

        var path = Path.Combine(_dir, "imagenet.zip");
        _ml.Model.SaveMedical(model, train.Schema, path);
        var loaded = _ml.Model.LoadMedical(path, out _);
        var features = model.Transform(test).GetColumn<float[]>("Features").ToList();
        var loadedFeatures = loaded.Transform(test).GetColumn<float[]>("Features").ToList();
        var loadedScores = loaded.Transform(test).GetColumn<float[]>("Score").ToList();
        Assert.Equal(4, loadedFeatures.Count);
        Assert.True(features.Select(f => f[0]).Distinct().Count() > 1, "every row has the same features, so the comparison could not fail");
        for (var i = 0; i < features.Count; i++)
        {
            Assert.Equal(features[i], loadedFeatures[i]);
            Assert.Equal(scores[i], loadedScores[i]);
        }
    }
}
