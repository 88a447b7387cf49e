using MlNetMedical.Data;
using MlNetMedical.Imaging;

namespace MlNetMedical.Training;

/// <summary>
/// One training example held in memory: the image as channels-first float voxels (<see cref="Shape"/> = C, spatial…),
/// an optional per-voxel class mask (spatial shape), an optional class index (−1 = no label) and a group key
/// (patient) used to keep groups on one side of the validation split.
/// </summary>
public sealed record TrainingSample(float[] Image, long[] Shape, long[]? Mask, int Label, string Group)
{
    /// <summary>Whether the sample carries an image-level label.</summary>
    public bool HasLabel => Label >= 0;

    /// <summary>Whether the sample carries a mask.</summary>
    public bool HasMask => Mask is not null;
}

/// <summary>Returns an augmented copy of a sample (the training loop's augmentation hook); must only use <paramref name="random"/> for randomness.</summary>
public delegate TrainingSample SampleAugmenter(TrainingSample sample, Random random);

/// <summary>Reads image, mask, label and group columns of a data view into <see cref="TrainingSample"/>s.</summary>
public static class TrainingSamples
{
    /// <summary>
    /// Reads every row. <paramref name="imageColumnName"/> holds imaging-layer <see cref="Volume"/>s or float vectors;
    /// <paramref name="maskColumnName"/> (optional) <see cref="LabelMap"/>s or <see cref="Volume"/>s (null value = no mask);
    /// <paramref name="labelColumnName"/> (optional) a key column (0 = no label).
    /// </summary>
    public static IReadOnlyList<TrainingSample> Read(IDataView data, string imageColumnName, string? maskColumnName, string? labelColumnName,
        string? groupColumnName, string stage)
    {
        ArgumentNullException.ThrowIfNull(data);
        var columns = new List<DataViewSchema.Column> { Column(data, imageColumnName, stage) };
        if (maskColumnName is not null) columns.Add(Column(data, maskColumnName, stage));
        if (labelColumnName is not null) columns.Add(Column(data, labelColumnName, stage));
        if (groupColumnName is not null) columns.Add(Column(data, groupColumnName, stage));
        var result = new List<TrainingSample>();
        using var cursor = data.GetRowCursor(columns.DistinctBy(c => c.Name));
        var image = cursor.GetClrGetter(data.Schema[imageColumnName]);
        var mask = maskColumnName is null ? null : cursor.GetClrGetter(data.Schema[maskColumnName]);
        var label = labelColumnName is null ? null : cursor.GetClrGetter(data.Schema[labelColumnName]);
        var group = groupColumnName is null ? null : cursor.GetClrGetter(data.Schema[groupColumnName]);
        while (cursor.MoveNext())
        {
            var row = cursor.Position;
            var (voxels, shape) = ImageValue(image(), imageColumnName, row, stage);
            var maskValue = mask is null ? null : MaskValue(mask(), maskColumnName!, shape, row, stage);
            var key = label?.Invoke() switch { null => 0u, uint k => k, var v => throw new InvalidOperationException($"{stage}: label column '{labelColumnName}' holds {v.GetType().Name}, expected a key (uint)") };
            var groupKey = group?.Invoke()?.ToString() ?? $"row{row}";
            result.Add(new TrainingSample(voxels, shape, maskValue, (int)key - 1, groupKey));
        }
        return result;
    }

    /// <summary>
    /// The rows a trainer learns from. A classifier (<paramref name="usesMask"/> false) leaves out the rows whose label is missing
    /// (key 0; they would reach the loss as class −1), with their count in <paramref name="log"/> (the context's
    /// <c>ml.Medical().WriteLog</c>); no labelled row left is an error naming the label column. A joint trainer keeps every row:
    /// its classification loss reads the labelled rows only and its segmentation loss the rows with a mask, so a row with a mask
    /// but no label still trains the segmentation head; the log counts them.
    /// </summary>
    public static IReadOnlyList<TrainingSample> Trainable(IReadOnlyList<TrainingSample> samples, bool usesMask, string labelColumnName, string stage,
        Action<LogKind, string>? log)
    {
        ArgumentNullException.ThrowIfNull(samples);
        int unlabelled = samples.Count(s => !s.HasLabel);
        if (unlabelled == 0) return samples;
        if (usesMask)
        {
            int maskOnly = samples.Count(s => !s.HasLabel && s.HasMask);
            log?.Invoke(LogKind.Info, $"{unlabelled} of {samples.Count} rows have no label (column '{labelColumnName}', key 0 = missing): " +
                                      $"{maskOnly} with a mask train the segmentation loss only, {unlabelled - maskOnly} without one train nothing");
            return samples;
        }
        if (unlabelled == samples.Count)
            throw new InvalidOperationException($"{stage}: all {samples.Count} training rows have no label (column '{labelColumnName}' is the missing key 0 in every row)");
        log?.Invoke(LogKind.Warning, $"{unlabelled} of {samples.Count} rows have no label (column '{labelColumnName}', key 0 = missing) and are left out of training");
        return samples.Where(s => s.HasLabel).ToList();
    }

    private static DataViewSchema.Column Column(IDataView data, string name, string stage) =>
        data.Schema.GetColumnOrNull(name) ?? throw new InvalidOperationException($"{stage}: the data has no column '{name}'; columns: {data.Schema.Describe()}");

    /// <summary>Channels-first float voxels and their shape from a column value.</summary>
    public static (float[] Voxels, long[] Shape) ImageValue(object? value, string column, long row, string stage) => value switch
    {
        Volume v => VolumeVoxels(v),
        float[] f => (f, [f.Length]),
        null => throw new InvalidOperationException($"{stage}: image column '{column}' is empty at row {row}"),
        _ => throw new InvalidOperationException($"{stage}: image column '{column}' holds {value.GetType().Name} at row {row}, expected a Volume or float[]"),
    };

    private static (float[], long[]) VolumeVoxels(Volume v)
    {
        using var t = v.ToTensor(asFloat32: true);
        return (t.ToHostArray<float>(), t.shape);
    }

    private static long[]? MaskValue(object? value, string column, long[] imageShape, long row, string stage)
    {
        long[] labels;
        long[] shape;
        switch (value)
        {
            case null: return null;
            case LabelMap m:
                labels = m.Labels.Select(l => (long)l).ToArray();
                shape = m.Shape.Select(s => (long)s).ToArray();
                break;
            case Volume v:
                using (var t = v.ToTensor(asFloat32: true))
                {
                    labels = t.ToHostArray<float>().Select(x => (long)Math.Round(x)).ToArray();
                    shape = t.shape[1..];
                }
                break;
            default:
                throw new InvalidOperationException($"{stage}: mask column '{column}' holds {value.GetType().Name} at row {row}, expected a LabelMap or Volume");
        }
        if (!shape.SequenceEqual(imageShape[1..]))
            throw new InvalidOperationException($"{stage}: mask column '{column}' at row {row} has shape [{string.Join(", ", shape)}], the image's spatial shape is [{string.Join(", ", imageShape[1..])}]");
        return labels;
    }
}
