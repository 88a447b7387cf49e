using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using MlNetMedical.Imaging.Formats;
using Xunit;
using Xunit.Abstractions;

namespace MlNetMedical.Imaging.Tests;

/// <summary>
/// Bounded fuzzing of our own readers with fixed-seed mutations of real files (Debian's nibabel and ITK example
/// data, plus a few files we write to reach other code paths): per format at least 2,000 cases, each of which must
/// finish within a time limit (a hang detector, not a speed check), either read or throw
/// <see cref="ImageFormatException"/> naming the file, and allocate no more than a small multiple of the data the
/// case actually holds (the readers' documented bound; a lying header must not buy a large allocation).
/// DICOM mutates Debian's real pydicom test files (every transfer syntax family GDCM decodes): GDCM runs in decoder
/// processes, so an abort or a hang there must come back as an <see cref="ImageFormatException"/> naming the file
/// (counted as contained), and the decoder's own memory growth per case must stay within a small multiple of the file
/// plus the decoded size it checked against the limits before decompressing.
/// </summary>
public class FuzzTests(ITestOutputHelper output)
{
    private const int Seed = 20240521;
    private const int Cases = 2000;
    // Generous: a case that hangs is stuck for good; a slow one on a loaded 2-core machine still finishes far below this.
    private static readonly TimeSpan PerCaseLimit = TimeSpan.FromSeconds(15);
    // Allocation budget of one case: this many times the largest (decompressed) input it holds, plus a constant.
    private const long AllocationFactor = 12;
    private const long AllocationSlack = 8 << 20;
    // DICOM decoder: its answer time limit, and the constant part of its memory budget per case: the 64 MiB the decoder
    // allows itself beyond the file and the decoded size (RLIMIT_DATA, DicomDecoder/Program.cs), plus resident pages
    // that are not counted there (codec libraries and code loaded on first use; the largest growth seen here was 84 MB,
    // so 160 MiB leaves room for another machine's page accounting without letting a runaway allocation through).
    private static readonly TimeSpan DicomDecodeLimit = TimeSpan.FromSeconds(10);
    private const long DecoderSlack = 160 << 20;

    /// <summary>One starting point: the files of one image (header first), and which of them to mutate.</summary>
    private sealed record SeedFile(string Name, (string Suffix, byte[] Bytes)[] Files);

    private static string Nib(string f) => Path.Combine(DebianData.NibabelData, f);
    private static string Itk(string f) => Path.Combine(DebianData.ItkData, f);

