using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using MlNetMedical.Cli.Inputs;
using MlNetMedical.Models;

namespace MlNetMedical.Cli.Commands;

/// <summary>`mlnm export --model M.zip --onnx OUT.onnx [--size IxJ[xK]] [--preprocessing chain.json] [--encoder-levels] [--json]`: the
/// model's network as an ONNX file (ml.Model.ExportMedicalToOnnx) for ML.NET's ApplyOnnxModel or any ONNX Runtime.</summary>
public sealed class ExportCommand : ICliCommand
{
    public Command Build(CliContext context)
    {
        var model = new Option<string>("--model") { HelpName = "M.zip", Description = "The model file (.zip from ml.Model.SaveMedical or mlnm run).", Required = true };
        var onnx = new Option<string>("--onnx")
        {
            HelpName = "OUT.onnx", Required = true,
            Description = "The ONNX file to write (IR 8, opset 17, dynamic batch); written whole through a temporary file, replacing an existing one.",
        };
        var size = new Option<string?>("--size")
        {
            HelpName = "IxJ[xK]",
            Description = "Spatial size of the network's input in the image's index order (i first, as PadOrCrop's Size), e.g. 64x64 or 96x96x64 "
                          + "(default: the size the recorded preprocessing fixes: its last Resample with Shape or PadOrCrop).",
        };
        var preprocessing = new Option<string?>("--preprocessing")
        {
            HelpName = "chain.json",
            Description = "Transform chain JSON to record in the file (and to take the size from) instead of the chain recorded in the model file.",
        };
        var levels = new Option<bool>("--encoder-levels") { Description = "Export the encoder's feature maps (outputs level0..levelN) instead of the network's outputs." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object describing the file on stdout instead of text." };
        var command = new Command("export", """
            Export a saved model's network to ONNX: classifiers (fine-tuned, scratch, frozen features with the Mlp head) give 'logits' and
            'probabilities', U-Nets 'mask_logits', joint networks all three, a frozen feature stage 'features'. The input is 'image',
            float32 (batch, channels, spatial...) with the spatial axes reversed (k, j, i). The file's metadata holds the class names,
            the input's layout and the preprocessing to apply first. Run it with ML.NET's ApplyOnnxModel or ONNX Runtime, no TorchSharp needed.
            """) { model, onnx, size, preprocessing, levels, json }
            .WithExamples(
                "mlnm export --model runs/cardiac/models/fine-tune.zip --onnx cardiac.onnx",
                "mlnm export --model brain.zip --onnx brain.onnx --size 96x96x64",
                "mlnm export --model unet.zip --onnx encoder.onnx --encoder-levels --json");
        command.SetAction(parse =>
        {
            var summary = Export(parse.GetValue(model)!, parse.GetValue(onnx)!, parse.GetValue(size), parse.GetValue(preprocessing), parse.GetValue(levels));
            if (parse.GetValue(json)) context.Output.WriteLine(JsonSerializer.Serialize(summary, PredictCommand.JsonOptions));
            else
            {
                context.Output.WriteLine($"wrote {summary.Path}");
                context.Output.WriteLine($"network  {summary.Network}");
                context.Output.WriteLine($"input    {summary.Input}");
                context.Output.WriteLine($"outputs  {string.Join(", ", summary.Outputs)}");
                if (summary.ClassNames is { } names) context.Output.WriteLine($"classes  {string.Join(", ", names)}");
                context.Output.WriteLine($"preprocessing  {(summary.Preprocessing is null ? "none recorded" : "recorded in the file's metadata ('preprocessing')")}");
                if (summary.Note is { } note) context.Output.WriteLine($"note     {note}");
            }
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>Exports <paramref name="modelPath"/>'s network; every problem the user can fix is a <see cref="CliUserException"/> naming the file or option.</summary>
    public static OnnxExportSummary Export(string modelPath, string onnxPath, string? size, string? preprocessingPath, bool encoderLevels)
    {
        var indexSize = size is null ? null : ParseSize(size);
        if (Directory.Exists(onnxPath)) throw new CliUserException($"--onnx '{onnxPath}' is a folder; give the .onnx file to write");
        var ml = PredictCommand.InferenceContext(null);
        var saved = SavedModel.Open(ml, modelPath, preprocessingPath);
        try
        {
            return ml.Model.ExportMedicalToOnnx(saved.Model, onnxPath, inputSize: indexSize, preprocessing: saved.Preprocessing,
                output: encoderLevels ? OnnxExportOutput.EncoderLevels : null);
        }
        catch (OnnxExportException e)
        {
            throw new CliUserException($"cannot export '{modelPath}': {e.Message}");
        }
        catch (ArgumentException e)
        {
            var message = (e.ParamName is null ? e.Message : e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal))
                .Replace("inputSize", "--size", StringComparison.Ordinal);
            throw new CliUserException($"cannot export '{modelPath}': {message}");
        }
    }

    /// <summary>"64x64", "64,64" or "96x96x64": positive sizes, i first.</summary>
    internal static int[] ParseSize(string text)
    {
        var parts = text.Split(['x', 'X', ','], StringSplitOptions.TrimEntries);
        var values = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out values[i]) || values[i] < 1)
                throw new CliUserException($"--size '{text}' is not a size: give 2 or 3 positive integers, i first, as 64x64 or 96x96x64");
        if (values.Length is < 1 or > 3) throw new CliUserException($"--size '{text}' has {values.Length} values; give 2 (images) or 3 (volumes)");
        return values;
    }
}
