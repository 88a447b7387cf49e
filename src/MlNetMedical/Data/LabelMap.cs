namespace MlNetMedical.Data;

/// <summary>
/// A 2D or 3D integer label map (0 = background, 1.. = classes) with voxel spacing: the mask value type the
/// core library understands. Voxels are stored row-major: the last axis varies fastest, and
/// <see cref="Spacing"/>[d] is the physical size (e.g. mm) of one step along axis d of <see cref="Shape"/>.
/// The imaging layer's volume type plugs in through <see cref="MaskConverters"/>.
/// </summary>
public sealed class LabelMap
{
    /// <summary>Creates a label map; <paramref name="spacing"/> defaults to 1 on every axis.</summary>
    public LabelMap(int[] shape, int[] labels, double[]? spacing = null)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(labels);
        if (shape.Length is < 2 or > 3)
            throw new ArgumentException($"shape must have 2 or 3 axes, got {shape.Length}", nameof(shape));
        long count = 1;
        foreach (var s in shape)
        {
            if (s < 1) throw new ArgumentException($"shape [{string.Join(", ", shape)}] has an axis < 1", nameof(shape));
            count *= s;
        }
        if (labels.Length != count)
            throw new ArgumentException($"labels has {labels.Length} voxels but shape [{string.Join(", ", shape)}] needs {count}", nameof(labels));
        spacing ??= Enumerable.Repeat(1.0, shape.Length).ToArray();
        if (spacing.Length != shape.Length)
            throw new ArgumentException($"spacing has {spacing.Length} axes but shape has {shape.Length}", nameof(spacing));
        foreach (var s in spacing)
            if (!(s > 0) || !double.IsFinite(s))
                throw new ArgumentException($"spacing [{string.Join(", ", spacing)}] must be finite and > 0", nameof(spacing));
        foreach (var v in labels)
            if (v < 0) throw new ArgumentException($"labels must be ≥ 0, found {v}", nameof(labels));
        Shape = (int[])shape.Clone();
        Spacing = (double[])spacing.Clone();
        Labels = labels;
    }

    /// <summary>Size of each axis, slowest first.</summary>
    public IReadOnlyList<int> Shape { get; }

    /// <summary>Physical voxel size along each axis of <see cref="Shape"/>.</summary>
    public IReadOnlyList<double> Spacing { get; }

    /// <summary>Voxel labels, row-major. Treat as read-only.</summary>
    public int[] Labels { get; }

    /// <summary>Number of spatial axes (2 or 3).</summary>
    public int SpatialDims => Shape.Count;

    /// <summary>Largest label present (0 for an empty map).</summary>
    public int MaxLabel => Labels.Length == 0 ? 0 : Labels.Max();
}
