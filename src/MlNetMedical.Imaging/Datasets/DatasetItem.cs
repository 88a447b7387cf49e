using MlNetMedical.Imaging.Preprocessing;

namespace MlNetMedical.Imaging.Datasets;

/// <summary>
/// One case of a dataset: one or more image files (several are stacked as channels, e.g. BraTS
/// modalities), an optional label map, class label, group (patient) and split.
/// </summary>
public sealed record DatasetItem(string Id, IReadOnlyList<string> Images, string? Mask = null, string? ClassLabel = null, string? Group = null, string? Split = null)
{
    /// <summary>The grouping key for splits: <see cref="Group"/>, or the id when there is none.</summary>
    public string GroupKey => Group ?? Id;

    /// <summary>Reads the images (stacked as channels, geometry checked), the label map, and applies <paramref name="chain"/>.</summary>
    public Sample Load(TransformChain? chain = null, ReadOptions? options = null)
    {
        var volumes = Images.Select(p => ImageIO.Read(p, options)).ToList();
        var image = volumes.Count == 1 ? volumes[0] : StackChannels(volumes);
        Volume? label = Mask is null ? null : ImageIO.Read(Mask, options);
        if (label != null) Geometry.EnsureSame(image, label);
        var sample = new Sample(Id, image, label, ClassLabel);
        if (Group != null) sample.Metadata["group"] = Group;
        return chain?.Apply(sample) ?? sample;
    }

    /// <summary>Stacks single-channel volumes of one geometry into channels (float32, scaled values).</summary>
    public static Volume StackChannels(IReadOnlyList<Volume> volumes)
    {
        var first = volumes[0];
        foreach (var v in volumes.Skip(1)) Geometry.EnsureSame(first, v);
        if (volumes.Any(v => v.Channels != 1))
            throw new ImageFormatException(volumes.First(v => v.Channels != 1).SourcePath ?? "(in memory)", "only single-channel images can be stacked as modalities");
        long n = first.VoxelCount;
        var data = new float[n * volumes.Count];
        for (int c = 0; c < volumes.Count; c++) volumes[c].ToFloatArray().CopyTo(data, c * n);
        var shape = first.Shape.Take(first.SpatialRank).Append(volumes.Count).ToArray();
        var stacked = Volume.Create<float>(data, shape, first.Affine, first.SpatialRank);
        stacked.SourcePath = first.SourcePath;
        return stacked;
    }
}
