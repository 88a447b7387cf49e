using System.IO.Compression;

namespace MlNetMedical.Imaging.Formats;

/// <summary>
/// NIfTI-1 and NIfTI-2 reader and writer: .nii, .nii.gz, .hdr/.img (.img.gz) pairs, either byte
/// order. The affine follows nibabel: sform when sform_code ≠ 0, else qform when qform_code ≠ 0,
/// else the base affine from pixdim with x flipped and the origin at the centre.
/// </summary>
public static class Nifti
{
    public static bool HandlesPath(string path)
    {
        var p = path.ToLowerInvariant();
        return p.EndsWith(".nii") || p.EndsWith(".nii.gz") || p.EndsWith(".hdr") || p.EndsWith(".hdr.gz") || p.EndsWith(".img") || p.EndsWith(".img.gz");
    }

    /// <summary>The header and data paths of a file or pair.</summary>
    public static (string Header, string Data) ResolvePair(string path)
    {
        var lower = path.ToLowerInvariant();
        string Swap(string from, string to)
        {
            var gz = lower.EndsWith(".gz");
            var stem = path[..^(from.Length + (gz ? 3 : 0))];
            foreach (var candidate in new[] { stem + to + (gz ? ".gz" : ""), stem + to + (gz ? "" : ".gz"), stem + to.ToUpperInvariant() })
                if (File.Exists(candidate)) return candidate;
            return stem + to + (gz ? ".gz" : "");
        }
        if (lower.EndsWith(".hdr") || lower.EndsWith(".hdr.gz")) return (path, Swap(".hdr", ".img"));
        if (lower.EndsWith(".img") || lower.EndsWith(".img.gz")) return (Swap(".img", ".hdr"), path);
        return (path, path);
    }

    public static NiftiHeader ReadHeader(string path)
    {
        var (headerPath, _) = ResolvePair(path);
        using var s = OpenOrThrow(headerPath);
        return ReadHeader(s, headerPath);
    }

