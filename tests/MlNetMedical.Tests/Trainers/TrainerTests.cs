using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;
using MlNetMedical.Catalogs;
using MlNetMedical.Data;
using MlNetMedical.Imaging;
using MlNetMedical.Models;
using MlNetMedical.Pipeline;
using MlNetMedical.Trainers;
using MlNetMedical.Training;
using Xunit;

namespace MlNetMedical.Tests.Trainers;

[CollectionDefinition("Torch", DisableParallelization = true)]
public sealed class TorchCollection;

/// <summary>Each trainer on the tiny disk task: the loss falls and held-out accuracy beats chance (0.5) by a margin.</summary>
[Collection("Torch")]
public sealed class TrainerTests
{
    private readonly MLContext _ml = new(seed: 3);
    private IDataView Train => _ml.Data.LoadFromEnumerable(SyntheticImages.Disks(48, 1));
    private IDataView Test => _ml.Data.LoadFromEnumerable(SyntheticImages.Disks(40, 2));

    private static void AssertLearned(TrainingHistory? history)
    {
        Assert.NotNull(history);
        Assert.True(history!.Epochs[^1]["train_loss"] < history.Epochs[0]["train_loss"],
            $"training loss did not fall: {string.Join(", ", history.Epochs.Select(e => e["train_loss"].ToString("F4")))}");
    }

    private double Accuracy(IDataView scored) => _ml.MulticlassClassification.Evaluate(scored).MicroAccuracy;

    [Fact]
    public void UNetPretrainingLearnsTheDisks()
    {
        var trainer = _ml.Segmentation.Trainers.UNet(SyntheticImages.TinyUNet, SyntheticImages.Quick(8));
        using var model = trainer.Fit(Train);
        AssertLearned(trainer.LastHistory);
        var dice = trainer.LastHistory!.Epochs[trainer.LastHistory.BestEpoch]["dice"];
        Assert.True(dice > 0.5, $"validation Dice {dice}");
        var predicted = model.Transform(Test).GetColumn<LabelMap>(DefaultColumnNames.PredictedMask).First();
        Assert.Equal(new[] { 16, 16 }, predicted.Shape);
    }

    [Fact]
    public void AUNetThatPredictsBackgroundOnlyIsReportedAndOneThatSegmentsIsNot()
    {
        var ml = new MLContext(seed: 3);
        var log = new List<string>();
        ml.Medical().Log += (_, e) => { lock (log) log.Add($"{e.Kind} {e.Source}: {e.Message}"); };
        // Masks with no foreground: the network can only learn to predict background.
        var empty = SyntheticImages.Disks(24, 1).Select(r => { r.Mask = Volume.Create<byte>(new byte[SyntheticImages.Size * SyntheticImages.Size], [SyntheticImages.Size, SyntheticImages.Size]); return r; });
        var collapsing = ml.Segmentation.Trainers.UNet(SyntheticImages.TinyUNet, SyntheticImages.Quick(10));
        using (collapsing.Fit(ml.Data.LoadFromEnumerable(empty.ToList()))) { }
        var warning = Assert.Single(log, l => l.StartsWith("Warning Segmentation.UNet", StringComparison.Ordinal));
        Assert.Contains("predicts background on every validation voxel", warning);
        Assert.Contains("validation Dice 1.000", warning);
        log.Clear();
        using (ml.Segmentation.Trainers.UNet(SyntheticImages.TinyUNet, SyntheticImages.Quick(8)).Fit(Train)) { }
        Assert.DoesNotContain(log, l => l.Contains("predicts background", StringComparison.Ordinal));
    }

    [Fact]
    public void FrozenEncoderFeaturesWithLbfgsMaximumEntropyBeatChance()
    {
        using var seg = _ml.Segmentation.Trainers.UNet(SyntheticImages.TinyUNet, SyntheticImages.Quick(4)).Fit(Train);
        var features = _ml.Transforms.SegmentationEncoderFeatures(seg, levels: [-1, -2], pooling: PoolingKind.AverageMax);
        var model = features.Append(_ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy()).Fit(Train);
        var accuracy = Accuracy(model.Transform(Test));
        Assert.True(accuracy >= 0.7, $"accuracy {accuracy}");
    }

    [Fact]
    public void FrozenFeaturesAreIdenticalAcrossCalls()
    {
        using var seg = _ml.Segmentation.Trainers.UNet(SyntheticImages.TinyUNet, SyntheticImages.Quick(1)).Fit(Train);
        using var extractor = _ml.Transforms.SegmentationEncoderFeatures(seg, levels: [0, 1, 2]).Fit(Train);
        var first = extractor.Transform(Test).GetColumn<float[]>("Features").ToList();
        var second = extractor.Transform(Test).GetColumn<float[]>("Features").ToList();
        Assert.Equal(4 + 8 + 16, first[0].Length);
        for (var i = 0; i < first.Count; i++) Assert.Equal(first[i], second[i]);
    }

    [Fact]
    public void MlpOnFeaturesBeatsChance()
    {
        using var seg = _ml.Segmentation.Trainers.UNet(SyntheticImages.TinyUNet, SyntheticImages.Quick(4)).Fit(Train);
        var mlp = _ml.MulticlassClassification.Trainers.Mlp(hiddenUnits: [16]);
        var model = _ml.Transforms.SegmentationEncoderFeatures(seg, levels: [-1, -2], pooling: PoolingKind.AverageMax).Append(mlp).Fit(Train);
        AssertLearned(mlp.LastHistory);
        Assert.True(Accuracy(model.Transform(Test)) >= 0.7);
    }

