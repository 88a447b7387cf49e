using MlNetMedical.Data;
using MlNetMedical.Imaging;

namespace MlNetMedical.Cli.Pipelines;

/// <summary>Imaging-layer <see cref="Volume"/> masks (the manifest's Mask column) as the metrics' <see cref="LabelMap"/>.</summary>
internal static class VolumeMasks
{
    /// <summary>Labels in tensor order (slowest axis first, as the network's predictions), spacing reordered to match.</summary>
    public static LabelMap ToLabelMap(Volume volume)
    {
        var size = volume.Size3;
        int rank = size[2] > 1 ? 3 : 2;
        var shape = rank == 3 ? new[] { size[2], size[1], size[0] } : [size[1], size[0]];
        var spacing = volume.Spacing.Take(rank).Reverse().ToArray();
        var labels = volume.ToDoubleArray().Take(shape.Aggregate(1, (a, b) => a * b)).Select(v => (int)Math.Round(v)).ToArray();
        return new LabelMap(shape, labels, spacing.Length == rank ? spacing : null);
    }
}
