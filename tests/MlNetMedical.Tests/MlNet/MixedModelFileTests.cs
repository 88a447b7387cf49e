using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMedical.Models;
using MlNetMedical.Tests.Trainers;
using MlNetMedical.Trainers;
using Xunit;

namespace MlNetMedical.Tests.MlNet;

/// <summary>
/// A fitted chain that mixes the framework's stages (encoder features, a fine-tuned network) with stock ML.NET stages saves to
/// one file with <c>ml.Model.SaveMedical</c> and loads in a fresh process with bit-identical predictions.
/// </summary>
[Collection("Torch")]
public sealed class MixedModelFileTests
{
    internal const string WorkerCommand = "predict-saved";

    /// <summary>Loads <paramref name="path"/> in this process and prints every score and predicted diagnosis of the test rows, as bits.</summary>
    internal static string PredictSaved(string path)
    {
        var ml = new MLContext(seed: 9);
        var model = ml.Model.LoadMedical(path, out var schema);
        Assert.NotNull(schema);
        var scored = model.Transform(ml.Data.LoadFromEnumerable(ScanRow.Make(12, 2)));
        return Describe(scored);
    }

    private static string Describe(IDataView scored) => string.Join("\n",
        scored.GetColumn<float[]>("Score").Zip(scored.GetColumn<string>("PredictedDiagnosis"))
            .Select(p => string.Join(" ", p.First.Select(v => BitConverter.SingleToInt32Bits(v).ToString("X8"))) + " " + p.Second));

    private static string RunWorker(string path) => ChildProcess.Run(WorkerCommand, path);

    [Theory]
    [InlineData("features")]
    [InlineData("fine-tuned")]
    public void MixedChainLoadsInAFreshProcessWithIdenticalPredictions(string kind)
    {
        var ml = new MLContext(seed: 3);
        var train = ml.Data.LoadFromEnumerable(ScanRow.Make(32, 1));
        var quick = SyntheticImages.Quick(2);
        IEstimator<ITransformer> learner = kind == "features"
            ? ml.Transforms.SegmentationEncoderFeatures(
                    ml.Segmentation.Trainers.UNet(SyntheticImages.TinyUNet, quick).Fit(train), levels: [-1], outputColumnName: "Encoder")
                .Append(ml.Transforms.Concatenate("Features", "Encoder", "Age"))
                .Append(ml.Transforms.NormalizeMinMax("Features"))
                .Append(ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy())
            : ml.MulticlassClassification.Trainers.ImageCnn(EncoderClassifierConfig.PlainCnn(2, 1, 2, depth: 2, baseChannels: 4), quick);
        var model = ml.Transforms.Conversion.MapValueToKey("Label", "Diagnosis")
            .Append(learner)
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedDiagnosis", "PredictedLabel"))
            .Fit(train);
        var folder = Directory.CreateTempSubdirectory("mlnm-mixed-").FullName;
        try
        {
            var path = Path.Combine(folder, "model.zip");
            ml.Model.SaveMedical(model, train.Schema, path);
            var here = Describe(model.Transform(ml.Data.LoadFromEnumerable(ScanRow.Make(12, 2))));
            Assert.Equal(12, here.Split('\n').Length);
            Assert.Equal(here, RunWorker(path));
            Assert.Equal(here, PredictSaved(path));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
