using Microsoft.ML;
using MlNetMedical.Catalogs;
using MlNetMedical.Data;
using MlNetMedical.Imaging.Preprocessing;
using MlNetMedical.Models;
using MlNetMedical.Pipeline;
using MlNetMedical.Trainers;
using MlNetMedical.Training;
using Xunit;

namespace MlNetMedical.Cli.Tests;

/// <summary>
/// Tiny models trained once for the evaluate/predict tests (a few seconds): synthetic datasets written by
/// `mlnm datasets make`, then one epoch of each trainer on 16-voxel images.
/// </summary>
public sealed class TinyModels : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("mlnm-models-").FullName;
    /// <summary>liver-lesion-2d, 16×16, 12 train + 6 test cases with masks (labels 0..2) and classes cyst/hemangioma/metastasis.</summary>
    public string LiverManifest => Path.Combine(Root, "liver", "manifest.csv");
    /// <summary>brain-tumor-3d, 16³, one channel, masks with labels 0, 1, 2, 4.</summary>
    public string BrainManifest => Path.Combine(Root, "brain", "manifest.csv");
    /// <summary>CT window then resample to 32×32: the models below see 32×32 images, inputs are 16×16.</summary>
    public string Chain => Path.Combine(Root, "chain.json");
    /// <summary>Joint (segmentation + classification) 2D U-Net trained with <see cref="Chain"/>.</summary>
    public string Joint2D => Path.Combine(Root, "joint2d.zip");
    /// <summary>Frozen-feature classifier: the joint network's encoder features, then ML.NET's LbfgsMaximumEntropy.</summary>
    public string Frozen2D => Path.Combine(Root, "frozen2d.zip");
    /// <summary>Classifier-only 2D CNN trained with <see cref="Chain"/>.</summary>
    public string Classifier2D => Path.Combine(Root, "cls2d.zip");
    /// <summary>Joint 3D U-Net trained on raw intensities.</summary>
    public string Joint3D => Path.Combine(Root, "joint3d.zip");
    public static readonly string[] LiverClasses = ["cyst", "hemangioma", "metastasis"];

    public TinyModels()
    {
        Make("liver-lesion-2d", "liver", "--train", "12", "--test", "6");
        Make("brain-tumor-3d", "brain", "--train", "4", "--test", "2");
        var chain = new TransformChain(new CtWindow(), new Resample { Shape = [32, 32] });
        chain.Save(Chain);

        var ml = new MLContext(seed: 1);
        ml.Medical().Seed = 1;
        var liver = ml.Data.FilterBySplit(ml.Data.LoadFromManifest(LiverManifest, chain), "train");
        var joint = ml.MulticlassClassification.Trainers.JointSegmentationClassifier(JointTopology.Simple, unet: UNet(2, 3), training: Quick).Fit(liver);
        ml.Model.SaveMedical(joint, liver.Schema, Joint2D);
        var frozen = ml.Transforms.SegmentationEncoderFeatures(joint, levels: [-1, -2])
            .Append(ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy(new Microsoft.ML.Trainers.LbfgsMaximumEntropyMulticlassTrainer.Options { NumberOfThreads = 1 }))
            .Fit(liver);
        ml.Model.SaveMedical(frozen, liver.Schema, Frozen2D);
        joint.Dispose();
        Save(ml, ml.MulticlassClassification.Trainers.ImageCnn(EncoderClassifierConfig.PlainCnn(2, 1, 3, depth: 3, baseChannels: 4), training: Quick).Fit(liver), liver, Classifier2D);
        var brain = ml.Data.FilterBySplit(ml.Data.LoadFromManifest(BrainManifest), "train");
        Save(ml, ml.MulticlassClassification.Trainers.JointSegmentationClassifier(JointTopology.Simple, unet: UNet(3, 5), training: Quick).Fit(brain), brain, Joint3D);
    }

    private static UNetConfig UNet(int dims, int classes) => new()
    {
        Encoder = new UNetEncoderConfig { SpatialDims = dims, InChannels = 1, Depth = 3, BaseChannels = 4 },
        NumClasses = classes,
    };

    private static TrainingOptions Quick => new() { Epochs = 1, BatchSize = 4, LearningRate = 5e-3, ValidationFraction = 0 };

    private static void Save(MLContext ml, ITransformer model, IDataView data, string path)
    {
        ml.Model.SaveMedical(model, data.Schema, path);
        (model as IDisposable)?.Dispose();
    }

    private void Make(string task, string folder, params string[] counts)
    {
        var (code, _, err) = CliRun.Run(["datasets", "make", task, "--out", Path.Combine(Root, folder), "--size", "16", "--pretrain", "0", "--seed", "3", "--quiet", .. counts]);
        if (code != 0) throw new InvalidOperationException($"datasets make {task} failed ({code}): {err}");
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
