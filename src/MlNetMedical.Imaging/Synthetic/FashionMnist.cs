using System.Buffers.Binary;
using System.IO.Compression;

namespace MlNetMedical.Imaging.Synthetic;

/// <summary>
/// fashion-mnist: the natural-image stand-in for the papers' ImageNet comparison. Reads the IDX files
/// of Debian's dataset-fashion-mnist (or any folder holding them, gzipped or not) and writes each
/// image as a 28×28 uint8 NIfTI in the same manifest layout: official train and test files map to the
/// train and test splits (the first N of each, so --train/--test take a prefix); no masks, no pretrain
/// split, and each image is its own group.
/// </summary>
public sealed class FashionMnist : SyntheticTask
{
    public const string DebianFolder = "/usr/share/datasets/fashion-mnist";
    public const string DebianPackage = "dataset-fashion-mnist";

    public override string Name => "fashion-mnist";
    public override string Summary => $"Fashion-MNIST from Debian's {DebianPackage} IDX files, 10 classes, 28×28";
    public override IReadOnlyList<string> ClassNames { get; } =
        ["tshirt_top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle_boot"];
    public override (int Train, int Test, int Pretrain) DefaultCounts => (60000, 10000, 0);
    public override int DefaultSize => 28;
    public override int MinSize => 28;
    public override int MaxSize => 28;

    private readonly Lock gate = new();
    private readonly Dictionary<string, (byte[] Images, byte[] Labels, int Count)> loaded = new();

    public override IReadOnlyList<SyntheticCase> Plan(SyntheticOptions options)
    {
        ValidatedSize(options);
        if ((options.Pretrain ?? 0) != 0) throw new SyntheticOptionException("--pretrain", $"{Name} has no pretrain split (no masks); use 0");
        var (train, test, _) = ValidatedCounts(options);
        var cases = new List<SyntheticCase>();
        foreach (var (split, count) in new[] { ("train", train), ("test", test) })
        {
            if (count == 0) continue;
            var data = Load(options, split);
            if (count > data.Count) throw new SyntheticOptionException("--" + split, $"{Name} has {data.Count} {split} images, asked for {count}");
            for (int n = 0; n < count; n++)
                // SliceInPatient holds the image's index in its IDX file.
                cases.Add(new SyntheticCase(cases.Count, $"{split}-{n + 1:D5}", split, cases.Count, n, data.Labels[n], true, n, n));
        }
        return cases;
    }

    public override SyntheticSample Generate(SyntheticCase item, SyntheticOptions options)
    {
        var data = Load(options, item.Split);
        int n = item.SliceInPatient;
        // IDX rows run top to bottom; NIfTI j runs posterior→anterior (up), so flip rows to keep the picture upright.
        var pixels = new byte[28 * 28];
        for (int row = 0; row < 28; row++)
            data.Images.AsSpan(n * 784 + row * 28, 28).CopyTo(pixels.AsSpan((27 - row) * 28, 28));
        return new SyntheticSample(Volume.Create<byte>(pixels, [28, 28], Affine.Diagonal(1, 1, 1), spatialRank: 2), null);
    }

    private (byte[] Images, byte[] Labels, int Count) Load(SyntheticOptions options, string split)
    {
        lock (gate)
        {
            if (loaded.TryGetValue(split, out var hit)) return hit;
            string folder = options.SourceDir ?? DebianFolder;
            string prefix = split == "train" ? "train" : "t10k";
            string images = Find(folder, $"{prefix}-images-idx3-ubyte"), labels = Find(folder, $"{prefix}-labels-idx1-ubyte");
            var (imageBytes, count, rows, cols) = ReadIdx(images, 0x803, 3);
            if (rows != 28 || cols != 28) throw new ImageFormatException(images, $"expected 28×28 images, got {rows}×{cols}");
            var (labelBytes, labelCount, _, _) = ReadIdx(labels, 0x801, 1);
            if (labelCount != count) throw new ImageFormatException(labels, $"has {labelCount} labels for {count} images in {images}");
            foreach (var l in labelBytes)
                if (l > 9) throw new ImageFormatException(labels, $"label {l} is outside 0..9");
            return loaded[split] = (imageBytes, labelBytes, count);
        }
    }

    private static string Find(string folder, string stem)
    {
        foreach (var candidate in new[] { stem + ".gz", stem })
        {
            var path = Path.Combine(folder, candidate);
            if (File.Exists(path)) return path;
        }
        throw new FileNotFoundException(
            $"--source: no {stem}(.gz) in '{folder}'; install Debian's {DebianPackage} (apt-get install {DebianPackage}) or pass --source with the IDX files",
            Path.Combine(folder, stem + ".gz"));
    }

    /// <summary>Reads an IDX file (big-endian header: magic, then one int32 per dimension), gzipped or not.</summary>
    public static (byte[] Data, int Count, int Rows, int Cols) ReadIdx(string path, int expectedMagic, int dims)
    {
        using var file = File.OpenRead(path);
        using Stream s = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
        var header = new byte[4 + 4 * dims];
        if (s.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) < header.Length) throw new ImageFormatException(path, "truncated IDX header");
        int magic = BinaryPrimitives.ReadInt32BigEndian(header);
        if (magic != expectedMagic) throw new ImageFormatException(path, $"IDX magic 0x{magic:X8}, expected 0x{expectedMagic:X8}");
        var shape = Enumerable.Range(0, dims).Select(d => BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(4 + 4 * d))).ToArray();
        long total = 1;
        foreach (var d in shape)
        {
            if (d <= 0) throw new ImageFormatException(path, $"IDX dimension {d} is not positive");
            total *= d;
        }
        var data = new byte[total];
        if (s.ReadAtLeast(data, data.Length, throwOnEndOfStream: false) < data.Length) throw new ImageFormatException(path, $"truncated: IDX data needs {total} bytes");
        return (data, shape[0], dims > 1 ? shape[1] : 1, dims > 2 ? shape[2] : 1);
    }
}
