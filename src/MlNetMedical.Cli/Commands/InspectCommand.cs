using System.CommandLine;
using System.Globalization;
using MlNetMedical.Imaging;

namespace MlNetMedical.Cli.Commands;

/// <summary>`mlnm inspect PATH [--json]`: shape, spacing, RAS+ affine, on-disk dtype and value statistics of an image file or DICOM series folder.</summary>
public sealed class InspectCommand : ICliCommand
{
    public Command Build(CliContext context)
    {
        var path = new Argument<string>("PATH") { Description = "An image file (.nii, .nii.gz, .hdr, .mha, .mhd, .png, DICOM) or a DICOM series folder." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object on stdout instead of text." };
        var series = CommonOptions.Series();
        var command = new Command("inspect", "Show shape, spacing, affine, dtype and statistics of a medical image.") { path, json, series }
            .WithExamples("mlnm inspect scan.nii.gz", "mlnm inspect dicom/series-001/ --json", "mlnm inspect dicom/study/ --series 1.2.840.113619.2.55.3.604688119");
        command.SetAction(parse =>
        {
            context.Output.WriteLine(Run(parse.GetValue(path)!, parse.GetValue(json), parse.GetValue(series)));
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>The text the command prints; bad input becomes a <see cref="CliUserException"/> (exit code 1).</summary>
    public static string Run(string path, bool json, string? seriesInstanceUid = null)
    {
        ImageInspection result;
        try { result = ImageInspector.Inspect(path, new ReadOptions { SeriesInstanceUid = seriesInstanceUid }); }
        catch (Exception e) when (e is ImageFormatException or FileNotFoundException or DirectoryNotFoundException)
        {
            throw new CliUserException(e.Message);
        }
        if (json) return result.ToJson();
        string F(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
        var lines = new List<string>
        {
            $"path     {result.Path}",
            $"format   {result.Format}",
            $"shape    [{string.Join(", ", result.Shape)}]",
            $"spacing  [{string.Join(", ", result.Spacing.Select(F))}]",
            $"dtype    {result.DType}",
            $"min/max  {F(result.Min)} / {F(result.Max)}",
            $"mean     {F(result.Mean)}",
            $"sum      {F(result.Sum)}",
            $"affine   {result.Affine.OrientationCode()}",
        };
        for (int r = 0; r < 4; r++)
            lines.Add("         " + string.Join("  ", Enumerable.Range(0, 4).Select(c => F(result.Affine[r, c]).PadLeft(10))));
        if (result.NonFinite > 0) lines.Add($"warning  {result.NonFinite} NaN/Inf voxels were left out of the statistics");
        return string.Join(Environment.NewLine, lines);
    }
}
