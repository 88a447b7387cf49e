using Microsoft.ML;
using MlNetMedical;
using MlNetMedical.Models;
using MlNetMedical.Training;

// Data written by: ./mlnm datasets make cardiac-level-2d --out data/cardiac
var ml = new MLContext(seed: 1);
var data = ml.Data.LoadFromManifest(args.Length > 0 ? args[0] : "data/cardiac/manifest.csv");

// 1. Pretrain a small 2D U-Net on the slices that have masks (epochs, ETA and Dice print to the console as it trains).
var unet = new UNetConfig { Encoder = new UNetEncoderConfig { SpatialDims = 2, Depth = 4, BaseChannels = 8 }, NumClasses = 4 };
var segmentation = ml.Segmentation.Trainers.UNet(unet, new TrainingOptions { Epochs = 12, LearningRate = 3e-3, EarlyStoppingPatience = 4 })
    .Fit(ml.Data.FilterBySplit(data, "pretrain"));

// 2. Its frozen encoder as a feature transformer, then stock ML.NET: scaling and a maximum-entropy classifier.
var pipeline = ml.Transforms.SegmentationEncoderFeatures(segmentation, levels: [-1, -2], pooling: PoolingKind.AverageMax)
    .Append(ml.Transforms.NormalizeMinMax("Features"))
    .AppendCacheCheckpoint(ml)
    .Append(ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy());
var model = pipeline.Fit(ml.Data.FilterBySplit(data, "train"));

// 3. ML.NET's evaluation on the test slices, then one file with the networks and ML.NET's stages.
var metrics = ml.MulticlassClassification.Evaluate(model.Transform(ml.Data.FilterBySplit(data, "test")));
Console.WriteLine($"test accuracy {metrics.MicroAccuracy:F3}, macro accuracy {metrics.MacroAccuracy:F3}");
Console.WriteLine(metrics.ConfusionMatrix.GetFormattedConfusionTable());
ml.Model.SaveMedical(model, data.Schema, "cardiac.zip");
