namespace MlNetMedical.Imaging;

/// <summary>
/// An immutable 4×4 voxel-to-world matrix (row-major). World coordinates are RAS+ millimetres,
/// the convention nibabel reports: +x right, +y anterior, +z superior.
/// </summary>
public sealed class Affine : IEquatable<Affine>
{
    private readonly double[] m; // 16 values, row-major

    public Affine(double[] rowMajor16)
    {
        if (rowMajor16.Length != 16) throw new ArgumentException($"an affine has 16 values, got {rowMajor16.Length}", nameof(rowMajor16));
        m = (double[])rowMajor16.Clone();
    }

    public Affine(double[,] matrix)
    {
        if (matrix.GetLength(0) != 4 || matrix.GetLength(1) != 4)
            throw new ArgumentException($"an affine is 4x4, got {matrix.GetLength(0)}x{matrix.GetLength(1)}", nameof(matrix));
        m = new double[16];
        for (int r = 0; r < 4; r++) for (int c = 0; c < 4; c++) m[r * 4 + c] = matrix[r, c];
    }

    public static Affine Identity { get; } = new([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);

    public double this[int row, int column] => m[row * 4 + column];

    /// <summary>Builds spacing·direction (columns are axis directions) plus origin.</summary>
    public static Affine FromGeometry(ReadOnlySpan<double> spacing, ReadOnlySpan<double> origin, double[,] direction)
    {
        var a = new double[16];
        for (int r = 0; r < 3; r++)
        {
            for (int c = 0; c < 3; c++) a[r * 4 + c] = direction[r, c] * (c < spacing.Length ? spacing[c] : 1.0);
            a[r * 4 + 3] = r < origin.Length ? origin[r] : 0;
        }
        a[15] = 1;
        return new Affine(a);
    }

    /// <summary>Scaling by <paramref name="spacing"/> with no rotation and the origin at zero.</summary>
    public static Affine Diagonal(params double[] spacing)
    {
        var a = (double[])Identity.m.Clone();
        for (int i = 0; i < Math.Min(3, spacing.Length); i++) a[i * 5] = spacing[i];
        return new Affine(a);
    }

    /// <summary>Voxel size along each index axis: the norms of the first three columns.</summary>
    public double[] Spacing
    {
        get
        {
            var s = new double[3];
            for (int c = 0; c < 3; c++) s[c] = Math.Sqrt(m[c] * m[c] + m[4 + c] * m[4 + c] + m[8 + c] * m[8 + c]);
            return s;
        }
    }

    /// <summary>World position of voxel (0,0,0).</summary>
    public double[] Origin => [m[3], m[7], m[11]];

    /// <summary>Unit direction cosines: column c is the world direction of index axis c.</summary>
    public double[,] Direction
    {
        get
        {
            var s = Spacing;
            var d = new double[3, 3];
            for (int r = 0; r < 3; r++)
                for (int c = 0; c < 3; c++) d[r, c] = s[c] == 0 ? (r == c ? 1 : 0) : m[r * 4 + c] / s[c];
            return d;
        }
    }

    public double[,] ToArray()
    {
        var a = new double[4, 4];
        for (int r = 0; r < 4; r++) for (int c = 0; c < 4; c++) a[r, c] = m[r * 4 + c];
        return a;
    }

    public double[] ToRowMajor() => (double[])m.Clone();

    public static Affine operator *(Affine a, Affine b)
    {
        var r = new double[16];
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++)
            {
                double s = 0;
                for (int k = 0; k < 4; k++) s += a.m[i * 4 + k] * b.m[k * 4 + j];
                r[i * 4 + j] = s;
            }
        return new Affine(r);
    }

    /// <summary>Maps a voxel index (continuous) to world coordinates.</summary>
    public double[] Apply(double i, double j, double k) =>
    [
        m[0] * i + m[1] * j + m[2] * k + m[3],
        m[4] * i + m[5] * j + m[6] * k + m[7],
        m[8] * i + m[9] * j + m[10] * k + m[11],
    ];

