using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMedical.Catalogs;
using MlNetMedical.Data;
using MlNetMedical.Imaging;
using MlNetMedical.Imaging.Augmentation;
using MlNetMedical.Models;
using MlNetMedical.Pipeline;
using MlNetMedical.Transforms;
using Xunit;

namespace MlNetMedical.Tests.Trainers;

[Collection("Torch")]
public sealed class AugmentTests : IDisposable
{
    private readonly MLContext _ml = new(seed: 11);
    private readonly string _dir = Directory.CreateTempSubdirectory("mlnm-augment-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly AugmentationConfig Config = new() { FlipProbability = 0.5, NoiseProbability = 1, NoiseStd = 0.1, AffineProbability = 0.5 };

    private static EncoderClassifierConfig Cnn => EncoderClassifierConfig.PlainCnn(2, 1, 2, depth: 2, baseChannels: 4);

    private static float[] Scores(ITransformer model, IDataView data) => [.. model.Transform(data).GetColumn<float[]>("Score").SelectMany(s => s)];

    [Fact]
    public void AugmentStageTrainsLikeTheTrainingOptionAndIsTheIdentityAtTransform()
    {
        var train = _ml.Data.LoadFromEnumerable(SyntheticImages.Disks(12, 1));
        var test = _ml.Data.LoadFromEnumerable(SyntheticImages.Disks(6, 2));
        var staged = _ml.Transforms.Augment(Config).Append(_ml.MulticlassClassification.Trainers.ImageCnn(Cnn, SyntheticImages.Quick(2))).Fit(train);
        var viaOption = _ml.MulticlassClassification.Trainers.ImageCnn(Cnn, SyntheticImages.Quick(2) with { Augmentation = Augmentations.From(Config, _ml.Medical().Seed) }).Fit(train);
        var plain = _ml.MulticlassClassification.Trainers.ImageCnn(Cnn, SyntheticImages.Quick(2)).Fit(train);
        Assert.Equal(Scores(viaOption, test), Scores(staged, test)); // one code path
        Assert.NotEqual(Scores(plain, test), Scores(staged, test)); // and it did augment

        // Transform leaves the rows untouched.
        var augment = _ml.Transforms.Augment(Config).Fit(train);
        Assert.Equal(train.GetColumn<Volume>("Image").Select(v => v.Data), augment.Transform(train).GetColumn<Volume>("Image").Select(v => v.Data));

        // Saved in the zip; predictions after reload are identical.
        var path = Path.Combine(_dir, "augmented.zip");
        _ml.Model.SaveMedical(staged, train.Schema, path);
        var loaded = _ml.Model.LoadMedical(path, out _);
        Assert.Equal(Scores(staged, test), Scores(loaded, test));
        var stage = Assert.IsType<AugmentTransformer>(Assert.IsAssignableFrom<IEnumerable<ITransformer>>(loaded).First());
        Assert.Equal(Config, stage.Config);
    }

    [Fact]
    public void AugmentationMovesMasksWithImages()
    {
        var sample = new MlNetMedical.Training.TrainingSample(Enumerable.Range(0, 64).Select(i => (float)(i % 8)).ToArray(), [1, 8, 8],
            Enumerable.Range(0, 64).Select(i => (long)(i % 8 >= 4 ? 1 : 0)).ToArray(), 0, "g");
        var flip = Augmentations.From(new AugmentationConfig { FlipProbability = 1 }, seed: 1);
        var random = new Random(3);
        for (var k = 0; k < 4; k++)
        {
            var a = flip(sample, random);
            // Wherever the image's column value is ≥ 4 (3.5 allows interpolation rounding) the mask must say 1 (both moved by the same flip).
            for (var i = 0; i < 64; i++) Assert.Equal(a.Image[i] >= 3.5f ? 1L : 0L, a.Mask![i]);
        }
        Assert.Throws<InvalidOperationException>(() => flip(sample with { Shape = [64] }, random));
    }
}