    private static Stream OpenOrThrow(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"'{path}': file not found", path);
        return FileBytes.OpenRead(path);
    }

    private static NiftiHeader ReadHeader(Stream s, string path)
    {
        var buffer = new byte[NiftiHeader.Nifti2Size];
        FileBytes.ReadExactly(s, buffer.AsSpan(0, 4), path, "sizeof_hdr");
        var probe = NiftiHeader.Probe(buffer) ?? throw new ImageFormatException(path,
            $"not a NIfTI file: sizeof_hdr is {BitConverter.ToInt32(buffer, 0)}, expected 348 (NIfTI-1) or 540 (NIfTI-2)");
        int size = probe.Version == 1 ? NiftiHeader.Nifti1Size : NiftiHeader.Nifti2Size;
        FileBytes.ReadExactly(s, buffer.AsSpan(4, size - 4), path, $"the NIfTI-{probe.Version} header");
        return NiftiHeader.Parse(buffer.AsSpan(0, size), path);
    }

    /// <summary>
    /// Reads a .nii, .nii.gz or .hdr/.img pair. The dims are checked against <see cref="ReadOptions.MaxVoxels"/>
    /// and against the data present before the voxel buffer is allocated.
    /// </summary>
    public static Volume Read(string path, ReadOptions? options = null)
    {
        options ??= ReadOptions.Default;
        var (headerPath, dataPath) = ResolvePair(path);
        NiftiHeader h;
        Stream s = OpenOrThrow(headerPath);
        try
        {
            h = ReadHeader(s, headerPath);
            var type = VoxelTypeOf(h.DataTypeCode, headerPath);
            var (_, bytes) = ImageLimits.Check(headerPath, h.Shape, type.Size(), options.MaxVoxels);
            var shape = h.Shape.Select(d => (int)d).ToArray();
            string Need(long offset) => $"header dims [{string.Join(", ", shape)}] of {type.Name()} need {bytes} bytes after offset {offset}";
            long offset = h.VoxOffset;
            if (h.SingleFile)
            {
                if (offset != 0 && offset < h.HeaderSize + 4)
                    throw new ImageFormatException(headerPath, $"vox_offset {offset} is inside the {h.HeaderSize}-byte header of a single-file NIfTI");
                offset = Math.Max(offset, h.HeaderSize + 4);
            }
            else if (offset < 0) throw new ImageFormatException(headerPath, $"negative vox_offset {offset}");
            if (!h.SingleFile)
            {
                s.Dispose();
                if (!File.Exists(dataPath)) throw new ImageFormatException(headerPath, $"the pair's image file '{dataPath}' does not exist");
                s = FileBytes.OpenRead(dataPath);
            }
            var dataFile = h.SingleFile ? headerPath : dataPath;
            // Subtractions, not offset + bytes: vox_offset comes from the file and may be near long.MaxValue.
            if (s.CanSeek && (offset > s.Length || s.Length - offset < bytes))
                throw new ImageFormatException(dataFile, $"truncated or wrong dims: {Need(offset)}, the file has {Math.Max(0, s.Length - offset)}");
            if (!s.CanSeek)
                ImageLimits.CheckInflatable(dataFile, offset > long.MaxValue - bytes ? long.MaxValue : offset + bytes, FileBytes.FileLength(s),
                    $"the voxel data for dims [{string.Join(", ", shape)}] of {type.Name()} after offset {offset}");
            if (h.SingleFile) FileBytes.Skip(s, offset - h.HeaderSize, headerPath, "the extension block before the voxels");
            else FileBytes.Skip(s, offset, dataPath, "the bytes before the voxels");
            var data = FileBytes.ReadVoxels(s, (int)bytes, dataFile, $"voxel data for dims [{string.Join(", ", shape)}] of {type.Name()}", FileBytes.FileLength(s));
            if (h.BigEndian) type.SwapBytes(data);
            var v = new Volume(type, shape, data, BestAffine(h, headerPath)) { SourcePath = path };
            if (h.SclSlope != 0 && double.IsFinite(h.SclSlope) && type != VoxelType.Rgb24)
            {
                if (!double.IsFinite(h.SclInter))
                    throw new ImageFormatException(headerPath, $"scl_slope {h.SclSlope} is valid but scl_inter {h.SclInter} is not finite");
                v.ScaleSlope = h.SclSlope;
                v.ScaleIntercept = h.SclInter;
            }
            v.Metadata["format"] = $"nifti{h.Version}";
            v.Metadata["nifti.qform_code"] = h.QformCode.ToString();
            v.Metadata["nifti.sform_code"] = h.SformCode.ToString();
            v.Metadata["nifti.byte_order"] = h.BigEndian ? "big" : "little";
            if (h.Description.Length > 0) v.Metadata["description"] = h.Description;
            return v;
        }
        finally { s.Dispose(); }
    }

    public static VoxelType VoxelTypeOf(short code, string path) => code switch
    {
        2 => VoxelType.UInt8,
        4 => VoxelType.Int16,
        8 => VoxelType.Int32,
        16 => VoxelType.Float32,
        64 => VoxelType.Float64,
        128 => VoxelType.Rgb24,
        256 => VoxelType.Int8,
        512 => VoxelType.UInt16,
        768 => VoxelType.UInt32,
        1024 => VoxelType.Int64,
        1280 => VoxelType.UInt64,
        _ => throw new ImageFormatException(path, $"NIfTI datatype {code} is not supported (supported: uint8, int8, int16, uint16, int32, uint32, int64, uint64, float32, float64, RGB24)"),
    };

    public static short CodeOf(VoxelType t) => t switch
    {
        VoxelType.UInt8 => 2, VoxelType.Int16 => 4, VoxelType.Int32 => 8, VoxelType.Float32 => 16, VoxelType.Float64 => 64,
        VoxelType.Rgb24 => 128, VoxelType.Int8 => 256, VoxelType.UInt16 => 512, VoxelType.UInt32 => 768,
        VoxelType.Int64 => 1024, VoxelType.UInt64 => 1280,
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "no NIfTI datatype"),
    };

    /// <summary>nibabel's get_best_affine, including the fixes it applies on load (qfac ∉ {−1, 1} → 1, pixdim → |pixdim|, 0 → 1).</summary>
    public static Affine BestAffine(NiftiHeader h, string path)
    {
        if (h.SformCode != 0)
        {
            var a = new double[16];
            Array.Copy(h.SRow, a, 12);
            a[15] = 1;
            return new Affine(a);
        }
        var zooms = new double[3];
        for (int i = 0; i < 3; i++)
        {
            var z = Math.Abs(h.PixDim[i + 1]);
            zooms[i] = z == 0 || double.IsNaN(z) ? 1 : z;
        }
        if (h.QformCode != 0)
        {
            double b = h.QuaternB, c = h.QuaternC, d = h.QuaternD;
            double w2 = 1.0 - (b * b + c * c + d * d);
            // nibabel's threshold: three machine epsilons of the header's float type.
            double threshold = h.Version == 1 ? -3 * 1.1920928955078125e-07 : -3 * 2.220446049250313e-16;
            if (w2 < threshold || double.IsNaN(w2))
                throw new ImageFormatException(path, $"qform quaternion ({b}, {c}, {d}) has a norm above 1");
            double w = w2 < 0 ? 0 : Math.Sqrt(w2);
            var r = QuaternionToMatrix(w, b, c, d);
            double qfac = h.PixDim[0] == -1 ? -1 : 1;
            zooms[2] *= qfac;
            var a = new double[16];
            for (int row = 0; row < 3; row++)
            {
                for (int col = 0; col < 3; col++) a[row * 4 + col] = r[row, col] * zooms[col];
                a[row * 4 + 3] = h.QOffset[row];
            }
            a[15] = 1;
            return new Affine(a);
        }
        // Base affine: shape_zoom_affine(dim, pixdim, x_flip=True), origin at the centre voxel.
        var ndim = (int)h.Dim[0];
        var baseA = new double[16];
        for (int i = 0; i < 3; i++)
        {
            double size = i < ndim ? h.Dim[i + 1] : 1;
            double zoom = i < ndim ? h.PixDim[i + 1] : 1;
            if (i < ndim && (zoom == 0 || double.IsNaN(zoom))) zoom = 1;
            zoom = Math.Abs(zoom);
            if (i == 0) zoom = -zoom;
            baseA[i * 5] = zoom;
            baseA[i * 4 + 3] = -(size - 1) / 2.0 * zoom;
        }
        baseA[15] = 1;
        return new Affine(baseA);
    }

    private static double[,] QuaternionToMatrix(double w, double x, double y, double z)
    {
        double n = w * w + x * x + y * y + z * z;
        if (n < 2.220446049250313e-16) return new double[,] { { 1, 0, 0 }, { 0, 1, 0 }, { 0, 0, 1 } };
        double s = 2.0 / n, X = x * s, Y = y * s, Z = z * s;
        double wX = w * X, wY = w * Y, wZ = w * Z, xX = x * X, xY = x * Y, xZ = x * Z, yY = y * Y, yZ = y * Z, zZ = z * Z;
        return new[,]
        {
            { 1 - (yY + zZ), xY - wZ, xZ + wY },
            { xY + wZ, 1 - (xX + zZ), yZ - wX },
            { xZ - wY, yZ + wX, 1 - (xX + yY) },
        };
    }

    /// <summary>
    /// Writes .nii, .nii.gz, .hdr (+ .img) or .img.gz/.hdr.gz pairs, little-endian. The affine goes
    /// to the sform (exact in NIfTI-2; float32 in NIfTI-1) and, as a rotation plus zooms, to the qform.
    /// Equal volumes give identical bytes, compressed or not.
    /// </summary>
    public static void Write(Volume volume, string path, int version = 1, CompressionLevel compression = CompressionLevel.Optimal)
    {
        if (version is not (1 or 2)) throw new ArgumentOutOfRangeException(nameof(version), version, "NIfTI version must be 1 or 2");
        if (volume.Shape.Length > 7) throw new ArgumentException($"NIfTI holds at most 7 dimensions, the volume has {volume.Shape.Length}", nameof(volume));
        if (version == 1 && volume.Shape.Any(d => d > short.MaxValue))
            throw new ArgumentException($"NIfTI-1 dims are at most {short.MaxValue}; use version 2 for shape [{string.Join(", ", volume.Shape)}]", nameof(version));
        var lower = path.ToLowerInvariant();
        bool pair = lower.EndsWith(".hdr") || lower.EndsWith(".hdr.gz") || lower.EndsWith(".img") || lower.EndsWith(".img.gz");
        if (!pair && !lower.EndsWith(".nii") && !lower.EndsWith(".nii.gz"))
            throw new ArgumentException($"'{path}': a NIfTI file name ends in .nii, .nii.gz, .hdr or .img", nameof(path));
        var h = new NiftiHeader { Version = version, SingleFile = !pair };
        h.Dim[0] = volume.Shape.Length;
        for (int i = 0; i < 7; i++) h.Dim[i + 1] = i < volume.Shape.Length ? volume.Shape[i] : 1;
        h.DataTypeCode = CodeOf(volume.DataType);
        h.BitPix = (short)(volume.DataType.Size() * 8);
        for (int i = 4; i < 8; i++) h.PixDim[i] = 1;
        h.VoxOffset = pair ? 0 : h.HeaderSize + 4;
        if (volume.IsScaled) { h.SclSlope = volume.ScaleSlope; h.SclInter = volume.ScaleIntercept; }
        h.XyztUnits = 2 | 8; // mm, s
        h.Description = volume.Metadata.GetValueOrDefault("description", "");
        int Code(string key) => int.TryParse(volume.Metadata.GetValueOrDefault(key), out var c) && c > 0 ? c : 0;
        h.SformCode = Code("nifti.sform_code") is var sc && sc > 0 ? sc : 2;
        h.QformCode = Code("nifti.qform_code") is var qc && qc > 0 ? qc : h.SformCode;
        var a = volume.Affine;
        for (int r = 0; r < 3; r++) for (int c = 0; c < 4; c++) h.SRow[r * 4 + c] = a[r, c];
        SetQform(h, a);

        var headerBytes = h.ToBytes();
        if (pair)
        {
            var (hdrPath, imgPath) = ResolvePair(path);
            if (lower.EndsWith(".img") || lower.EndsWith(".img.gz")) imgPath = path;
            using (var hs = FileBytes.CreateWrite(hdrPath, compression)) { hs.Write(headerBytes); hs.Write(new byte[4]); }
            using var ds = FileBytes.CreateWrite(imgPath, compression);
            ds.Write(volume.Data);
        }
        else
        {
            using var s = FileBytes.CreateWrite(path, compression);
            s.Write(headerBytes);
            s.Write(new byte[4]); // no extensions
            s.Write(volume.Data);
        }
    }

    /// <summary>Stores the rotation part of <paramref name="a"/> as quaternion + qfac, zooms in pixdim[1..3].</summary>
    private static void SetQform(NiftiHeader h, Affine a)
    {
        var spacing = a.Spacing;
        var r = new double[3, 3];
        for (int i = 0; i < 3; i++)
        {
            if (spacing[i] == 0) spacing[i] = 1;
            for (int j = 0; j < 3; j++) r[j, i] = a[j, i] / spacing[i];
        }
        double det = r[0, 0] * (r[1, 1] * r[2, 2] - r[1, 2] * r[2, 1]) - r[0, 1] * (r[1, 0] * r[2, 2] - r[1, 2] * r[2, 0]) + r[0, 2] * (r[1, 0] * r[2, 1] - r[1, 1] * r[2, 0]);
        double qfac = det < 0 ? -1 : 1;
        if (qfac < 0) for (int j = 0; j < 3; j++) r[j, 2] = -r[j, 2];
        // Shepperd's method: pick the largest of w, x, y, z to divide by.
        double trace = r[0, 0] + r[1, 1] + r[2, 2], w, x, y, z;
        if (trace > 0)
        {
            double s = Math.Sqrt(trace + 1) * 2;
            w = 0.25 * s; x = (r[2, 1] - r[1, 2]) / s; y = (r[0, 2] - r[2, 0]) / s; z = (r[1, 0] - r[0, 1]) / s;
        }
        else if (r[0, 0] > r[1, 1] && r[0, 0] > r[2, 2])
        {
            double s = Math.Sqrt(1 + r[0, 0] - r[1, 1] - r[2, 2]) * 2;
            w = (r[2, 1] - r[1, 2]) / s; x = 0.25 * s; y = (r[0, 1] + r[1, 0]) / s; z = (r[0, 2] + r[2, 0]) / s;
        }
        else if (r[1, 1] > r[2, 2])
        {
            double s = Math.Sqrt(1 + r[1, 1] - r[0, 0] - r[2, 2]) * 2;
            w = (r[0, 2] - r[2, 0]) / s; x = (r[0, 1] + r[1, 0]) / s; y = 0.25 * s; z = (r[1, 2] + r[2, 1]) / s;
        }
        else
        {
            double s = Math.Sqrt(1 + r[2, 2] - r[0, 0] - r[1, 1]) * 2;
            w = (r[1, 0] - r[0, 1]) / s; x = (r[0, 2] + r[2, 0]) / s; y = (r[1, 2] + r[2, 1]) / s; z = 0.25 * s;
        }
        if (w < 0) { x = -x; y = -y; z = -z; }
        double norm = Math.Sqrt(w * w + x * x + y * y + z * z);
        if (norm > 0 && double.IsFinite(norm)) { x /= norm; y /= norm; z /= norm; }
        h.QuaternB = double.IsFinite(x) ? x : 0; h.QuaternC = double.IsFinite(y) ? y : 0; h.QuaternD = double.IsFinite(z) ? z : 0;
        h.PixDim[0] = qfac;
        for (int i = 0; i < 3; i++) h.PixDim[i + 1] = spacing[i];
        for (int i = 0; i < 3; i++) h.QOffset[i] = a[i, 3];
    }
}
