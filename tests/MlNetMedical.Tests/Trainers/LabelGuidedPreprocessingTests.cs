using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMedical.Catalogs;
using MlNetMedical.Data;
using MlNetMedical.Imaging.Preprocessing;
using MlNetMedical.Models;
using MlNetMedical.Trainers;
using Xunit;

namespace MlNetMedical.Tests.Trainers;

/// <summary>
/// Preprocessing that reads the true mask (a crop to its bounding box, a z-score over its voxels) shows the network where the lesion is,
/// and at prediction time there is no mask: network transformers refuse rows whose image column's preprocessing chain does that.
/// </summary>
[Collection("Torch")]
public sealed class LabelGuidedPreprocessingTests
{
    private readonly MLContext _ml = new(seed: 17);

    /// <summary>The disks with <paramref name="chain"/> recorded on the Image column, as <c>ml.Data.LoadFromManifest</c> records it.</summary>
    private IDataView Preprocessed(TransformChain chain)
    {
        var definition = SchemaDefinition.Create(typeof(DiskRow));
        definition[DefaultColumnNames.Image].AddAnnotation(PreprocessingAnnotation.Kind, chain.ToJson().AsMemory(), TextDataViewType.Instance);
        var data = _ml.Data.LoadFromEnumerable(SyntheticImages.Disks(6, 2), definition);
        Assert.Equal(chain.ToJson(), PreprocessingAnnotation.Read(data.Schema)?.ToJson()); // the annotation is really there
        return data;
    }

    public static TheoryData<string> MaskReadingSteps => ["CropForeground", "ZScore"];

    [Theory]
    [MemberData(nameof(MaskReadingSteps))]
    public void NetworkTransformersRefuseRowsPreprocessedWithTheMask(string step)
    {
        var train = _ml.Data.LoadFromEnumerable(SyntheticImages.Disks(8, 1));
        var unet = _ml.Segmentation.Trainers.UNet(SyntheticImages.TinyUNet, SyntheticImages.Quick(1)).Fit(train);
        ImageNetworkTransformer[] models =
        [
            unet,
            _ml.Transforms.SegmentationEncoderFeatures(unet).Fit(train),
            _ml.MulticlassClassification.Trainers.ImageCnn(EncoderClassifierConfig.PlainCnn(2, 1, 2, depth: 2, baseChannels: 4), SyntheticImages.Quick(1)).Fit(train),
            _ml.MulticlassClassification.Trainers.JointSegmentationClassifier(JointTopology.YNet, unet: SyntheticImages.TinyUNet, training: SyntheticImages.Quick(1)).Fit(train),
        ];
        VolumeTransform leaky = step == "CropForeground" ? new CropForeground { UseLabel = true, Margin = 2 } : new ZScore { Mask = "label" };
        VolumeTransform safe = step == "CropForeground" ? new CropForeground { UseLabel = false, Margin = 2 } : new ZScore { Mask = "nonzero" };
        var refused = Preprocessed(new TransformChain(new ZScore { Mask = "none" }, leaky));
        var allowed = Preprocessed(new TransformChain(new ZScore { Mask = "none" }, safe));
        foreach (var model in models)
        {
            var error = Assert.Throws<InvalidOperationException>(() => model.Transform(refused).Preview());
            Assert.Contains(model.StageName, error.Message);
            Assert.Contains("image column 'Image'", error.Message);
            Assert.Contains("reads the true mask", error.Message);
            Assert.Contains(step == "CropForeground" ? "CropForeground(UseLabel = true)" : "ZScore(Mask = \"label\")", error.Message);
            Assert.Contains("at prediction time there is no mask", error.Message);
            // Inside a chain too: the chain's Transform reaches the network stage's check.
            var chain = _ml.Transforms.CopyColumns("ImageCopy", "Image").Fit(refused).Append(model);
            Assert.Throws<InvalidOperationException>(() => chain.Transform(refused).Preview());
            // The same chain without the mask-reading step passes.
            Assert.Equal(6, model.Transform(allowed).Preview().RowView.Length);
        }
        foreach (var model in models) model.Dispose();
    }
}
