using System.IO.Compression;
using MlNetMedical.Imaging.Formats;
using Xunit;
using Xunit.Abstractions;

namespace MlNetMedical.Imaging.Tests;

/// <summary>
/// Bounded fuzzing of our own readers (NIfTI, MetaImage, PNG) with mutated headers and byte streams
/// from real files: every read must finish and either succeed or throw <see cref="ImageFormatException"/>.
/// DICOM is not fuzzed: Debian's GDCM aborts the process on some malformed input (assertions).
/// </summary>
public class FuzzTests(ITestOutputHelper output)
{
    private const int Seed = 20240521;
    private const int CasesPerSeed = 160;

    private static List<(string Name, byte[] Bytes)> Seeds()
    {
        var seeds = new List<(string, byte[])>();
        var nib = DebianData.NibabelData;
        foreach (var f in new[] { "anatomical.nii", "example_nifti2.nii.gz", "example4d.nii.gz", "resampled_anat_moved.nii", "standard.nii.gz", "row_major.dconn.nii" })
            seeds.Add((f, File.ReadAllBytes(Path.Combine(nib, f))));
        var itk = DebianData.ItkData;
        foreach (var f in new[] { "CorpusCallosumMeanShape.mha", "BrainProtonDensitySlice.png", "Circle.png", "BrainProtonDensitySliceBorder20.png", "VisibleWomanEyeSlice.png" })
            seeds.Add((f, File.ReadAllBytes(Path.Combine(itk, f))));
        // A compressed MetaImage and an RGB PNG written by us, so those code paths are fuzzed too.
        using var dir = new TempDir();
        var v = NiftiTests.Sample(VoxelType.Int16, [9, 7, 5], NiftiTests.Oblique);
        MetaImage.Write(v, dir.File("z.mha"), compress: true);
        seeds.Add(("ours_zlib.mha", File.ReadAllBytes(dir.File("z.mha"))));
        Png.Write(new Volume(VoxelType.Rgb24, [6, 5], new byte[90], Affine.Identity, 2), dir.File("rgb.png"));
        seeds.Add(("ours_rgb.png", File.ReadAllBytes(dir.File("rgb.png"))));
        return seeds;
    }

    [DebianDataFact]
    public void MutatedFilesNeverCrashHangOrThrowUndocumentedExceptions()
    {
        var rng = new Random(Seed);
        using var dir = new TempDir();
        int cases = 0, readOk = 0, rejected = 0;
        var bad = new List<string>();
        foreach (var (name, original) in Seeds())
        {
            bool gz = original.Length > 2 && original[0] == 0x1f && original[1] == 0x8b;
            byte[] plain = gz ? Gunzip(original) : original;
            for (int i = 0; i < CasesPerSeed; i++)
            {
                byte[] mutated;
                int strategy = rng.Next(5);
                if (gz && rng.Next(2) == 0) mutated = Gzip(Mutate(plain, strategy, rng)); // header mutations inside the gzip
                else mutated = Mutate(original, strategy, rng);
                var path = dir.File($"case{cases}_{name}");
                File.WriteAllBytes(path, mutated);
                cases++;
                var task = Task.Run(() => ImageIO.Read(path));
                if (Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(30))).Result != task) { bad.Add($"{name} case {i} (strategy {strategy}): hung"); continue; }
                if (task.IsFaulted)
                {
                    var e = task.Exception!.InnerException!;
                    if (e is ImageFormatException ife && ife.Message.Contains(path)) rejected++;
                    else bad.Add($"{name} case {i} (strategy {strategy}): {e.GetType().Name}: {e.Message}");
                }
                else readOk++;
                File.Delete(path);
            }
        }
        output.WriteLine($"{cases} mutated files: {readOk} read, {rejected} rejected with ImageFormatException, {bad.Count} bad");
        Assert.True(cases >= 2000, $"only {cases} cases");
        Assert.True(bad.Count == 0, string.Join("\n", bad.Take(30)));
    }

    private static byte[] Mutate(byte[] src, int strategy, Random rng)
    {
        var b = (byte[])src.Clone();
        int headerSpan = Math.Min(b.Length, 600);
        switch (strategy)
        {
            case 0: // flip a few bytes in the header
                for (int k = rng.Next(1, 9); k > 0; k--) b[rng.Next(headerSpan)] ^= (byte)(1 << rng.Next(8));
                return b;
            case 1: // truncate
                return b[..rng.Next(b.Length)];
            case 2: // an extreme value over a header field
            {
                long[] extremes = [0, -1, 1, 0x7FFF, 0x8000, 0xFFFF, int.MaxValue, int.MinValue, 0x7F800000 /* +Inf */, 0x7FC00000 /* NaN */, 0x4E6E6B28 /* 1e9f */];
                int at = rng.Next(Math.Max(1, headerSpan - 8));
                var value = BitConverter.GetBytes(extremes[rng.Next(extremes.Length)]);
                Array.Copy(value, 0, b, at, Math.Min(rng.Next(2) == 0 ? 2 : 4, b.Length - at));
                return b;
            }
            case 3: // random bytes anywhere
                for (int k = rng.Next(1, 33); k > 0; k--) b[rng.Next(b.Length)] = (byte)rng.Next(256);
                return b;
            default: // delete or insert a run of bytes
            {
                int at = rng.Next(b.Length);
                int n = rng.Next(1, 64);
                if (rng.Next(2) == 0) return [.. b[..at], .. b[Math.Min(b.Length, at + n)..]];
                var noise = new byte[n];
                rng.NextBytes(noise);
                return [.. b[..at], .. noise, .. b[at..]];
            }
        }
    }

    private static byte[] Gunzip(byte[] gz)
    {
        using var z = new GZipStream(new MemoryStream(gz), CompressionMode.Decompress);
        using var ms = new MemoryStream();
        z.CopyTo(ms);
        return ms.ToArray();
    }

    private static byte[] Gzip(byte[] plain)
    {
        using var ms = new MemoryStream();
        using (var z = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) z.Write(plain);
        return ms.ToArray();
    }
}
