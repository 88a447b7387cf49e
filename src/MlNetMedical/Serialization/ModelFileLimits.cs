namespace MlNetMedical.Serialization;

/// <summary>
/// What <see cref="ModelArchive.Load"/> accepts from a model file before it decompresses anything. Every size is checked
/// against the zip's central directory first; a file over a limit is refused with an <see cref="InvalidDataException"/>
/// naming the file, the entry and the limit. Entries are then read through bounded reads that stop at the declared length,
/// so a central directory that lies cannot make the loader hold more than these limits. The ML.NET model zips nested in the file
/// (its ML.NET transformers) are checked the same way before ML.NET reads them, and their entries and bytes count towards
/// <see cref="MaxEntries"/> and <see cref="MaxTotalBytes"/> together with the file's own.
/// </summary>
/// <remarks>
/// The defaults fit the models this library trains with a wide margin: a network keeps its weights in one safetensors
/// blob, which for the pipelines here (2D/3D U-Nets, depth 4-5, 8-16 base channels) is a few MB to about 30 MB, and for the
/// largest default configuration (a 3D U-Net of depth 5 with 32 base channels, about 24 million float32 weights) about
/// 100 MB, ten times below the per-entry limit; a model file has a few dozen entries. Raise them for a larger custom network.
/// </remarks>
/// <param name="MaxEntries">Most entries in the zip and its nested ML.NET zips (files and folder markers), default 4,096 (a model
/// uses a few dozen).</param>
/// <param name="MaxEntryBytes">Most bytes one entry may hold decompressed, default 1 GiB (a .NET array holds at most about 2 GiB).</param>
/// <param name="MaxTotalBytes">Most bytes all entries together may hold decompressed (loading holds them all at once), default 2 GiB.</param>
/// <param name="MaxManifestBytes">Most bytes <c>manifest.json</c> may hold, default 16 MiB (a manifest is a few KB; the input schema's
/// class names and the preprocessing chain are the only variable parts).</param>
public sealed record ModelFileLimits(
    int MaxEntries = ModelFileLimits.DefaultMaxEntries,
    long MaxEntryBytes = ModelFileLimits.DefaultMaxEntryBytes,
    long MaxTotalBytes = ModelFileLimits.DefaultMaxTotalBytes,
    long MaxManifestBytes = ModelFileLimits.DefaultMaxManifestBytes)
{
    /// <summary>Default of <see cref="MaxEntries"/>: 4,096.</summary>
    public const int DefaultMaxEntries = 4096;

    /// <summary>Default of <see cref="MaxEntryBytes"/>: 1 GiB.</summary>
    public const long DefaultMaxEntryBytes = 1L << 30;

    /// <summary>Default of <see cref="MaxTotalBytes"/>: 2 GiB.</summary>
    public const long DefaultMaxTotalBytes = 2L << 30;

    /// <summary>Default of <see cref="MaxManifestBytes"/>: 16 MiB.</summary>
    public const long DefaultMaxManifestBytes = 16L << 20;

    /// <summary>The largest entry a .NET byte array can hold.</summary>
    internal static long ArrayLimit => Array.MaxLength;

    /// <summary>The defaults.</summary>
    public static ModelFileLimits Default { get; } = new();

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> unless every limit is positive and an entry fits a .NET array.</summary>
    internal ModelFileLimits Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxEntries, 1, nameof(MaxEntries));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxEntryBytes, 1, nameof(MaxEntryBytes));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxEntryBytes, ArrayLimit, nameof(MaxEntryBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxTotalBytes, 1, nameof(MaxTotalBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxManifestBytes, 1, nameof(MaxManifestBytes));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxManifestBytes, ArrayLimit, nameof(MaxManifestBytes));
        return this;
    }
}