    private static List<SeedFile> Seeds(string kind)
    {
        using var dir = new TempDir();
        var seeds = new List<SeedFile>();
        void Add(string name, string suffix, byte[] bytes) => seeds.Add(new(name, [(suffix, bytes)]));
        switch (kind)
        {
            case "nii":
                foreach (var f in new[] { "anatomical.nii", "functional.nii", "resampled_anat_moved.nii", "row_major.dconn.nii" })
                    Add(f, ".nii", File.ReadAllBytes(Nib(f)));
                // NIfTI-2, RGB24 and a scaled 5D int16, written by us: other header branches and datatypes.
                Nifti.Write(NiftiTests.Sample(VoxelType.Float64, [5, 4, 3]), dir.File("v2.nii"), version: 2);
                Add("ours_v2.nii", ".nii", File.ReadAllBytes(dir.File("v2.nii")));
                Nifti.Write(NiftiTests.Sample(VoxelType.Rgb24, [6, 5, 2]), dir.File("rgb.nii"));
                Add("ours_rgb.nii", ".nii", File.ReadAllBytes(dir.File("rgb.nii")));
                var scaled = NiftiTests.Sample(VoxelType.Int16, [4, 3, 2, 2, 2]);
                scaled.ScaleSlope = 0.5;
                Nifti.Write(scaled, dir.File("5d.nii"));
                Add("ours_5d.nii", ".nii", File.ReadAllBytes(dir.File("5d.nii")));
                break;
            case "nii.gz":
                foreach (var f in new[] { "example_nifti2.nii.gz", "example4d.nii.gz", "standard.nii.gz" })
                    Add(f, ".nii.gz", File.ReadAllBytes(Nib(f)));
                Add("KmeansTest_T1RawSkullStrip.nii.gz", ".nii.gz", File.ReadAllBytes(Itk("KmeansTest_T1RawSkullStrip.nii.gz")));
                Nifti.Write(NiftiTests.Sample(VoxelType.UInt16, [7, 6, 5]), dir.File("u16.nii.gz"), version: 2);
                Add("ours_v2.nii.gz", ".nii.gz", File.ReadAllBytes(dir.File("u16.nii.gz")));
                break;
            case "mha":
                foreach (var f in new[] { "CorpusCallosumMeanShape.mha", "itkBrainSliceComplex.mha" })
                    Add(f, ".mha", File.ReadAllBytes(Itk(f)));
                MetaImage.Write(NiftiTests.Sample(VoxelType.Int16, [9, 7, 5], NiftiTests.Oblique), dir.File("z.mha"), compress: true);
                Add("ours_zlib.mha", ".mha", File.ReadAllBytes(dir.File("z.mha")));
                MetaImage.Write(NiftiTests.Sample(VoxelType.Float32, [5, 4, 3, 2]), dir.File("4d.mha"));
                Add("ours_4d.mha", ".mha", File.ReadAllBytes(dir.File("4d.mha")));
                break;
            case "mhd":
                foreach (var f in new[] { "BrainProtonDensitySliceBorder20.mhd", "BrainProtonDensitySliceBorder20DirectionPlus30.mhd", "BayesianClassifierInitializerMemberships.mhd" })
                {
                    var header = File.ReadAllText(Itk(f));
                    var data = header.Split('\n').Single(l => l.StartsWith("ElementDataFile")).Split('=')[1].Trim();
                    seeds.Add(new(f, [(".mhd", Encoding.ASCII.GetBytes(header.Replace(data, "DATA"))), (Path.GetExtension(data), File.ReadAllBytes(Itk(data)))]));
                }
                MetaImage.Write(NiftiTests.Sample(VoxelType.UInt16, [6, 5, 4]), dir.File("ours.mhd"));
                seeds.Add(new("ours.mhd", [(".mhd", Encoding.ASCII.GetBytes(File.ReadAllText(dir.File("ours.mhd")).Replace("ours.raw", "DATA"))), (".raw", File.ReadAllBytes(dir.File("ours.raw")))]));
                break;
            case "png":
                foreach (var f in new[] { "BrainProtonDensitySlice.png", "Circle.png", "BrainMidSagittalSlice.png", "BinaryImage.png", "BrainProtonDensitySliceBorder20Mask.png",
                                          "FivePoints.png", "FivePointsDilated.png", "Point.png", "VisibleWomanHeadSlice.png" })
                    Add(f, ".png", File.ReadAllBytes(Itk(f)));
                // Adam7 copies of a grey and an RGB image, and a 16-bit RGB image: the interlaced and wide-sample paths.
                foreach (var (f, channels, colorType) in new[] { ("BrainMidSagittalSlice.png", 1, 0), ("BinaryImage.png", 3, 2) })
                {
                    var v = Png.Read(Itk(f));
                    int w = v.Shape[0], h = v.Shape[1];
                    Add("adam7_" + f, ".png", PngBuilder.File(PngBuilder.Ihdr(w, h, 8, colorType, 1), PngBuilder.Zlib(PngBuilder.Scanlines(v.Data, w, h, channels, true))));
                }
                var c16 = NiftiTests.Sample(VoxelType.UInt16, [9, 7, 3], Affine.Identity);
                Png.Write(new Volume(c16.DataType, c16.Shape, c16.Data, Affine.Identity, 2), dir.File("c16.png"));
                Add("ours_rgb16.png", ".png", File.ReadAllBytes(dir.File("c16.png")));
                break;
            case "dicom":
                foreach (var f in DicomSeeds) Add(f, ".dcm", File.ReadAllBytes(Path.Combine(DebianData.PydicomData, f)));
                break;
            default: throw new ArgumentOutOfRangeException(nameof(kind));
        }
        return seeds;
    }

    /// <summary>pydicom's test files: explicit/implicit little and big endian, deflate, RLE (8/16/32-bit, colour, frames),
    /// JPEG baseline/extended/lossless, JPEG-LS, JPEG 2000, YBR 4:2:2, multi-frame RT dose, and CT (series fast path).</summary>
    private static readonly string[] DicomSeeds =
    [
        "CT_small.dcm", "MR_small.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm", "image_dfl.dcm", "MR_small_RLE.dcm",
        "SC_rgb_rle_16bit_2frame.dcm", "SC_rgb_rle_32bit.dcm", "JPEG-lossy.dcm", "JPGExtended.dcm", "SC_rgb_jpeg_dcmtk.dcm",
        "MR_small_jpeg_ls_lossless.dcm", "MR_small_jp2klossless.dcm", "JPEG2000.dcm", "SC_ybr_full_422_uncompressed.dcm",
        "rtdose.dcm", "SC_rgb_small_odd.dcm",
    ];

    private static readonly string[] Kinds = ["nii", "nii.gz", "mha", "mhd", "png", "dicom"];

