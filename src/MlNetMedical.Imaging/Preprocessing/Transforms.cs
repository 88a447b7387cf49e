using System.Text.Json.Serialization;

namespace MlNetMedical.Imaging.Preprocessing;

/// <summary>
/// A deterministic preprocessing step on a <see cref="Sample"/>. Each is a record whose properties are its
/// whole configuration, so a <see cref="TransformChain"/> serializes to JSON and is re-applied at prediction time.
/// Images are worked on as float32; label maps keep their integer type and are resampled nearest.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(ToCanonical), "to_canonical")]
[JsonDerivedType(typeof(Resample), "resample")]
[JsonDerivedType(typeof(CropForeground), "crop_foreground")]
[JsonDerivedType(typeof(PadOrCrop), "pad_or_crop")]
[JsonDerivedType(typeof(CenterCrop), "center_crop")]
[JsonDerivedType(typeof(ZScore), "zscore")]
[JsonDerivedType(typeof(PercentileClip), "percentile_clip")]
[JsonDerivedType(typeof(CtWindow), "ct_window")]
[JsonDerivedType(typeof(RemapLabels), "remap_labels")]
[JsonDerivedType(typeof(OneHot), "one_hot")]
public abstract record VolumeTransform
{
    public abstract Sample Apply(Sample sample);

    /// <summary>Runs <paramref name="spatial"/> on the image and (as labels) on the label map.</summary>
    private protected static Sample Spatial(Sample s, Func<Grid, bool, Grid> spatial)
    {
        var image = spatial(Grid.From(s.Image), false).ToVolume(s.Image);
        Volume? label = null;
        if (s.Label is { } l) label = spatial(Grid.From(l), true).ToVolume(l, Grid.LabelType(l));
        return s with { Image = image, Label = label };
    }

    private protected static Sample Intensity(Sample s, Action<Grid, Grid?> act)
    {
        var g = Grid.From(s.Image);
        var label = s.Label is null ? null : Grid.From(s.Label);
        act(g, label);
        return s with { Image = g.ToVolume(s.Image) };
    }
}

/// <summary>Reorients to RAS+ (index axes increase toward right, anterior, superior) by permuting and flipping axes; no interpolation.</summary>
public sealed record ToCanonical : VolumeTransform
{
    public override Sample Apply(Sample sample) => Spatial(sample, (g, _) => Reorient(g));

    internal static Grid Reorient(Grid g)
    {
        var orient = g.Affine.Orientation();
        int[] size = [g.X, g.Y, g.Z];
        var perm = new int[3];
        for (int a = 0; a < 3; a++) perm[orient[a].WorldAxis] = a;
        // A 2D grid must keep its singleton third axis last.
        if (g.SpatialRank < 3 && perm[2] != 2) return g;
        bool identity = perm[0] == 0 && perm[1] == 1 && perm[2] == 2 && orient.All(o => !o.Flipped);
        if (identity) return g;
        var n = new Grid(size[perm[0]], size[perm[1]], size[perm[2]], g.C, g.SpatialRank, g.Affine);
        var m = new double[16];
        m[15] = 1;
        for (int w = 0; w < 3; w++)
        {
            int a = perm[w];
            bool flip = orient[a].Flipped;
            m[a * 4 + w] = flip ? -1 : 1;
            m[a * 4 + 3] = flip ? size[a] - 1 : 0;
        }
        n.Affine = g.Affine * new Affine(m);
        var old = new int[3];
        for (int c = 0; c < g.C; c++)
            for (int k = 0; k < n.Z; k++)
                for (int j = 0; j < n.Y; j++)
                    for (int i = 0; i < n.X; i++)
                    {
                        int[] idx = [i, j, k];
                        for (int w = 0; w < 3; w++) { int a = perm[w]; old[a] = orient[a].Flipped ? size[a] - 1 - idx[w] : idx[w]; }
                        n.Data[n.Index(i, j, k, c)] = g.Data[g.Index(old[0], old[1], old[2], c)];
                    }
        return n;
    }
}

/// <summary>
/// Resamples to a voxel <see cref="Spacing"/> (mm) or a grid <see cref="Shape"/>, keeping the field of view
/// (voxel corners stay put). Images are interpolated linearly, labels nearest.
/// </summary>
public sealed record Resample : VolumeTransform
{
    public double[]? Spacing { get; init; }
    public int[]? Shape { get; init; }

