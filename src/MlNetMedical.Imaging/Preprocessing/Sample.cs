namespace MlNetMedical.Imaging.Preprocessing;

/// <summary>
/// One training or prediction item: an image (channels on its trailing axes), an optional label map
/// of the same geometry, and an optional class label. Transforms treat <see cref="Label"/> as categorical
/// (nearest-neighbour resampling, padding with 0).
/// </summary>
public sealed record Sample(string Id, Volume Image, Volume? Label = null, string? ClassLabel = null)
{
    public Dictionary<string, string> Metadata { get; init; } = new(StringComparer.Ordinal);
}

/// <summary>Checks that an image and its label map share grid and geometry.</summary>
public static class Geometry
{
    /// <summary>Throws naming both files when shapes or affines differ (affines beyond <paramref name="tolerance"/> mm).</summary>
    public static void EnsureSame(Volume image, Volume label, double tolerance = 1e-3)
    {
        var a = image.Shape.Take(image.SpatialRank).ToArray();
        var b = label.Shape.Take(label.SpatialRank).ToArray();
        string Name(Volume v) => v.SourcePath ?? "(in memory)";
        if (!a.SequenceEqual(b))
            throw new ImageFormatException(Name(label), $"label grid [{string.Join(", ", b)}] differs from image '{Name(image)}' grid [{string.Join(", ", a)}]");
        if (!image.Affine.ApproximatelyEquals(label.Affine, tolerance))
            throw new ImageFormatException(Name(label), $"label affine differs from image '{Name(image)}' affine by more than {tolerance} mm (image: {image.Affine}; label: {label.Affine})");
    }
}