    [DebianDataTheory]
    [InlineData("nii")]
    [InlineData("nii.gz")]
    [InlineData("mha")]
    [InlineData("mhd")]
    [InlineData("png")]
    [InlineData("dicom")]
    public void MutatedFilesNeverCrashHangOrAllocateBeyondTheirData(string kind)
    {
        var seeds = Seeds(kind);
        var rng = new Random(Seed + Array.IndexOf(Kinds, kind));
        using var dir = new TempDir();
        // A FIFO and a device next to the cases: MetaImage header mutations may point at them.
        var mk = Process.Start("mkfifo", [dir.File("pipe.raw")]);
        mk.WaitForExit();
        File.CreateSymbolicLink(dir.File("zero.raw"), "/dev/zero");
        // Seeds' decompressed forms and sizes, computed once (the loop would otherwise redo them every case).
        var plain = new Dictionary<byte[], byte[]>(ReferenceEqualityComparer.Instance);
        var heldOf = new Dictionary<string, long>();
        byte[] PlainOf(byte[] gz) => plain.TryGetValue(gz, out var p) ? p : plain[gz] = Gunzip(gz);
        long SeedHeld(byte[] b)
        {
            var key = Convert.ToHexString(System.Security.Cryptography.SHA1.HashData(b));
            return heldOf.TryGetValue(key, out var h) ? h : heldOf[key] = Unpacked(b);
        }
        int readOk = 0, rejected = 0;
        long maxAllocated = 0;
        double maxRatio = 0;
        var bad = new List<string>();
        // DICOM: the decoder's answer time is limited below the per-case limit (a GDCM hang must be contained, not
        // merely detected), and it reports its memory growth per case.
        var probe = new Dicom.DicomDecoderPool.Probe { Timeout = DicomDecodeLimit, Measure = true };
        long maxDecoderGrowth = 0, maxChecked = 0;
        if (kind == "dicom") Dicom.DicomDecoderPool.CurrentProbe.Value = probe;
        var clock = Stopwatch.StartNew();
        var reading = new Stopwatch();
        for (int i = 0; i < Cases && bad.Count < 30; i++) // 30 failures tell enough; hangs would make the rest slow
        {
            int k = i % seeds.Count;
            var seed = seeds[k];
            int strategy = -1;
            var files = new List<(string Path, byte[] Bytes, long Held)>();
            // Mutate the header file, or now and then (also) the data file of a pair; an unchanged data file is shared.
            bool mutateData = seed.Files.Length > 1 && rng.Next(4) == 0;
            bool mutateHeader = seed.Files.Length == 1 || !mutateData || rng.Next(2) == 0;
            for (int f = 0; f < seed.Files.Length; f++)
            {
                var (suffix, bytes) = seed.Files[f];
                bool mutate = f == 0 ? mutateHeader : mutateData;
                var name = mutate ? $"c{i}{suffix}" : $"seed{k}{suffix}";
                if (f == 0 && kind == "mhd")
                    bytes = Encoding.ASCII.GetBytes(Encoding.ASCII.GetString(bytes).Replace("DATA", (mutateData ? $"c{i}" : $"seed{k}") + seed.Files[1].Suffix));
                long fileHeld = SeedHeld(bytes);
                if (mutate)
                {
                    long? hint;
                    (bytes, strategy, hint) = MutateFor(kind, bytes, rng, PlainOf);
                    fileHeld = Math.Max(fileHeld, hint ?? Unpacked(bytes));
                }
                var target = dir.File(name);
                if (mutate || f == 0 || !File.Exists(target)) File.WriteAllBytes(target, bytes);
                files.Add((target, bytes, fileHeld));
            }
            var path = files[0].Path;
            // Half the CT cases are read as a one-file series folder: the decoder's header-only fast path, pixels read here.
            if (kind == "dicom" && seed.Name == "CT_small.dcm" && rng.Next(2) == 0)
            {
                var folder = Directory.CreateDirectory(dir.File($"series{i}")).FullName;
                File.Move(path, Path.Combine(folder, "slice"));
                path = folder;
                files[0] = (Path.Combine(folder, "slice"), files[0].Bytes, files[0].Held);
            }
            probe.LastPeakGrowth = -1;
            probe.LastCheckedBytes = 0;
            reading.Start();
            var outcome = Bounded.Run(() => ImageIO.Read(path), PerCaseLimit);
            reading.Stop();
            // The budget counts decompressed bytes, so a gzip or zlib payload is judged by what it really holds, and
            // the volume returned: a small file may legitimately decode to a large image, a rejected one may not.
            long held = Math.Max(files.Max(x => x.Held), (outcome.Result as Volume)?.Data.LongLength ?? 0);
            long budget = AllocationFactor * held + AllocationSlack;
            string label = $"{seed.Name} case {i} (strategy {strategy})";
            if (outcome.TimedOut) { bad.Add($"{label}: still running after {PerCaseLimit.TotalSeconds} s"); Unblock(dir); continue; }
            if (outcome.Result is Volume v && !Consistent(v)) bad.Add($"{label}: read a volume whose shape [{string.Join(", ", v.Shape)}] does not match its {v.Data.Length} bytes");
            if (outcome.Error is null) readOk++;
            else if (outcome.Error is ImageFormatException ife && ife.Message.Contains(dir.Path)) rejected++;
            else bad.Add($"{label}: {outcome.Error.GetType().Name}: {outcome.Error.Message}");
            maxAllocated = Math.Max(maxAllocated, outcome.Allocated);
            if (held >= 64 << 10) maxRatio = Math.Max(maxRatio, (double)outcome.Allocated / held);
            if (outcome.Allocated > budget) bad.Add($"{label}: allocated {outcome.Allocated:N0} bytes, budget {budget:N0}");
            if (kind == "dicom" && probe.LastPeakGrowth >= 0)
            {
                // The decoder holds the file, GDCM's decoded buffer and our copy of it: a small multiple of the file plus the
                // decoded size it checked against the limits before decompressing.
                long decoderBudget = AllocationFactor * files[0].Bytes.LongLength + 4 * probe.LastCheckedBytes + DecoderSlack;
                maxDecoderGrowth = Math.Max(maxDecoderGrowth, probe.LastPeakGrowth);
                maxChecked = Math.Max(maxChecked, probe.LastCheckedBytes);
                if (probe.LastPeakGrowth > decoderBudget) bad.Add($"{label}: the decoder grew by {probe.LastPeakGrowth:N0} bytes, budget {decoderBudget:N0}");
            }
            foreach (var (p, _, _) in files) if (!Path.GetFileName(p).StartsWith("seed")) File.Delete(p);
            if (path != files[0].Path) Directory.Delete(path, true);
        }
        clock.Stop();
        Dicom.DicomDecoderPool.CurrentProbe.Value = null;
        if (kind == "dicom")
            output.WriteLine($"dicom: {probe.Crashes} cases crashed a decoder and {probe.TimeOuts} timed out (after {DicomDecodeLimit.TotalSeconds} s), all contained as " +
                             $"ImageFormatException; {probe.Started} decoders started; largest decoder growth in one case {maxDecoderGrowth:N0} bytes, " +
                             $"largest decoded size checked {maxChecked:N0} bytes");
        output.WriteLine($"{kind}: {readOk + rejected + bad.Count} mutated cases from {seeds.Count} seeds in {clock.Elapsed.TotalSeconds:F1} s ({reading.Elapsed.TotalSeconds:F1} s reading): {readOk} read, {rejected} rejected with ImageFormatException, {bad.Count} bad; " +
                         $"largest allocation {maxAllocated:N0} bytes; cases holding 64 KiB or more allocated at most {maxRatio:F2}x what they hold");
        Assert.True(bad.Count == 0, string.Join("\n", bad.Take(30)));
        Assert.True(readOk > 0 && rejected > 0, "the mutations should both keep some files readable and break others");
    }