    [Theory]
    [InlineData(FreezeMode.None)]
    [InlineData(FreezeMode.HierarchicalUnfreezing)]
    public void FineTuningFromTheSegmentationEncoderBeatsChance(FreezeMode freeze)
    {
        using var seg = _ml.Segmentation.Trainers.UNet(SyntheticImages.TinyUNet, SyntheticImages.Quick(4)).Fit(Train);
        var trainer = _ml.MulticlassClassification.Trainers.FineTunedEncoder(
            EncoderClassifierConfig.FromSegmentation(SyntheticImages.TinyUNet, new ClassificationHeadConfig()), seg,
            new FineTuneSettings { Freeze = freeze, EpochsPerUnfreeze = 1 }, SyntheticImages.Quick(8));
        using var model = trainer.Fit(Train);
        AssertLearned(trainer.LastHistory);
        var accuracy = Accuracy(model.Transform(Test));
        Assert.True(accuracy >= 0.7, $"accuracy {accuracy}");
    }

    [Fact]
    public void ScratchCnnLearns()
    {
        var trainer = _ml.MulticlassClassification.Trainers.ImageCnn(EncoderClassifierConfig.PlainCnn(2, 1, 2, depth: 3, baseChannels: 4),
            training: SyntheticImages.Quick(10));
        using var model = trainer.Fit(Train);
        AssertLearned(trainer.LastHistory);
        Assert.True(Accuracy(model.Transform(Test)) > 0.6);
    }

    [Fact]
    public void WholeEncoderFreezingLeavesEncoderWeightsUnchanged()
    {
        using var seg = _ml.Segmentation.Trainers.UNet(SyntheticImages.TinyUNet, SyntheticImages.Quick(2)).Fit(Train);
        var before = ((EncoderNetwork)seg.Network).Encoder.state_dict().Where(kv => kv.Value.dtype == TorchSharp.torch.ScalarType.Float32)
            .ToDictionary(kv => kv.Key, kv => kv.Value.contiguous().data<float>().ToArray());
        var trainer = _ml.MulticlassClassification.Trainers.FineTunedEncoder(
            EncoderClassifierConfig.FromSegmentation(SyntheticImages.TinyUNet, new ClassificationHeadConfig()), seg,
            new FineTuneSettings { Freeze = FreezeMode.WholeEncoder }, SyntheticImages.Quick(3));
        using var model = trainer.Fit(Train);
        var after = ((EncoderNetwork)model.Network).Encoder.state_dict();
        Assert.NotEmpty(before);
        foreach (var (name, values) in before) Assert.Equal(values, after[name].contiguous().data<float>().ToArray());
        var head = ((EncoderClassifier)model.Network).Head.Output.parameters().First().contiguous().data<float>().ToArray();
        Assert.Contains(head, v => v != 0);
    }

    [Theory]
    [InlineData(JointTopology.Simple)]
    [InlineData(JointTopology.YNet)]
    public void JointTrainingUsesRowsWithOnlyAMaskOrOnlyALabel(JointTopology topology)
    {
        var data = _ml.Data.LoadFromEnumerable(SyntheticImages.Disks(48, 1, partial: true));
        var trainer = _ml.MulticlassClassification.Trainers.JointSegmentationClassifier(topology, classificationWeight: 1.0, unet: SyntheticImages.TinyUNet, training: SyntheticImages.Quick(8));
        using var model = trainer.Fit(data);
        AssertLearned(trainer.LastHistory);
        var scored = model.Transform(Test);
        var accuracy = Accuracy(scored);
        Assert.True(accuracy > 0.6, $"accuracy {accuracy}");
        Assert.Equal(new[] { 16, 16 }, scored.GetColumn<LabelMap>(DefaultColumnNames.PredictedMask).First().Shape);
    }

    [Fact]
    public void JointLossSendsGradientsIntoBothHeads()
    {
        using var network = new SimpleJointNet(new SimpleJointConfig { UNet = SyntheticImages.TinyUNet, NumClasses = 2 });
        var samples = TrainingSamples.Read(Train, "Image", "Mask", "Label", null, "test").Take(4).ToList();
        using var output = network.ForwardJoint(TrainingBatches.Images(samples));
        using var seg = SegmentationLosses.DiceCrossEntropy(output.SegmentationLogits, TrainingBatches.Masks(samples));
        using var cls = TorchSharp.torch.nn.functional.cross_entropy(output.ClassLogits, TrainingBatches.Labels(samples));
        using var total = seg + cls;
        total.backward();
        double GradNorm(TorchSharp.torch.nn.Module m) => m.parameters().Sum(p => p.grad is { } g ? g.abs().sum().ToDouble() : 0);
        Assert.True(GradNorm(network.SegmentationHead) > 0, "no gradient in the segmentation head");
        Assert.True(GradNorm(network.Classifier) > 0, "no gradient in the classification head");
        Assert.True(GradNorm(network.Encoder) > 0, "no gradient in the shared encoder");
    }
}
