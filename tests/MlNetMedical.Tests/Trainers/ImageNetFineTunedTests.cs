using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMedical.Models;
using MlNetMedical.Trainers;
using MlNetMedical.Training;
using TorchSharp;
using Xunit;

namespace MlNetMedical.Tests.Trainers;

/// <summary>ml.MulticlassClassification.Trainers.ImageNetFineTuned: ImageNet's ResNet18 (weights from the DnnImageFeaturizer
/// package's ONNX files) fine-tuned on the tiny disk task, at 64² to stay fast.</summary>
[Collection("Torch")]
public sealed class ImageNetFineTunedTests : IDisposable
{
    private readonly MLContext _ml = new(seed: 3);
    private readonly string _dir = Directory.CreateTempSubdirectory("mlnm-imagenet-ft-").FullName;
    private IDataView Train => _ml.Data.LoadFromEnumerable(SyntheticImages.Disks(16, 1));
    private IDataView Test => _ml.Data.LoadFromEnumerable(SyntheticImages.Disks(6, 2));
    private static EncoderClassifierConfig Network => EncoderClassifierConfig.ImageNetResNet18(2, 1, 2, inputSize: 64);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void StartsFromImageNetWeightsTrainsAndRoundTripsThroughSaveMedical()
    {
        var trainer = _ml.MulticlassClassification.Trainers.ImageNetFineTuned(Network, training: SyntheticImages.Quick(3) with { BatchSize = 4 });
        Assert.Equal("MulticlassClassification.ImageNetFineTuned", trainer.StageName);
        using var model = trainer.Fit(Train);
        Assert.NotNull(trainer.LastHistory);
        var encoder = Assert.IsType<ImageNetEncoder>(Assert.IsType<EncoderClassifier>(model.Network).Encoder);
        // The mean image came from ResNetPreprocess.onnx (plane means about 103..123), not the zeros it was built with.
        Assert.InRange(encoder.MeanImage.mean().ToSingle(), 100f, 125f);

        var scores = model.Transform(Test).GetColumn<float[]>("Score").ToList();
        Assert.Equal(6, scores.Count);
        Assert.All(scores, s => Assert.Equal(1f, s.Sum(), 3));
        Assert.True(scores.Select(s => s[0]).Distinct().Count() > 1, "every row scored the same, so the comparison below could not fail");
        var path = Path.Combine(_dir, "imagenet-ft.zip");
        _ml.Model.SaveMedical(model, Train.Schema, path);
        var loaded = _ml.Model.LoadMedical(path, out _);
        var loadedScores = loaded.Transform(Test).GetColumn<float[]>("Score").ToList();
        for (var i = 0; i < scores.Count; i++) Assert.Equal(scores[i], loadedScores[i]);
        (loaded as IDisposable)?.Dispose();
    }

    [Fact]
    public void AFrozenEncoderKeepsExactlyTheImageNetWeights()
    {
        var trainer = _ml.MulticlassClassification.Trainers.ImageNetFineTuned(Network, new FineTuneSettings { Freeze = FreezeMode.WholeEncoder },
            SyntheticImages.Quick(2) with { BatchSize = 4 });
        using var model = trainer.Fit(Train);
        var encoder = (ImageNetEncoder)((EncoderClassifier)model.Network).Encoder;
        using var reference = ImageNetResNet18Weights.Load();
        var ours = encoder.ResNet.state_dict();
        var compared = 0;
        foreach (var (name, tensor) in reference.state_dict())
        {
            if (name.EndsWith("num_batches_tracked", StringComparison.Ordinal)) continue;
            Assert.True(tensor.eq(ours[name]).all().ToBoolean(), $"{name} differs from ImageNet's");
            compared++;
        }
        Assert.Equal(22 * 5, compared); // 22 convs, each with a batch norm of four tensors
    }

    [Fact]
    public void AnEncoderImageNetWeightsCannotLoadIntoIsRefused()
    {
        var e = Assert.Throws<ArgumentException>(() => _ml.MulticlassClassification.Trainers.ImageNetFineTuned(EncoderClassifierConfig.ResNet(2, 1, 2)));
        Assert.Contains("ImageNetEncoderConfig", e.Message);
        var missing = Assert.Throws<FileNotFoundException>(() => _ml.MulticlassClassification.Trainers.ImageNetFineTuned(modelDirectory: Path.Combine(_dir, "nowhere")));
        Assert.Contains("nowhere", missing.Message);
        Assert.Contains("ResNet18.onnx", missing.Message);
    }
}