    /// <summary>The shape's exact voxel count (no 64-bit wrap) times the voxel size is the buffer's length.</summary>
    private static bool Consistent(Volume v)
    {
        System.Numerics.BigInteger n = v.DataType.Size();
        foreach (var d in v.Shape) n *= d;
        return n == v.Data.LongLength;
    }

    /// <summary>
    /// A reader stuck on the FIFO is released by opening its write end (then EOF). That open itself waits for a reader,
    /// and the stuck case may be stuck elsewhere, so it runs on a background thread that is allowed to wait for good.
    /// </summary>
    private static void Unblock(TempDir dir)
    {
        var fifo = dir.File("pipe.raw");
        new Thread(() =>
        {
            try { using var w = new FileStream(fifo, FileMode.Open, FileAccess.Write); }
            catch (IOException) { }
        }) { IsBackground = true }.Start();
    }

    /// <summary>The bytes a file holds once decompressed: its own length plus whatever its gzip/zlib payload inflates to (up to the first error).</summary>
    private static long Unpacked(byte[] b)
    {
        if (b.Length > 2 && b[0] == 0x1f && b[1] == 0x8b) return Math.Max(b.Length, InflatedLength(new GZipStream(new MemoryStream(b), CompressionMode.Decompress)));
        if (b.Length > 8 && b.AsSpan(0, 8).SequenceEqual(PngBuilder.Signature))
        {
            try { return b.Length + InflatedLength(new ZLibStream(new MemoryStream(PngBuilder.Parse(b).Idat), CompressionMode.Decompress)); }
            catch (Exception e) when (e is ArgumentException or IndexOutOfRangeException or NullReferenceException) { return b.Length; }
        }
        int local = IndexOf(b, "ElementDataFile = LOCAL\n"u8);
        if (local >= 0) return b.Length + InflatedLength(new ZLibStream(new MemoryStream(b[(local + "ElementDataFile = LOCAL\n".Length)..]), CompressionMode.Decompress));
        if (b.Length > 2 && b[0] == 0x78) return b.Length + InflatedLength(new ZLibStream(new MemoryStream(b), CompressionMode.Decompress));
        return b.LongLength;
    }

