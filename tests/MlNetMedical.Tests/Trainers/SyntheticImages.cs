using Microsoft.ML.Data;
using MlNetMedical.Data;
using MlNetMedical.Imaging;
using MlNetMedical.Imaging.Formats;
using MlNetMedical.Models;
using MlNetMedical.Training;

namespace MlNetMedical.Tests.Trainers;

/// <summary>
/// A row of the tiny synthetic task: a noisy 16×16 image with a bright disk in the left (<see cref="Label"/> 1) or right (2) half
/// (0 = no label). The data view's <c>Label</c> column is an ML.NET key of two classes without names, which the framework's trainers
/// name "1" and "2".
/// </summary>
public sealed class DiskRow
{
    [VolumeColumn(VolumeKind.Image)] public Volume Image { get; set; } = null!;
    [VolumeColumn(VolumeKind.Mask)] public Volume? Mask { get; set; }

    /// <summary>The class as the data view's key holds it: 1 = left, 2 = right, 0 = missing.</summary>
    [NoColumn] public uint Label { get; set; }

    /// <summary>
    /// The <c>Label</c> column. ML.NET's LoadFromEnumerable reads a key property as 0-based and adds one (a value ≥ the key count
    /// becomes the missing key 0), so this is <see cref="Label"/> − 1, a missing label wrapping to <see cref="uint.MaxValue"/>;
    /// CreateEnumerable writes the key as it is (1-based, 0 = missing).
    /// </summary>
    [ColumnName("Label"), KeyType(2)]
    public uint LabelKey
    {
        get => unchecked(Label - 1);
        set => Label = value;
    }

    public string GroupId { get; set; } = "";
}

/// <summary>Output row of a classifier.</summary>
public sealed class ScoredRow
{
    public float[] Score { get; set; } = [];
    [KeyType(2)] public uint PredictedLabel { get; set; }
}

internal static class SyntheticImages
{
    public const int Size = 16;

    /// <summary><paramref name="count"/> rows; every third row has no mask and every fifth no label when <paramref name="partial"/>.</summary>
    public static List<DiskRow> Disks(int count, int seed, bool partial = false)
    {
        var random = new Random(seed);
        var rows = new List<DiskRow>();
        for (var i = 0; i < count; i++)
        {
            var right = i % 2 == 1;
            var cx = right ? random.Next(10, 13) : random.Next(3, 6);
            var cy = random.Next(4, 12);
            var r = 2 + random.Next(2);
            var image = new float[Size * Size];
            var mask = new byte[Size * Size];
            for (var y = 0; y < Size; y++)
                for (var x = 0; x < Size; x++)
                {
                    var inside = (x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r;
                    image[y * Size + x] = (inside ? 1f : 0f) + (float)(random.NextDouble() - 0.5) * 0.6f;
                    mask[y * Size + x] = (byte)(inside ? 1 : 0);
                }
            rows.Add(new DiskRow
            {
                Image = Volume.Create<float>(image, [Size, Size]),
                Mask = partial && i % 3 == 0 ? null : Volume.Create<byte>(mask, [Size, Size]),
                Label = partial && i % 5 == 0 ? 0u : right ? 2u : 1u,
                GroupId = $"P{i / 2}",
            });
        }
        return rows;
    }

    /// <summary>
    /// <see cref="Disks"/> written as NIfTI files into <paramref name="folder"/> (with <paramref name="affine"/>, default identity)
    /// and listed in its manifest.csv, row i in split <paramref name="split"/>(i); returns the manifest's path.
    /// </summary>
    public static string WriteManifest(string folder, int count, Func<int, string> split, Affine? affine = null)
    {
        var lines = new List<string> { "id,image,mask,label,group,split" };
        foreach (var (row, i) in Disks(count, 3).Select((r, i) => (r, i)))
        {
            Nifti.Write(Volume.Create<float>(row.Image.ToFloatArray(), row.Image.Shape, affine), Path.Combine(folder, $"img{i}.nii"));
            Nifti.Write(Volume.Create<byte>(row.Mask!.ToFloatArray().Select(v => (byte)v).ToArray(), row.Mask.Shape, affine), Path.Combine(folder, $"seg{i}.nii"));
            lines.Add($"case{i:D2},img{i}.nii,seg{i}.nii,{(row.Label == 1 ? "left" : "right")},P{i / 2},{split(i)}");
        }
        var path = Path.Combine(folder, "manifest.csv");
        File.WriteAllLines(path, lines);
        return path;
    }

    public static UNetConfig TinyUNet => new()
    {
        Encoder = new UNetEncoderConfig { SpatialDims = 2, InChannels = 1, Depth = 3, BaseChannels = 4 },
        NumClasses = 2,
    };

    public static TrainingOptions Quick(int epochs = 6) => new()
    {
        Epochs = epochs, BatchSize = 8, LearningRate = 5e-3, ValidationFraction = 0.25, GroupColumnName = "GroupId",
    };
}