    public override Sample Apply(Sample sample)
    {
        if ((Spacing is null) == (Shape is null)) throw new ArgumentException("Resample needs exactly one of Spacing or Shape");
        return Spatial(sample, Run);
    }

    private Grid Run(Grid g, bool label)
    {
        int[] size = [g.X, g.Y, g.Z];
        var spacing = g.Affine.Spacing;
        var scale = new double[3];
        var newSize = new int[3];
        for (int a = 0; a < 3; a++)
        {
            if (a >= g.SpatialRank) { scale[a] = 1; newSize[a] = 1; continue; }
            if (Shape != null)
            {
                if (Shape.Length < g.SpatialRank) throw new ArgumentException($"Resample shape has {Shape.Length} values for a {g.SpatialRank}D image");
                newSize[a] = Shape[a];
                scale[a] = (double)size[a] / Shape[a];
            }
            else
            {
                if (Spacing!.Length < g.SpatialRank) throw new ArgumentException($"Resample spacing has {Spacing.Length} values for a {g.SpatialRank}D image");
                scale[a] = Spacing[a] / spacing[a];
                newSize[a] = Math.Max(1, (int)Math.Round(size[a] / scale[a]));
            }
            if (newSize[a] < 1) throw new ArgumentException($"Resample target size {newSize[a]} on axis {a} is not positive");
        }
        var n = new Grid(newSize[0], newSize[1], newSize[2], g.C, g.SpatialRank, g.Affine);
        var m = new double[16];
        for (int a = 0; a < 3; a++) { m[a * 5] = scale[a]; m[a * 4 + 3] = a < g.SpatialRank ? 0.5 * scale[a] - 0.5 : 0; }
        m[15] = 1;
        n.Affine = g.Affine * new Affine(m);
        // Per-axis source positions and weights, computed once.
        var lo = new int[3][]; var hi = new int[3][]; var wt = new float[3][];
        for (int a = 0; a < 3; a++)
        {
            lo[a] = new int[newSize[a]]; hi[a] = new int[newSize[a]]; wt[a] = new float[newSize[a]];
            for (int i = 0; i < newSize[a]; i++)
            {
                double p = a < g.SpatialRank ? (i + 0.5) * scale[a] - 0.5 : 0;
                p = Math.Clamp(p, 0, size[a] - 1);
                if (label) { lo[a][i] = hi[a][i] = (int)Math.Round(p, MidpointRounding.AwayFromZero); continue; }
                int f = (int)Math.Floor(p);
                lo[a][i] = f; hi[a][i] = Math.Min(f + 1, size[a] - 1); wt[a][i] = (float)(p - f);
            }
        }
        for (int c = 0; c < g.C; c++)
            for (int k = 0; k < n.Z; k++)
                for (int j = 0; j < n.Y; j++)
                    for (int i = 0; i < n.X; i++)
                    {
                        float v;
                        if (label) v = g.Data[g.Index(lo[0][i], lo[1][j], lo[2][k], c)];
                        else
                        {
                            float wx = wt[0][i], wy = wt[1][j], wz = wt[2][k];
                            float Lerp(int y, int z) => g.Data[g.Index(lo[0][i], y, z, c)] * (1 - wx) + g.Data[g.Index(hi[0][i], y, z, c)] * wx;
                            float z0 = Lerp(lo[1][j], lo[2][k]) * (1 - wy) + Lerp(hi[1][j], lo[2][k]) * wy;
                            float z1 = wz == 0 ? 0 : Lerp(lo[1][j], hi[2][k]) * (1 - wy) + Lerp(hi[1][j], hi[2][k]) * wy;
                            v = z0 * (1 - wz) + z1 * wz;
                        }
                        n.Data[n.Index(i, j, k, c)] = v;
                    }
        return n;
    }
}

/// <summary>Crops image and label to the bounding box of the foreground plus <see cref="Margin"/> voxels.
/// Foreground: label &gt; 0 when <see cref="UseLabel"/>, else any image channel above <see cref="Threshold"/>.</summary>
public sealed record CropForeground : VolumeTransform
{
    public int Margin { get; init; }
    public float Threshold { get; init; }
    public bool UseLabel { get; init; }

