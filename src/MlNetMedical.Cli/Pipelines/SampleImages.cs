using MlNetMedical.Cli.Reporting;
using MlNetMedical.Data;
using MlNetMedical.Imaging;
using MlNetMedical.Pipeline;

namespace MlNetMedical.Cli.Pipelines;

/// <summary>The report's sample images: the middle slice of the first test cases, with the true mask, the mask of the
/// best segmenting method and the class of the best classifying method.</summary>
internal static class SampleImages
{
    public static List<SampleImage> Collect(IReadOnlyList<(string Name, IDataView Scored, MethodResult Result)> methods, IDataView test, int count)
    {
        if (count == 0) return [];
        // The best of each kind, or a default (null name and rows) when no method has that kind of metric (e.g. an interrupted run).
        var segmenter = methods.Where(m => m.Result.Segmentation is not null).OrderByDescending(m => m.Result.Segmentation!.MeanDice).FirstOrDefault();
        var classifier = methods.Where(m => m.Result.Classification is not null).OrderByDescending(m => m.Result.Classification!.Accuracy).FirstOrDefault();
        var source = segmenter.Scored ?? test;
        var ids = source.GetColumn<string>("Id").Take(count).ToList();
        var images = source.GetColumn<Volume>(DefaultColumnNames.Image).Take(count).ToList();
        var masks = source.GetColumn<Volume?>(DefaultColumnNames.Mask).Take(count).ToList();
        var predictedMasks = segmenter.Scored is null ? null : segmenter.Scored.GetColumn<LabelMap>(DefaultColumnNames.PredictedMask).Take(count).ToList();
        IReadOnlyList<string>? labelNames = source.Schema[DefaultColumnNames.Label].Type is KeyDataViewType ? source.Schema[DefaultColumnNames.Label].ClassNames() : null;
        var labels = source.GetColumn<uint>(DefaultColumnNames.Label).Take(count).ToList();
        var predictedLabels = classifier.Scored?.GetColumn<uint>(DefaultColumnNames.PredictedLabel).Take(count).ToList();

        var samples = new List<SampleImage>();
        for (int i = 0; i < ids.Count; i++)
        {
            var size = images[i].Size3;
            int plane = size[0] * size[1], slice = size[2] / 2;
            samples.Add(new SampleImage
            {
                Id = ids[i],
                Width = size[0],
                Height = size[1],
                Pixels = images[i].ToFloatArray().AsSpan(slice * plane, plane).ToArray(),
                TrueMask = masks[i] is { } mask ? mask.ToDoubleArray().AsSpan(slice * plane, plane).ToArray().Select(v => (byte)v).ToArray() : null,
                PredictedMask = predictedMasks?[i].Labels.AsSpan(slice * plane, plane).ToArray().Select(v => (byte)v).ToArray(),
                TrueLabel = Name(labelNames, labels[i]),
                PredictedLabel = predictedLabels is null ? null : Name(labelNames, predictedLabels[i]),
                Method = string.Join(" / ", new[] { segmenter.Name, classifier.Name }.Where(n => n is not null).Distinct()),
            });
        }
        return samples;
    }

    private static string? Name(IReadOnlyList<string>? names, uint key) =>
        key == 0 || names is null || key > names.Count ? null : names[(int)key - 1];
}
