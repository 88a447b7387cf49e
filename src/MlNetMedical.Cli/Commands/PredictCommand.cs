using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using MlNetMedical.Catalogs;
using MlNetMedical.Cli.Inputs;
using MlNetMedical.Data;
using MlNetMedical.Imaging;
using MlNetMedical.Imaging.Formats;
using MlNetMedical.Imaging.Preprocessing;

namespace MlNetMedical.Cli.Commands;

/// <summary>`mlnm predict --model M.zip --input FILE|DIR [--series UID] [--threads N] [--json] [--out DIR]`: class, probabilities and (for
/// segmenting models) a NIfTI mask per image.</summary>
public sealed class PredictCommand : ICliCommand
{
    public const string DefaultOutputFolder = "predictions";

    public Command Build(CliContext context)
    {
        var model = new Option<string>("--model") { HelpName = "M.zip", Description = "The model file (.zip from ml.Model.SaveMedical or mlnm run).", Required = true };
        var input = new Option<string>("--input")
        {
            HelpName = "FILE|DIR", Required = true,
            Description = "An image (.nii, .nii.gz, .hdr, .mha, .mhd, .png, DICOM), a folder of such images (one prediction each), "
                          + "or a DICOM series folder (files with the 'DICM' preamble, read as one volume).",
        };
        var output = CommonOptions.OutFolder("predicted masks, NAME_mask.nii.gz, on the input image's voxel grid with its affine", DefaultOutputFolder);
        var series = CommonOptions.Series();
        var threads = CommonOptions.Threads("Torch threads for inference");
        var preprocessing = new Option<string?>("--preprocessing")
        {
            HelpName = "chain.json",
            Description = "Transform chain JSON applied to each image before the model, instead of the chain recorded in the model file "
                          + "(default: the recorded one); masks are mapped back to the input grid.",
        };
        var json = new Option<bool>("--json") { Description = "Print one JSON object per input (JSON Lines) on stdout instead of text." };
        var command = new Command("predict", "Predict the class and per-class probabilities of images and, for segmentation or joint models, write the predicted mask as NIfTI.")
        {
            model, input, series, output, preprocessing, threads, json,
        }.WithExamples(
            "mlnm predict --model out/fine-tune.zip --input scan.nii.gz",
            "mlnm predict --model out/joint.zip --input scans/ --out masks/ --json",
            "mlnm predict --model brain.zip --input dicom/series-001/ --preprocessing chain.json",
            "mlnm predict --model brain.zip --input dicom/study/ --series 1.2.840.113619.2.55.3.604688119");
        command.SetAction(parse =>
        {
            var asJson = parse.GetValue(json);
            foreach (var p in Predict(parse.GetValue(model)!, parse.GetValue(input)!, parse.GetValue(output) ?? DefaultOutputFolder, parse.GetValue(preprocessing),
                         parse.GetValue(series), parse.GetValue(threads)))
            {
                if (asJson) context.Output.WriteLine(JsonSerializer.Serialize(p, JsonOptions));
                else p.WriteText(context.Output);
                context.Output.Flush();
            }
            return ExitCodes.Success;
        });
        return command;
    }

    internal static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>Predicts every image of <paramref name="inputPath"/>, lazily (one result per input, in name order); from a DICOM folder
    /// with several series, the series <paramref name="seriesInstanceUid"/>.</summary>
    public static IEnumerable<ImagePrediction> Predict(string modelPath, string inputPath, string outputFolder, string? preprocessingPath,
        string? seriesInstanceUid = null, int? threads = null)
    {
        var ml = InferenceContext(threads);
        var model = SavedModel.Open(ml, modelPath, preprocessingPath);
        var inputs = ImageInputs.Discover(inputPath);
        if (seriesInstanceUid is not null && inputs.Any(i => i.Kind != ImageInputs.DicomSeries))
            throw new CliUserException($"--series picks a series in a DICOM folder, and '{inputPath}' is not one");
        var outputs = model.Outputs(ml.Data.LoadFromEnumerable(Array.Empty<ImageRow>()).Schema, "an image given to mlnm predict (column 'Image')");
        foreach (var input in inputs)
        {
            var prediction = PredictOne(ml, model, outputs, input, outputFolder, seriesInstanceUid);
            prediction.Preprocessing = model.PreprocessingSource;
            yield return prediction;
        }
    }