    /// <summary>The inverse (world to voxel), by Gauss-Jordan elimination with partial pivoting.</summary>
    public Affine Inverse()
    {
        var a = (double[])m.Clone();
        var inv = (double[])Identity.m.Clone();
        for (int col = 0; col < 4; col++)
        {
            int pivot = col;
            for (int r = col + 1; r < 4; r++) if (Math.Abs(a[r * 4 + col]) > Math.Abs(a[pivot * 4 + col])) pivot = r;
            if (Math.Abs(a[pivot * 4 + col]) < 1e-300) throw new InvalidOperationException("the affine is singular and has no inverse");
            if (pivot != col)
                for (int c = 0; c < 4; c++)
                {
                    (a[col * 4 + c], a[pivot * 4 + c]) = (a[pivot * 4 + c], a[col * 4 + c]);
                    (inv[col * 4 + c], inv[pivot * 4 + c]) = (inv[pivot * 4 + c], inv[col * 4 + c]);
                }
            double p = a[col * 4 + col];
            for (int c = 0; c < 4; c++) { a[col * 4 + c] /= p; inv[col * 4 + c] /= p; }
            for (int r = 0; r < 4; r++)
            {
                if (r == col) continue;
                double f = a[r * 4 + col];
                if (f == 0) continue;
                for (int c = 0; c < 4; c++) { a[r * 4 + c] -= f * a[col * 4 + c]; inv[r * 4 + c] -= f * inv[col * 4 + c]; }
            }
        }
        return new Affine(inv);
    }

    /// <summary>Converts between RAS+ and LPS+ (DICOM, ITK, MetaImage): negates the first two rows. Its own inverse.</summary>
    public Affine FlipXY()
    {
        var r = (double[])m.Clone();
        for (int c = 0; c < 4; c++) { r[c] = -r[c]; r[4 + c] = -r[4 + c]; }
        return new Affine(r);
    }

    /// <summary>
    /// For each index axis, the world axis it is closest to (0=x/R, 1=y/A, 2=z/S) and whether it points
    /// against that axis; nibabel's io_orientation for the usual non-oblique case.
    /// </summary>
    public (int WorldAxis, bool Flipped)[] Orientation()
    {
        var d = Direction;
        var used = new bool[3];
        var result = new (int, bool)[3];
        // Assign greedily by largest absolute cosine so each world axis is used once.
        var pairs = new List<(double v, int axis, int world)>();
        for (int c = 0; c < 3; c++) for (int r = 0; r < 3; r++) pairs.Add((Math.Abs(d[r, c]), c, r));
        pairs.Sort((x, y) => y.v.CompareTo(x.v));
        var done = new bool[3];
        foreach (var (_, axis, world) in pairs)
        {
            if (done[axis] || used[world]) continue;
            done[axis] = true; used[world] = true;
            result[axis] = (world, d[world, axis] < 0);
        }
        return result;
    }

    /// <summary>Axis codes such as "RAS" or "LPS": the direction each index axis increases toward.</summary>
    public string OrientationCode()
    {
        var chars = new char[3];
        var o = Orientation();
        for (int i = 0; i < 3; i++) chars[i] = (o[i].WorldAxis, o[i].Flipped) switch
        {
            (0, false) => 'R', (0, true) => 'L', (1, false) => 'A', (1, true) => 'P', (2, false) => 'S', _ => 'I',
        };
        return new string(chars);
    }

    public bool Equals(Affine? other) => other is not null && m.AsSpan().SequenceEqual(other.m);

    public override bool Equals(object? obj) => Equals(obj as Affine);

    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var v in m) h.Add(v);
        return h.ToHashCode();
    }

    /// <summary>True when every element differs by at most <paramref name="tolerance"/>.</summary>
    public bool ApproximatelyEquals(Affine other, double tolerance = 1e-6)
    {
        for (int i = 0; i < 16; i++) if (Math.Abs(m[i] - other.m[i]) > tolerance) return false;
        return true;
    }

    public override string ToString() =>
        string.Join("; ", Enumerable.Range(0, 4).Select(r => string.Join(", ", Enumerable.Range(0, 4).Select(c => m[r * 4 + c].ToString("G6", System.Globalization.CultureInfo.InvariantCulture)))));
}