    private static long InflatedLength(Stream z)
    {
        long total = 0;
        var buffer = new byte[1 << 16];
        try { int n; while ((n = z.Read(buffer)) > 0) total += n; }
        catch (Exception e) when (e is InvalidDataException or IOException) { } // zlib may also fail with an IOException (e.g. a preset dictionary asked for)
        finally { z.Dispose(); }
        return total;
    }

    private static int IndexOf(byte[] b, ReadOnlySpan<byte> what) => b.AsSpan().IndexOf(what);

    /// <summary>A mutated file, the strategy used, and when known without inflating it again, the bytes it holds decompressed.</summary>
    private static (byte[], int, long?) MutateFor(string kind, byte[] bytes, Random rng, Func<byte[], byte[]> gunzip)
    {
        bool gz = bytes.Length > 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
        bool text = kind is "mha" or "mhd" && IndexOf(bytes, "NDims"u8) >= 0;
        int pick = rng.Next(10);
        if (gz && pick < 6) // mutations under the gzip layer
        {
            var (m, s) = MutateBinary(kind, gunzip(bytes), rng);
            var packed = Gzip(m);
            return (packed, 100 + s, Math.Max(m.LongLength, packed.LongLength));
        }
        if (text && pick < 5) return (MutateMetaHeader(bytes, rng), 200 + pick, null);
        if (kind == "png" && pick < 7) return (MutatePng(bytes, rng), 300 + pick, null);
        if (kind == "dicom" && pick < 6) return (MutateDicom(bytes, rng, out int s), 400 + s, null);
        var (b, strategy) = MutateBinary(kind, bytes, rng);
        return (b, strategy, null);
    }

    private static (byte[], int) MutateBinary(string kind, byte[] b, Random rng)
    {
        int strategy = rng.Next(kind.StartsWith("nii") ? 7 : 5);
        return (strategy switch
        {
            5 or 6 => MutateNiftiField(b, rng),
            _ => Mutate(b, strategy, rng),
        }, strategy);
    }

    private static readonly long[] Extremes = [0, -1, 1, 2, 3, 0x7FFF, 0x8000, 0xFFFF, 16384, 65536, int.MaxValue, int.MinValue, uint.MaxValue, long.MaxValue, long.MinValue, 1L << 32,
                                               0x7F800000 /* +Inf */, 0x7FC00000 /* NaN */, 0x4E6E6B28 /* 1e9f */];