    private static ImagePrediction PredictOne(MLContext ml, SavedModel model, ModelOutputs outputs, ImageInput input, string outputFolder, string? series)
    {
        var original = input.Read(series);
        var image = Preprocess(model.Preprocessing, input, original);
        var scored = model.Model.Transform(ml.Data.LoadFromEnumerable([new ImageRow { Image = image }]));
        string[] columns = [.. outputs.Classifies ? new[] { DefaultColumnNames.Score } : [], .. outputs.Segments ? new[] { DefaultColumnNames.PredictedMask } : []];
        var (probabilities, mask) = model.Apply(() =>
        {
            using var cursor = scored.GetRowCursor(columns.Select(c => scored.Schema[c]));
            cursor.MoveNext();
            return (outputs.Classifies ? cursor.VectorGetter(DefaultColumnNames.Score)() : null,
                    outputs.Segments ? cursor.Getter<LabelMap>(DefaultColumnNames.PredictedMask)() : null);
        }, () => $"'{input.Path}' ({image}, tensor shape [{string.Join(", ", image.TensorShape())}])");

        var result = new ImagePrediction
        {
            Input = input.Path, Format = ImageInputs.FormatOf(input),
            Shape = original.Shape, Spacing = original.Spacing.Take(original.SpatialRank).ToArray(),
        };
        if (probabilities is not null)
        {
            var best = 0;
            for (var c = 1; c < probabilities.Length; c++) if (probabilities[c] > probabilities[best]) best = c;
            result.PredictedLabel = outputs.ClassNames![best];
            result.Probabilities = outputs.ClassNames.Select((name, c) => (name, c)).ToDictionary(p => p.name, p => (double)probabilities[p.c]);
        }
        if (mask is not null)
        {
            // The network predicts on the (preprocessed) image's grid; the mask is mapped back onto the input's grid.
            var onInput = MaskVolumes.OntoGrid(MaskVolumes.ToVolume(mask, image), original);
            var path = Path.Combine(outputFolder, input.Name + "_mask.nii.gz");
            try { AtomicFile.Write(path, temporary => Nifti.Write(onInput, temporary)); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new CliUserException($"cannot write mask '{path}': {e.Message}"); }
            result.Mask = path;
            result.MaskShape = onInput.Shape;
            result.MaskLabels = onInput.ToFloatArray().Select(v => (int)v).Distinct().Order().ToArray();
        }
        return result;
    }

    /// <summary>The context `predict` and `evaluate` run models in: the thread budget; no seed (inference draws nothing).</summary>
    internal static MLContext InferenceContext(int? threads)
    {
        var ml = new MLContext();
        ml.Medical().Threads = threads;
        return ml;
    }

    private static Volume Preprocess(TransformChain? chain, ImageInput input, Volume volume)
    {
        if (chain is null) return volume;
        try { return chain.Apply(new Sample(input.Name, volume)).Image; }
        catch (Exception e) when (e is ImageFormatException or ArgumentException or InvalidOperationException)
        {
            throw new CliUserException($"preprocessing failed on '{input.Path}' ({volume}): {e.Message}");
        }
    }

    /// <summary>The one column mlnm predict feeds the model.</summary>
    private sealed class ImageRow
    {
        [VolumeColumn(VolumeKind.Image)] public Volume Image { get; init; } = null!;
    }
}

/// <summary>One input's prediction, as `mlnm predict` prints it.</summary>
public sealed class ImagePrediction
{
    public string Input { get; set; } = "";
    public string Format { get; set; } = "";
    /// <summary>Image shape in file index order (i, j, k, then channels).</summary>
    public int[] Shape { get; set; } = [];
    public double[] Spacing { get; set; } = [];
    /// <summary>Where the preprocessing applied before the model came from: the --preprocessing file, "model" (recorded in the model file), or null for none.</summary>
    public string? Preprocessing { get; set; }
    public string? PredictedLabel { get; set; }
    /// <summary>Per-class probability, in the model's class order.</summary>
    public Dictionary<string, double>? Probabilities { get; set; }
    /// <summary>The NIfTI mask written (on the input's grid, with its affine), null for a classifier.</summary>
    public string? Mask { get; set; }
    public int[]? MaskShape { get; set; }
    /// <summary>Label values present in the mask.</summary>
    public int[]? MaskLabels { get; set; }

    public void WriteText(TextWriter w)
    {
        static string F(double v) => v.ToString("0.000", CultureInfo.InvariantCulture);
        w.WriteLine($"input   {Input} ({Format}, [{string.Join(", ", Shape)}], spacing {string.Join(" x ", Spacing.Select(s => s.ToString("G4", CultureInfo.InvariantCulture)))})");
        if (Preprocessing is not null) w.WriteLine($"preproc {SavedModel.DescribePreprocessing(Preprocessing)}");
        if (PredictedLabel is not null)
        {
            w.WriteLine($"class   {PredictedLabel} (p = {F(Probabilities![PredictedLabel])})");
            w.WriteLine($"        {string.Join(", ", Probabilities.Select(p => $"{p.Key} {F(p.Value)}"))}");
        }
        if (Mask is not null)
            w.WriteLine($"mask    {Mask} ([{string.Join(", ", MaskShape!)}], labels {string.Join(", ", MaskLabels!)}; the input's grid and affine)");
    }
}