    public override Sample Apply(Sample sample)
    {
        var source = UseLabel ? sample.Label ?? throw new ArgumentException($"CropForeground(UseLabel) needs a label; sample '{sample.Id}' has none") : sample.Image;
        var g = Grid.From(source);
        float threshold = UseLabel ? 0 : Threshold;
        int[] min = [int.MaxValue, int.MaxValue, int.MaxValue], max = [-1, -1, -1];
        for (int c = 0; c < g.C; c++)
            for (int k = 0; k < g.Z; k++)
                for (int j = 0; j < g.Y; j++)
                    for (int i = 0; i < g.X; i++)
                        if (g.Data[g.Index(i, j, k, c)] > threshold)
                        {
                            min[0] = Math.Min(min[0], i); max[0] = Math.Max(max[0], i);
                            min[1] = Math.Min(min[1], j); max[1] = Math.Max(max[1], j);
                            min[2] = Math.Min(min[2], k); max[2] = Math.Max(max[2], k);
                        }
        if (max[0] < 0) return sample; // no foreground: leave as is
        int[] size = [g.X, g.Y, g.Z];
        var start = new int[3]; var extent = new int[3];
        for (int a = 0; a < 3; a++)
        {
            start[a] = Math.Max(0, min[a] - Margin);
            extent[a] = Math.Min(size[a] - 1, max[a] + Margin) - start[a] + 1;
        }
        return Spatial(sample, (grid, _) => grid.Box(start[0], start[1], start[2], extent[0], extent[1], extent[2], 0));
    }
}

/// <summary>Pads (with <see cref="PadValue"/> for images, 0 for labels) and/or crops symmetrically to <see cref="Size"/>.</summary>
public sealed record PadOrCrop : VolumeTransform
{
    public int[] Size { get; init; } = [];
    public float PadValue { get; init; }

    public override Sample Apply(Sample sample) => Spatial(sample, (g, label) => Centered(g, Size, true, label ? 0 : PadValue));

    internal static Grid Centered(Grid g, int[] target, bool allowPad, float fill)
    {
        if (target.Length < g.SpatialRank) throw new ArgumentException($"size has {target.Length} values for a {g.SpatialRank}D image");
        int[] size = [g.X, g.Y, g.Z];
        var start = new int[3]; var extent = new int[3];
        for (int a = 0; a < 3; a++)
        {
            int want = a < g.SpatialRank ? target[a] : 1;
            if (want < 1) throw new ArgumentException($"target size {want} on axis {a} is not positive");
            if (!allowPad) want = Math.Min(want, size[a]);
            extent[a] = want;
            start[a] = size[a] >= want ? (size[a] - want) / 2 : -((want - size[a]) / 2);
        }
        return g.Box(start[0], start[1], start[2], extent[0], extent[1], extent[2], fill);
    }
}

/// <summary>Crops the centre <see cref="Size"/> (axes already smaller are kept whole).</summary>
public sealed record CenterCrop : VolumeTransform
{
    public int[] Size { get; init; } = [];
    public override Sample Apply(Sample sample) => Spatial(sample, (g, _) => PadOrCrop.Centered(g, Size, false, 0));
}

/// <summary>Per-channel (x − mean) / std. <see cref="Mask"/>: "none" (all voxels), "nonzero" (image ≠ 0) or "label" (label &gt; 0).</summary>
public sealed record ZScore : VolumeTransform
{
    public string Mask { get; init; } = "none";
    /// <summary>Set voxels outside the mask to 0 afterwards (as nnU-Net does for MRI).</summary>
    public bool ZeroOutside { get; init; }

    public override Sample Apply(Sample sample) => Intensity(sample, (g, label) =>
    {
        if (Mask == "label" && label is null) throw new ArgumentException($"ZScore(Mask=label) needs a label; sample '{sample.Id}' has none");
        if (Mask is not ("none" or "nonzero" or "label")) throw new ArgumentException($"ZScore mask '{Mask}' is not none, nonzero or label");
        for (int c = 0; c < g.C; c++)
        {
            int offset = c * g.Plane;
            var inside = new bool[g.Plane];
            for (int i = 0; i < g.Plane; i++)
                inside[i] = Mask switch { "nonzero" => g.Data[offset + i] != 0, "label" => label!.Data[i] > 0, _ => true };
            double sum = 0, sq = 0; long n = 0;
            for (int i = 0; i < g.Plane; i++) if (inside[i]) { sum += g.Data[offset + i]; n++; }
            if (n == 0) continue;
            double mean = sum / n;
            for (int i = 0; i < g.Plane; i++) if (inside[i]) { double d = g.Data[offset + i] - mean; sq += d * d; }
            double std = Math.Sqrt(sq / n);
            if (std < 1e-8) std = 1;
            for (int i = 0; i < g.Plane; i++)
                g.Data[offset + i] = ZeroOutside && !inside[i] ? 0 : (float)((g.Data[offset + i] - mean) / std);
        }
    });
}

