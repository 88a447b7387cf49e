using System.Numerics;

namespace MlNetMedical.Imaging;

/// <summary>
/// Size limits the readers apply before they allocate anything for a file's voxels. A header's dims are
/// multiplied with overflow checks and compared with <see cref="ReadOptions.MaxVoxels"/> (default
/// <see cref="DefaultMaxVoxels"/>) and with <see cref="MaxBytes"/>, the largest voxel buffer a volume can hold.
/// </summary>
public static class ImageLimits
{
    /// <summary>Default largest voxel count a reader accepts: 2^30 (1,073,741,824), e.g. 1024³ or 512×512×4096.</summary>
    public const long DefaultMaxVoxels = 1L << 30;

    /// <summary>Largest voxel buffer in bytes (one .NET array): <see cref="Array.MaxLength"/>, just under 2 GiB.</summary>
    public static long MaxBytes => Array.MaxLength;

    /// <summary>
    /// Deflate (zlib, gzip) cannot expand data by more than about 1032:1; a header that needs more from a
    /// compressed payload than this ratio allows is corrupt, and is rejected before anything is allocated.
    /// </summary>
    public const long MaxDeflateRatio = 1032;

    /// <summary>
    /// Voxel count and byte count of <paramref name="dims"/> voxels of <paramref name="bytesPerVoxel"/> bytes, or an
    /// <see cref="ImageFormatException"/> naming <paramref name="path"/> and the dims when they exceed the limits.
    /// </summary>
    public static (long Voxels, long Bytes) Check(string path, IReadOnlyList<long> dims, int bytesPerVoxel, long maxVoxels, string what = "dims")
    {
        if (maxVoxels < 1) throw new ArgumentOutOfRangeException(nameof(maxVoxels), maxVoxels, "the voxel limit must be positive");
        BigInteger exact = BigInteger.One;
        foreach (var d in dims)
        {
            if (d < 1) throw new ImageFormatException(path, $"{what} {Show(dims)}: every size must be at least 1");
            exact *= d;
        }
        if (exact > maxVoxels)
            throw new ImageFormatException(path, $"{what} {Show(dims)} hold {exact} voxels, more than the limit of {maxVoxels} voxels (ReadOptions.MaxVoxels)");
        long voxels = (long)exact;
        long bytes;
        try { bytes = checked(voxels * bytesPerVoxel); }
        catch (OverflowException) { bytes = long.MaxValue; }
        if (bytes > MaxBytes)
            throw new ImageFormatException(path, $"{what} {Show(dims)} need {(BigInteger)voxels * bytesPerVoxel} bytes of voxels, more than one buffer holds ({MaxBytes})");
        return (voxels, bytes);
    }

    /// <summary>Throws when <paramref name="needed"/> bytes cannot come out of <paramref name="compressed"/> bytes of deflate data.</summary>
    public static void CheckInflatable(string path, long needed, long compressed, string what)
    {
        if (needed > compressed * MaxDeflateRatio + 1024)
            throw new ImageFormatException(path, $"{what} needs {needed} bytes, but {compressed} bytes of compressed data cannot inflate to that many " +
                $"(deflate expands at most {MaxDeflateRatio}:1): the header is wrong or the data truncated");
    }

    internal static string Show(IReadOnlyList<long> dims) => $"[{string.Join(", ", dims)}]";
}
