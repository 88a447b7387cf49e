using System.Globalization;
using MlNetMedical.Catalogs;
using MlNetMedical.Data;
using MlNetMedical.Imaging.Preprocessing;
using MlNetMedical.Models;
using MlNetMedical.Trainers;

namespace MlNetMedical;

/// <summary>What <see cref="OnnxExportExtensions.ExportMedicalToOnnx"/> wrote.</summary>
/// <param name="Path">The ONNX file.</param>
/// <param name="Network">The exported network's class (<c>EncoderClassifier</c>, <c>UNet</c>, ...).</param>
/// <param name="Input">The input's name and shape, e.g. <c>image [batch, 1, 64, 64]</c>.</param>
/// <param name="Outputs">The graph's output names.</param>
/// <param name="ClassNames">The class names stored in the file (null for segmenters and feature extractors).</param>
/// <param name="Preprocessing">The preprocessing chain recorded in the file (JSON), or null when the model had none.</param>
/// <param name="Note">What the file does not contain (a stock ML.NET stage after the network), or null.</param>
public sealed record OnnxExportSummary(string Path, string Network, string Input, IReadOnlyList<string> Outputs, IReadOnlyList<string>? ClassNames,
    string? Preprocessing, string? Note);

/// <summary>
/// <c>ml.Model.ExportMedicalToOnnx(model, path)</c>: the network stage of a fitted model (or a model loaded with <c>LoadMedical</c>) as an
/// ONNX file that ML.NET's <c>ApplyOnnxModel</c> or any ONNX Runtime runs without TorchSharp (see the Models layer's
/// <see cref="OnnxExporter"/> for the graph).
/// </summary>
public static class OnnxExportExtensions
{
    /// <summary>
    /// Writes the last network stage of <paramref name="model"/> (a segmenter, classifier, joint network or frozen-encoder feature
    /// extractor; a framework MLP classifier that reads the features is written with it) to <paramref name="onnxPath"/>, whole. The
    /// file's metadata holds the class names, the input's layout and size, and the preprocessing chain applied before the network.
    /// </summary>
    /// <param name="catalog">ML.NET's <c>ml.Model</c>.</param>
    /// <param name="model">A fitted model or chain holding an <see cref="ImageNetworkTransformer"/>.</param>
    /// <param name="onnxPath">The .onnx file to write.</param>
    /// <param name="inputSchema">The schema saved with the model (its image column's preprocessing annotation is recorded), or null.</param>
    /// <param name="inputSize">Spatial size of the input in the image's index order (i, j[, k]: as <c>PadOrCrop.Size</c>); default:
    /// the size the preprocessing fixes (the last <c>Resample</c> with <c>Shape</c> or <c>PadOrCrop</c>).</param>
    /// <param name="preprocessing">The preprocessing chain to record, in place of the schema's.</param>
    /// <param name="output">What the graph computes; default: the stage's own output (<see cref="OnnxExportOutput.PooledFeatures"/> for
    /// a feature extractor, else <see cref="OnnxExportOutput.Network"/>).</param>
    /// <exception cref="OnnxExportException">The network holds a layer the exporter does not know (the exception names it).</exception>
    public static OnnxExportSummary ExportMedicalToOnnx(this ModelOperationsCatalog catalog, ITransformer model, string onnxPath,
        DataViewSchema? inputSchema = null, IReadOnlyList<int>? inputSize = null, TransformChain? preprocessing = null, OnnxExportOutput? output = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrWhiteSpace(onnxPath);
        var stage = NetworkModel.All(model).LastOrDefault()
            ?? throw new ArgumentException($"the model ({model.GetType().Name}) has no network stage of this framework to export: it is made of ML.NET's " +
                                           "own components (the imagenet-features stage, for one, is ML.NET's ONNX featuriser plus a stock trainer), " +
                                           "and ml.Model.Save already writes it as a deployable ML.NET model", nameof(model));
        var network = stage.Network;
        var encoder = (network as EncoderNetwork)?.Encoder ?? throw new OnnxExportException($"cannot export a {network.GetType().Name}: it has no encoder", "", network.GetType().FullName);
        preprocessing ??= inputSchema is null ? null : PreprocessingAnnotation.Read(inputSchema, stage.ImageColumnName);

        var indexSize = inputSize?.ToArray() ?? FixedSize(preprocessing, encoder.SpatialDims)
            ?? throw new ArgumentException("the model records no preprocessing that fixes the image size (a Resample with Shape or a PadOrCrop as the " +
                                           $"last size-changing step); give {nameof(inputSize)} ({encoder.SpatialDims} values, i first)", nameof(inputSize));
        if (indexSize.Length != encoder.SpatialDims)
            throw new ArgumentException($"{nameof(inputSize)} has {indexSize.Length} value(s); the network takes {encoder.SpatialDims}D images", nameof(inputSize));
        var tensorSize = indexSize.Reverse().Select(s => (long)s).ToArray();

        var kind = output ?? (stage.Output == NetworkOutput.Features ? OnnxExportOutput.PooledFeatures : OnnxExportOutput.Network);
        if (stage.Output == NetworkOutput.Features && kind == OnnxExportOutput.Network)
            throw new ArgumentException("the model's network stage is a frozen-encoder feature extractor, whose head is a placeholder: " +
                                        "export its PooledFeatures (the default) or EncoderLevels", nameof(output));
        var vectorClassifier = kind == OnnxExportOutput.PooledFeatures && stage.Output == NetworkOutput.Features ? FollowingClassifier(model, stage) : null;
        var classNames = vectorClassifier?.ClassNames ?? (kind == OnnxExportOutput.Network ? stage.ClassNames : null);
        string? note = null;
        if (stage.Output == NetworkOutput.Features && vectorClassifier is null && kind == OnnxExportOutput.PooledFeatures)
            note = $"the file computes the '{stage.OutputColumnName}' feature vector; stages after it in the model are not part of it";

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["image_column"] = stage.ImageColumnName,
            ["preprocessing"] = preprocessing?.ToJson() ?? "",
            ["preprocessing_note"] = preprocessing is null
                ? "no preprocessing was recorded with the model: feed images as the network saw them in training"
                : "apply this MlNetMedical.Imaging TransformChain (JSON) to each image, then feed its voxels as float32 in input_layout's order",
            ["input_size_index_order"] = $"[{string.Join(", ", indexSize.Select(s => s.ToString(CultureInfo.InvariantCulture)))}]",
        };
        if (note is not null) metadata["note"] = note;
        OnnxExporter.Export(network, onnxPath, new OnnxExportOptions
        {
            InputSize = tensorSize,
            Output = kind,
            ClassNames = classNames,
            FeatureClassifier = vectorClassifier?.Network.ForOnnx(),
            Metadata = metadata,
        });
        var outputs = kind switch
        {
            OnnxExportOutput.EncoderLevels => Enumerable.Range(0, encoder.Levels).Select(l => $"level{l}").ToArray(),
            OnnxExportOutput.PooledFeatures => vectorClassifier is null ? ["features"] : ["logits", "probabilities"],
            _ => network switch
            {
                IJointNetwork => ["logits", "probabilities", "mask_logits"],
                ISegmentationNetwork => ["mask_logits"],
                _ => (string[])["logits", "probabilities"],
            },
        };
        try { CatalogSettings.Medical(catalog).WriteLog(LogKind.Info, "Model", $"exported {network.GetType().Name} to ONNX file {onnxPath}"); }
        catch (CatalogContextException) { }
        return new OnnxExportSummary(Path.GetFullPath(onnxPath), network.GetType().Name,
            $"image [batch, {encoder.InChannels}, {string.Join(", ", tensorSize)}]", outputs, classNames, preprocessing?.ToJson(), note);
    }

    /// <summary>The spatial size (index order, <paramref name="dims"/> values) that <paramref name="chain"/> gives every image, or null
    /// when it does not fix one: the last Resample with Shape or PadOrCrop, narrowed by later CenterCrops; steps that change the size
    /// by content or spacing (CropForeground, Resample with Spacing, ToCanonical's reorientation) after it leave it unknown.</summary>
    public static int[]? FixedSize(TransformChain? chain, int dims)
    {
        if (chain is null) return null;
        int[]? size = null;
        foreach (var step in chain.Transforms)
        {
            size = step switch
            {
                Resample { Shape: { } shape } when shape.Length >= dims => shape[..dims],
                Resample or CropForeground or ToCanonical => null,
                PadOrCrop { Size: { } s } when s.Length >= dims => s[..dims],
                PadOrCrop => null,
                CenterCrop { Size: { } c } when size is not null && c.Length >= dims => size.Zip(c, Math.Min).ToArray(),
                CenterCrop => null,
                _ => size,
            };
        }
        return size;
    }

    // A framework MLP classifier that reads the feature stage's output column, later in the same chain.
    private static VectorClassifierTransformer? FollowingClassifier(ITransformer model, ImageNetworkTransformer stage)
    {
        var all = Flatten(model).ToList();
        var at = all.IndexOf(stage);
        return all.Skip(at + 1).OfType<VectorClassifierTransformer>().FirstOrDefault(v => v.FeatureColumnName == stage.OutputColumnName);
    }

    private static IEnumerable<ITransformer> Flatten(ITransformer model) =>
        model is IEnumerable<ITransformer> chain ? chain.SelectMany(Flatten) : [model];
}
