using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using MlNetMedical.Imaging.Formats;
using MlNetMedical.Imaging.Preprocessing;

namespace MlNetMedical.Imaging.Datasets;

/// <summary>
/// On-disk cache of preprocessed samples. The key is SHA-256 over the content of every source file (every file of a DICOM
/// series folder) plus the transform chain's JSON, so editing a scan or a transform gives a new key. Entries are NIfTI-2 files
/// (exact float64 affine) written to a temporary name and renamed, so readers never see half an entry.
/// </summary>
public sealed class SampleCache
{
    private readonly ConcurrentDictionary<(string, long, DateTime), string> fileHashes = new();

    public SampleCache(string folder, TransformChain chain)
    {
        Folder = folder;
        Chain = chain;
        Directory.CreateDirectory(folder);
    }

    public string Folder { get; }
    public TransformChain Chain { get; }
    public int Hits => hits;
    public int Misses => misses;
    private int hits, misses;

    public string Key(DatasetItem item)
    {
        var sb = new StringBuilder(Chain.ToJson());
        foreach (var p in item.Images) sb.Append("\nimage:").Append(FileHash(p));
        if (item.Mask != null) sb.Append("\nmask:").Append(FileHash(item.Mask));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())));
    }

    /// <summary>Content hash of a file, remembered per (path, size, modification time) so epochs do not re-read sources. A folder
    /// (a DICOM series, read from the files directly inside it) hashes the names and contents of those files.</summary>
    private string FileHash(string path)
    {
        if (Directory.Exists(path))
        {
            var listing = new StringBuilder("folder");
            foreach (var file in Directory.EnumerateFiles(path).Order(StringComparer.Ordinal))
                listing.Append('\n').Append(Path.GetFileName(file)).Append(':').Append(FileHash(file));
            return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(listing.ToString())));
        }
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"'{path}': file not found", path);
        return fileHashes.GetOrAdd((info.FullName, info.Length, info.LastWriteTimeUtc), _ =>
        {
            using var s = info.OpenRead();
            return Convert.ToHexStringLower(SHA256.HashData(s));
        });
    }

    /// <summary>The preprocessed sample, from the cache when present, else computed and stored.</summary>
    public Sample Get(DatasetItem item)
    {
        var key = Key(item);
        var imagePath = Path.Combine(Folder, key + ".image.nii");
        var labelPath = Path.Combine(Folder, key + ".label.nii");
        if (File.Exists(imagePath) && (item.Mask is null || File.Exists(labelPath)))
        {
            Interlocked.Increment(ref hits);
            var image = Nifti.Read(imagePath);
            var label = item.Mask is null ? null : Nifti.Read(labelPath);
            return new Sample(item.Id, image, label, item.ClassLabel);
        }
        Interlocked.Increment(ref misses);
        var sample = item.Load(Chain);
        if (sample.Label != null) WriteAtomically(sample.Label, labelPath);
        WriteAtomically(sample.Image, imagePath);
        return sample;
    }

    private static void WriteAtomically(Volume v, string path)
    {
        var tmp = path + "." + Guid.NewGuid().ToString("N") + ".tmp.nii";
        Nifti.Write(v, tmp, version: 2);
        File.Move(tmp, path, overwrite: true);
    }
}