    private static byte[] Mutate(byte[] src, int strategy, Random rng)
    {
        var b = (byte[])src.Clone();
        if (b.Length == 0) return b;
        int headerSpan = Math.Min(b.Length, 600);
        switch (strategy)
        {
            case 0: // flip a few bits in the header
                for (int k = rng.Next(1, 9); k > 0; k--) b[rng.Next(headerSpan)] ^= (byte)(1 << rng.Next(8));
                return b;
            case 1: // truncate
                return b[..rng.Next(b.Length)];
            case 2: // an extreme value over a header field
            {
                int at = rng.Next(Math.Max(1, headerSpan - 8));
                var value = BitConverter.GetBytes(Extremes[rng.Next(Extremes.Length)]);
                Array.Copy(value, 0, b, at, Math.Min(new[] { 2, 4, 8 }[rng.Next(3)], b.Length - at));
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

    /// <summary>An extreme value written over one NIfTI field (dims, datatype, bitpix, vox_offset, scaling, qform/sform), either byte order.</summary>
    private static byte[] MutateNiftiField(byte[] src, Random rng)
    {
        var b = (byte[])src.Clone();
        if (b.Length < 540) return Mutate(src, 3, rng);
        bool v2 = BinaryPrimitives.ReadInt32LittleEndian(b) == 540 || BinaryPrimitives.ReadInt32BigEndian(b) == 540;
        bool big = BinaryPrimitives.ReadInt32BigEndian(b) is 348 or 540;
        (int Offset, int Size)[] fields = v2
            ? [(16, 8), (24, 8), (32, 8), (40, 8), (48, 8), (56, 8), (12, 2), (14, 2), (168, 8), (176, 8), (184, 8), (104, 8), (112, 8), (344, 4), (348, 4), (352, 8), (400, 8)]
            : [(40, 2), (42, 2), (44, 2), (46, 2), (48, 2), (50, 2), (70, 2), (72, 2), (108, 4), (112, 4), (116, 4), (76, 4), (80, 4), (252, 2), (254, 2), (256, 4), (280, 4)];
        int fieldCount = rng.Next(1, 4);
        for (int k = 0; k < fieldCount; k++)
        {
            var (offset, size) = fields[rng.Next(fields.Length)];
            long value = Extremes[rng.Next(Extremes.Length)];
            if (rng.Next(3) == 0) value = rng.Next(-3, 1 << rng.Next(1, 17));
            Span<byte> v = stackalloc byte[8];
            if (big) BinaryPrimitives.WriteInt64BigEndian(v, value); else BinaryPrimitives.WriteInt64LittleEndian(v, value);
            (big ? v[(8 - size)..] : v[..size]).CopyTo(b.AsSpan(offset));
        }
        return b;
    }

    /// <summary>Pixel-describing and structural elements of a DICOM file (group, element).</summary>
    private static readonly (ushort Group, ushort Element)[] DicomFields =
    [
        (0x0028, 0x0010) /* Rows */, (0x0028, 0x0011) /* Columns */, (0x0028, 0x0100) /* BitsAllocated */, (0x0028, 0x0101) /* BitsStored */,
        (0x0028, 0x0102) /* HighBit */, (0x0028, 0x0103) /* PixelRepresentation */, (0x0028, 0x0002) /* SamplesPerPixel */,
        (0x0028, 0x0006) /* PlanarConfiguration */, (0x0028, 0x0008) /* NumberOfFrames */, (0x0028, 0x0004) /* PhotometricInterpretation */,
        (0x0028, 0x0009) /* FrameIncrementPointer */, (0x0028, 0x1053) /* RescaleSlope */, (0x0028, 0x0030) /* PixelSpacing */,
        (0x0020, 0x0032) /* ImagePositionPatient */, (0x0020, 0x0037) /* ImageOrientationPatient */, (0x0002, 0x0010) /* TransferSyntaxUID */,
        (0x0008, 0x0016) /* SOPClassUID */, (0x7FE0, 0x0010) /* PixelData */,
    ];

    private static readonly string[] DicomStrings =
    [
        "0", "-1", "1", "3", "8", "12", "16", "32", "64", "255", "65535", "65536", "2147483647", "2147483648", "99999999", "1e308", "NaN", "",
        "MONOCHROME1", "RGB", "PALETTE COLOR", "YBR_FULL_422", "YBR_RCT", "1.2.840.10008.1.2", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99",
        "1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70",
        "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.3.10", "1.2.840.10008.5.1.4.1.1.481.2",
    ];

    private static readonly HashSet<string> LongVrs = ["OB", "OW", "OF", "OD", "OL", "SQ", "UT", "UN", "UC", "UR"];

    /// <summary>
    /// Element-level DICOM mutations: an element's value (binary extremes or strings), its length field, the element
    /// removed, or an encapsulated fragment's length. Elements are found by their tag bytes (little or big endian),
    /// the VR decides explicit or implicit layout.
    /// </summary>
    private static byte[] MutateDicom(byte[] src, Random rng, out int strategy)
    {
        var b = (byte[])src.Clone();
        strategy = rng.Next(5);
        if (strategy == 4) // a fragment (item) length inside encapsulated pixel data
        {
            int pixel = LastTag(b, 0x7FE0, 0x0010, out _);
            var items = new List<int>();
            ReadOnlySpan<byte> itemTag = [0xFE, 0xFF, 0x00, 0xE0];
            for (int at = pixel + 4; pixel >= 0 && at < b.Length; at += 4)
            {
                int n = b.AsSpan(at).IndexOf(itemTag);
                if (n < 0) break;
                at += n;
                if (at + 8 <= b.Length) items.Add(at);
            }
            if (items.Count == 0) return Mutate(src, 3, rng);
            int item = items[rng.Next(items.Count)];
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(item + 4));
            uint[] values = [0, 1, 2, 0xFFFFFFFF, 0xFFFFFFFE, 0x7FFFFFFF, length + 1, length - 1, length * 2, length / 2, (uint)b.Length];
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(item + 4), values[rng.Next(values.Length)]);
            return b;
        }
        var (group, element) = DicomFields[rng.Next(DicomFields.Length)];
        int p = group == 0x7FE0 ? LastTag(b, group, element, out bool big) : FirstTag(b, group, element, out big);
        if (p < 0 || p + 12 > b.Length) return Mutate(src, 3, rng);
        bool explicitVr = char.IsAsciiLetterUpper((char)b[p + 4]) && char.IsAsciiLetterUpper((char)b[p + 5]);
        bool longVr = explicitVr && LongVrs.Contains(System.Text.Encoding.ASCII.GetString(b, p + 4, 2));
        int lengthAt = !explicitVr ? p + 4 : longVr ? p + 8 : p + 6, lengthSize = explicitVr && !longVr ? 2 : 4, valueAt = lengthAt + lengthSize;
        long valueLength = lengthSize == 2 ? (big ? BinaryPrimitives.ReadUInt16BigEndian(b.AsSpan(lengthAt)) : BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(lengthAt)))
                                           : (big ? BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(lengthAt)) : BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(lengthAt)));
        int available = (int)Math.Clamp(Math.Min(valueLength == 0xFFFFFFFF ? 0 : valueLength, b.Length - valueAt), 0, int.MaxValue);
        switch (strategy)
        {
            case 0: // a binary extreme over the value (US/UL fields, or the first bytes of anything)
            {
                Span<byte> v = stackalloc byte[8];
                long value = rng.Next(3) == 0 ? rng.Next(-3, 1 << rng.Next(1, 17)) : Extremes[rng.Next(Extremes.Length)];
                if (big) BinaryPrimitives.WriteInt64BigEndian(v, value); else BinaryPrimitives.WriteInt64LittleEndian(v, value);
                int size = Math.Min(available, new[] { 2, 4 }[rng.Next(2)]);
                (big ? v[(8 - size)..] : v[..size]).CopyTo(b.AsSpan(valueAt));
                return b;
            }
            case 1: // a string value (numbers, photometric interpretations, transfer syntaxes), padded to the same length or not
            {
                var text = System.Text.Encoding.ASCII.GetBytes(DicomStrings[rng.Next(DicomStrings.Length)]);
                if (rng.Next(3) > 0 || lengthSize == 4)
                {
                    var value = new byte[available];
                    text.AsSpan(0, Math.Min(text.Length, available)).CopyTo(value);
                    if (text.Length < available) value.AsSpan(text.Length).Fill(group == 0x0002 || element is 0x0016 ? (byte)0 : (byte)' ');
                    value.CopyTo(b.AsSpan(valueAt));
                    return b;
                }
                var padded = text.Length % 2 == 1 ? [.. text, (byte)' '] : text;
                if (big) BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(lengthAt), (ushort)padded.Length); else BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(lengthAt), (ushort)padded.Length);
                return [.. b[..valueAt], .. padded, .. b[(valueAt + available)..]];
            }
            case 2: // the length field
            {
                long[] values = [0, 1, 2, 3, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFE, 0x7FFFFFFF, valueLength + 2, valueLength - 2, valueLength * 2, b.Length];
                long value = values[rng.Next(values.Length)];
                if (lengthSize == 2) { if (big) BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(lengthAt), (ushort)value); else BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(lengthAt), (ushort)value); }
                else if (big) BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(lengthAt), (uint)value); else BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(lengthAt), (uint)value);
                return b;
            }
            default: // the element removed
                return [.. b[..p], .. b[(valueAt + available)..]];
        }
    }

    private static int FirstTag(byte[] b, ushort group, ushort element, out bool big)
    {
        Span<byte> little = [(byte)group, (byte)(group >> 8), (byte)element, (byte)(element >> 8)];
        Span<byte> bigTag = [(byte)(group >> 8), (byte)group, (byte)(element >> 8), (byte)element];
        int l = b.AsSpan(128).IndexOf(little), g = group == 0x0002 ? -1 : b.AsSpan(128).IndexOf(bigTag);
        big = g >= 0 && (l < 0 || g < l);
        int at = big ? g : l;
        return at < 0 ? -1 : at + 128;
    }

    private static int LastTag(byte[] b, ushort group, ushort element, out bool big)
    {
        Span<byte> little = [(byte)group, (byte)(group >> 8), (byte)element, (byte)(element >> 8)];
        Span<byte> bigTag = [(byte)(group >> 8), (byte)group, (byte)(element >> 8), (byte)element];
        int l = b.AsSpan().LastIndexOf(little), g = b.AsSpan().LastIndexOf(bigTag);
        big = g > l;
        return Math.Max(l, g);
    }

    private static readonly string[] MetaValues =
    [
        "0", "-1", "1", "2", "4", "5", "65", "2147483647", "2147483648", "4294967296", "1e300", "NaN", "", "True", "False", "-1 -1",
        "65536 65536 65536 65536", "16384 16384 16384 16384", "46341 46341", "1 1 1 1 1", "3 3 3", "MET_DOUBLE", "MET_FOOBAR", "MET_ULONG_LONG",
        "LOCAL", "/dev/zero", "/etc/hostname", "../secret.raw", "pipe.raw", "zero.raw", "%d.raw", "LIST", "c0.raw",
    ];

    /// <summary>Line-level MetaImage mutations: a key's value replaced, a line dropped or repeated, keys swapped.</summary>
    private static byte[] MutateMetaHeader(byte[] src, Random rng)
    {
        int end = IndexOf(src, "ElementDataFile"u8);
        end = end < 0 ? src.Length : Array.IndexOf(src, (byte)'\n', end) is var e && e >= 0 ? e + 1 : src.Length;
        var lines = Encoding.Latin1.GetString(src, 0, end).Split('\n').Where(l => l.Length > 0).ToList();
        var tail = src[end..];
        int n = rng.Next(1, 3);
        for (int k = 0; k < n && lines.Count > 0; k++)
        {
            int at = rng.Next(lines.Count);
            var key = lines[at].Split('=')[0].Trim();
            switch (rng.Next(4))
            {
                case 0: case 1: lines[at] = $"{key} = {MetaValues[rng.Next(MetaValues.Length)]}"; break;
                case 2: lines.RemoveAt(at); break;
                default: lines.Insert(rng.Next(lines.Count), lines[at]); break;
            }
        }
        return [.. Encoding.Latin1.GetBytes(string.Join("\n", lines) + "\n"), .. tail];
    }

    /// <summary>PNG mutations that reach the decoder: IHDR fields, chunk bodies and the scanlines themselves, with CRCs fixed.</summary>
    private static byte[] MutatePng(byte[] src, Random rng)
    {
        var (ihdr, idat, palette) = PngBuilder.Parse(src);
        ihdr = (byte[])ihdr.Clone();
        switch (rng.Next(5))
        {
            case 0: // an IHDR field
            {
                int field = rng.Next(5);
                if (field < 2)
                {
                    uint[] sizes = [0, 1, 2, 7, 8, 9, 255, 16384, 46341, 65536, 1u << 28, (uint)int.MaxValue, 0x80000000u, uint.MaxValue];
                    uint value = rng.Next(2) == 0 ? sizes[rng.Next(sizes.Length)] : BinaryPrimitives.ReadUInt32BigEndian(ihdr.AsSpan(field * 4)) + (uint)rng.Next(-3, 4);
                    BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(field * 4), value);
                }
                else ihdr[new[] { 8, 9, 12 }[field - 2]] = (byte)(new[] { 0, 1, 2, 4, 6, 8, 16, 3, 255 })[rng.Next(9)];
                return PngBuilder.File(ihdr, idat, palette);
            }
            case 1: // scanline bytes: filter types and samples, recompressed
            {
                byte[] raw;
                try { raw = PngBuilder.Inflate(idat); } catch (InvalidDataException) { return PngBuilder.FixCrcs(Mutate(src, 3, rng)); }
                if (raw.Length == 0) return src;
                for (int k = rng.Next(1, 17); k > 0; k--) raw[rng.Next(raw.Length)] = (byte)(rng.Next(3) == 0 ? rng.Next(8) : rng.Next(256));
                if (rng.Next(4) == 0) raw = raw[..rng.Next(raw.Length)];
                return PngBuilder.File(ihdr, PngBuilder.Zlib(raw, CompressionLevel.Fastest), palette);
            }
            case 2: // the palette: shortened or removed
                return PngBuilder.File(ihdr, idat, palette is null ? null : rng.Next(2) == 0 ? palette[..rng.Next(palette.Length)] : null);
            case 3: // a lying IHDR over a bomb: a big image whose IDAT inflates to zeros
            {
                BinaryPrimitives.WriteUInt32BigEndian(ihdr, (uint)rng.Next(1, 1 << rng.Next(1, 17)));
                BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(4), (uint)rng.Next(1, 1 << rng.Next(1, 17)));
                ihdr[12] = (byte)rng.Next(2);
                return PngBuilder.File(ihdr, PngBuilder.ZlibZeros(rng.Next(1, 1 << 20)), palette);
            }
            default: // bytes anywhere, then CRCs recomputed
                return PngBuilder.FixCrcs(Mutate(src, rng.Next(5), rng));
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

/// <summary>A theory that needs real files from Debian packages (see <see cref="DebianDataFactAttribute"/>).</summary>
public sealed class DebianDataTheoryAttribute : TheoryAttribute
{
    public DebianDataTheoryAttribute()
    {
        if (DebianPython.MissingReason is { } why) Skip = "SKIPPED: " + why;
        else if (DebianData.MissingReason is { } why2) Skip = "SKIPPED: " + why2;
    }
}