/// <summary>Clips each channel to its [<see cref="Lower"/>, <see cref="Upper"/>] percentiles (0–100, linear interpolation as numpy).</summary>
public sealed record PercentileClip : VolumeTransform
{
    public double Lower { get; init; } = 0.5;
    public double Upper { get; init; } = 99.5;

    public override Sample Apply(Sample sample) => Intensity(sample, (g, _) =>
    {
        if (!(Lower >= 0 && Lower <= Upper && Upper <= 100)) throw new ArgumentException($"percentiles must satisfy 0 <= {Lower} <= {Upper} <= 100");
        for (int c = 0; c < g.C; c++)
        {
            var ch = g.Channel(c);
            var sorted = ch.ToArray();
            Array.Sort(sorted);
            float lo = Percentile(sorted, Lower), hi = Percentile(sorted, Upper);
            for (int i = 0; i < ch.Length; i++) ch[i] = Math.Clamp(ch[i], lo, hi);
        }
    });

    public static float Percentile(float[] sorted, double p)
    {
        double pos = p / 100 * (sorted.Length - 1);
        int f = (int)Math.Floor(pos);
        int h = Math.Min(f + 1, sorted.Length - 1);
        return (float)(sorted[f] + (sorted[h] - sorted[f]) * (pos - f));
    }
}

/// <summary>CT window: clamps HU to [center − width/2, center + width/2] and, with <see cref="Rescale"/>, maps it to [0, 1].</summary>
public sealed record CtWindow : VolumeTransform
{
    public double Center { get; init; } = 40;
    public double Width { get; init; } = 400;
    public bool Rescale { get; init; } = true;

    public override Sample Apply(Sample sample) => Intensity(sample, (g, _) =>
    {
        if (Width <= 0) throw new ArgumentException($"CT window width must be positive, got {Width}");
        float lo = (float)(Center - Width / 2), hi = (float)(Center + Width / 2);
        for (int i = 0; i < g.Data.Length; i++)
        {
            float v = Math.Clamp(g.Data[i], lo, hi);
            g.Data[i] = Rescale ? (v - lo) / (hi - lo) : v;
        }
    });
}

/// <summary>Maps label values through <see cref="Map"/>; values not listed go to <see cref="Default"/> (or stay when null).</summary>
public sealed record RemapLabels : VolumeTransform
{
    public Dictionary<int, int> Map { get; init; } = new();
    public int? Default { get; init; }

    public override Sample Apply(Sample sample)
    {
        if (sample.Label is null) return sample;
        var g = Grid.From(sample.Label);
        for (int i = 0; i < g.Data.Length; i++)
        {
            int v = (int)g.Data[i];
            g.Data[i] = Map.TryGetValue(v, out var m) ? m : Default ?? v;
        }
        return sample with { Label = g.ToVolume(sample.Label, Grid.LabelType(sample.Label)) };
    }
}

/// <summary>Turns a label map into <see cref="NumClasses"/> uint8 channels (one per class).</summary>
public sealed record OneHot : VolumeTransform
{
    public int NumClasses { get; init; } = 2;

    public override Sample Apply(Sample sample)
    {
        if (sample.Label is null) return sample;
        var g = Grid.From(sample.Label);
        if (g.C != 1) throw new ArgumentException($"OneHot needs a single-channel label map; sample '{sample.Id}' has {g.C} channels");
        var n = new Grid(g.X, g.Y, g.Z, NumClasses, g.SpatialRank, g.Affine);
        for (int i = 0; i < g.Plane; i++)
        {
            int v = (int)g.Data[i];
            if (v < 0 || v >= NumClasses)
                throw new ArgumentException($"label value {v} in sample '{sample.Id}' ({sample.Label.SourcePath ?? "in memory"}) is outside 0..{NumClasses - 1}");
            n.Data[v * g.Plane + i] = 1;
        }
        return sample with { Label = n.ToVolume(sample.Label, VoxelType.UInt8) };
    }
}
