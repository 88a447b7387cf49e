namespace MlNetMedical.Imaging.Synthetic;

/// <summary>
/// liver-lesion-2d (paper B): portal-venous abdominal CT slices in HU cut from 3D patient phantoms
/// (body wall, spine, aorta, IVC, liver with vessels, spleen, stomach, kidneys, bowel) with lesions of
/// one type per patient: cyst (round, homogeneous, water density, sharp), hemangioma (lobulated,
/// hypodense with peripheral nodular enhancement) or metastasis (often several, hypodense core,
/// enhancing rim and a hypodense halo: a target). Masks follow LiTS: 1 liver, 2 lesion.
/// The pretrain split is LiTS-like: lesion masks without types, some slices without lesions.
/// </summary>
public sealed class LiverLesion2D : SyntheticTask
{
    public override string Name => "liver-lesion-2d";
    public override string Summary => "3 liver lesion types in CT-like HU slices, LiTS-style liver+lesion masks (128×128)";
    public override IReadOnlyList<string> ClassNames { get; } = ["cyst", "hemangioma", "metastasis"];
    /// <summary>332 labelled slices split about 70/30 by patient, plus 1,000 LiTS-like pretrain slices.</summary>
    public override (int Train, int Test, int Pretrain) DefaultCounts => (232, 100, 1000);
    public override int DefaultSize => 128;

    public const double FieldOfViewMm = 360, SliceThicknessMm = 5;
    public const int SlicesPerPatient = 3;
    public const byte LabelLiver = 1, LabelLesion = 2;
    /// <summary>Share of pretrain slices cut through the liver away from any lesion.</summary>
    public const double PretrainLesionFreeShare = 0.2;

    public override IReadOnlyList<SyntheticCase> Plan(SyntheticOptions options)
    {
        ValidatedSize(options);
        return PlanSplits(options, SlicesPerPatient, classPerPatient: true);
    }

    public override SyntheticSample Generate(SyntheticCase item, SyntheticOptions options)
    {
        int n = ValidatedSize(options);
        var patient = new Patient(PatientRandom(options, item), item.ClassIndex, item.Labelled);
        var random = CaseRandom(options, item, "slice");
        double z;
        if (patient.Lesions.Count == 0 || (!item.Labelled && random.Chance(PretrainLesionFreeShare))) z = patient.LiverSliceZ(random);
        else
        {
            var lesion = patient.Lesions[(item.SliceInPatient + random.Next(patient.Lesions.Count)) % patient.Lesions.Count];
            z = lesion.Z + random.Uniform(-0.4, 0.4) * lesion.Radius;
        }
        double spacing = FieldOfViewMm / n, half = (n - 1) / 2.0;
        double shiftX = random.Uniform(-10, 10), shiftY = random.Uniform(-10, 10);
        var image = new float[n * n];
        var mask = new byte[n * n];
        for (int j = 0, v = 0; j < n; j++)
            for (int i = 0; i < n; i++, v++)
            {
                var (hu, label) = patient.Evaluate((i - half) * spacing + shiftX, (j - half) * spacing + shiftY, z);
                image[v] = hu; mask[v] = label;
            }
        Raster.Blur(image, [n, n]);
        Raster.AddGaussianNoise(image, patient.NoiseHu, random);
        for (int v = 0; v < image.Length; v++) image[v] = Math.Max(image[v], -1024);
        var affine = Affine.FromGeometry([spacing, spacing, SliceThicknessMm], [-half * spacing + shiftX, -half * spacing + shiftY, z], new double[,] { { 1, 0, 0 }, { 0, 1, 0 }, { 0, 0, 1 } });
        var imageVolume = Volume.Create<short>(Raster.ToInt16(image, 1), [n, n], affine, spatialRank: 2);
        imageVolume.Metadata["description"] = "synthetic portal-venous CT slice, HU";
        var maskVolume = Volume.Create<byte>(mask, [n, n], affine, spatialRank: 2);
        maskVolume.Metadata["description"] = "1 liver, 2 lesion";
        return new SyntheticSample(imageVolume, maskVolume);
    }

    public sealed record Lesion(int Type, double X, double Y, double Z, double Radius, double CoreHu, double RimHu, double RimInner, double HaloHu, double Margin, double Lobulation, double Fill);

    /// <summary>One patient's abdomen in body millimetres (x right, y anterior, z superior), evaluated in HU.</summary>
    private sealed class Patient
    {
        public List<Lesion> Lesions { get; } = [];
        public double NoiseHu { get; }
        private readonly double bodyA, bodyB, subcut, muscle, liverHu, vesselHu, aortaHu, fatHu, spleenHu;
        private readonly double lx, ly, lz, la, lb, lc, mx, my, mz, ma, mb, mc;
        private readonly SmoothNoise shape, texture, vessels, bowel, lobes, nodules;

        public Patient(SyntheticRandom r, int type, bool labelled)
        {
            shape = new(r); texture = new(r); vessels = new(r); bowel = new(r); lobes = new(r); nodules = new(r);
            bodyA = r.Uniform(145, 180); bodyB = r.Uniform(105, 135); subcut = r.Uniform(8, 30); muscle = r.Uniform(8, 14);
            liverHu = r.Uniform(95, 130); vesselHu = liverHu + r.Uniform(35, 70); aortaHu = r.Uniform(140, 190);
            fatHu = r.Uniform(-115, -85); spleenHu = liverHu + r.Uniform(-5, 15);
            NoiseHu = r.Uniform(8, 20);
            // Liver: right lobe and left lobe ellipsoids, joined and roughened.
            lx = 0.42 * bodyA; ly = -0.05 * bodyB; lz = 0; la = 0.42 * bodyA * r.Uniform(0.9, 1.1); lb = 0.55 * bodyB * r.Uniform(0.9, 1.1); lc = r.Uniform(70, 95);
            mx = -0.05 * bodyA; my = 0.3 * bodyB; mz = r.Uniform(15, 35); ma = 0.33 * bodyA * r.Uniform(0.8, 1.2); mb = 0.33 * bodyB * r.Uniform(0.8, 1.1); mc = r.Uniform(35, 50);

            int count = labelled
                ? type switch { 0 => 1 + r.Next(3), 1 => 1 + r.Next(2), _ => 2 + r.Next(5) }
                : r.Next(7); // LiTS-like: 0–6 lesions
            for (int attempt = 0; Lesions.Count < count && attempt < 400; attempt++)
            {
                double radius = type switch { 0 => r.Uniform(10, 25), 1 => r.Uniform(12, 32), _ => r.Uniform(10, 20) };
                // Metastases gather in a band of the liver, so a slice through one often shows others.
                double x = lx + r.Uniform(-1, 1) * la, y = ly + r.Uniform(-1, 1) * lb, z = lz + r.Uniform(-1, 1) * (type == 2 && labelled ? 0.3 : 0.8) * lc;
                if (LiverDepth(x, y, z) < 0.5 * radius + 4) continue;
                if (Lesions.Any(o => Math.Sqrt(Sq(o.X - x) + Sq(o.Y - y) + Sq(o.Z - z)) < o.Radius + radius + 4)) continue;
                Lesions.Add(type switch
                {
                    // Cyst: water density, homogeneous, sharp, round.
                    0 => new Lesion(0, x, y, z, radius, r.Uniform(0, 25), 0, 0, 0, r.Uniform(0.015, 0.04), 0.03, 0),
                    // Hemangioma: hypodense, lobulated, peripheral nodules at blood-pool density filling centripetally.
                    1 => new Lesion(1, x, y, z, radius, r.Uniform(25, 55), aortaHu - r.Uniform(-10, 20), 0, 0, r.Uniform(0.04, 0.08), 0.12, r.Uniform(0.1, 0.5)),
                    // Metastasis: hypodense core, enhancing rim, hypodense halo (target), ill-defined.
                    _ => new Lesion(2, x, y, z, radius, r.Uniform(15, 55), liverHu + r.Uniform(10, 40), r.Uniform(0.5, 0.75), liverHu - r.Uniform(15, 35), r.Uniform(0.06, 0.12), 0.15, 0),
                });
            }
        }

        /// <summary>A slice height through the liver (for lesion-free pretrain slices).</summary>
        public double LiverSliceZ(SyntheticRandom r) => lz + r.Uniform(-0.7, 0.7) * lc;

        /// <summary>Roughly millimetres inside the liver surface (negative outside).</summary>
        private double LiverDepth(double x, double y, double z)
        {
            double right = Math.Sqrt(Sq((x - lx) / la) + Sq((y - ly) / lb) + Sq((z - lz) / lc));
            double left = Math.Sqrt(Sq((x - mx) / ma) + Sq((y - my) / mb) + Sq((z - mz) / mc));
            double rho = Math.Min(right, left) + 0.07 * shape.At(x, y, z, 35);
            return (1 - rho) * 60;
        }

        public (float Hu, byte Label) Evaluate(double x, double y, double z)
        {
            double rho = Math.Sqrt(Sq(x / bodyA) + Sq(y / bodyB));
            if (rho > 1) return (-1000, 0);
            double depth = (1 - rho) * (bodyA + bodyB) / 2;
            float tex = 4 * texture.At(x, y, z, 5);
            if (depth < subcut) return ((float)fatHu + tex, 0);
            if (depth < subcut + muscle) return (50 + tex, 0);
            // Spine and paraspinal muscles, posterior.
            double sy = y + bodyB - 42;
            double vb = Math.Sqrt(Sq(x) + Sq(sy));
            if (vb < 17) return (vb > 15 ? 700 : 250 + 3 * tex, 0);
            if (Sq(x) + Sq(sy + 24) < Sq(7)) return (20 + tex, 0);
            if (Sq((Math.Abs(x) - 32) / 22) + Sq((sy + 20) / 16) < 1) return (50 + tex, 0);
            if (Sq(x + 16) + Sq(sy - 22) < Sq(11)) return ((float)aortaHu + tex, 0);
            if (Sq(x - 22) + Sq(sy - 20) < Sq(12)) return ((float)(aortaHu - 30) + tex, 0);

            double liverDepth = LiverDepth(x, y, z);
            if (liverDepth > 0 && depth > subcut + muscle + 3)
            {
                double background = liverHu + tex;
                if (Math.Abs(vessels.At(x, y, z, 14)) < 0.045 && liverDepth > 5) background = vesselHu + tex;
                foreach (var lesion in Lesions)
                {
                    var hit = LesionValue(lesion, x, y, z, background);
                    if (hit is { } h) return h;
                }
                return ((float)background, LabelLiver);
            }
            // Spleen, stomach, kidneys, bowel, fat.
            if (Sq((x + 0.62 * bodyA) / (0.2 * bodyA)) + Sq((y + 0.3 * bodyB) / (0.33 * bodyB)) + Sq((z - 30) / 50) < 1) return ((float)spleenHu + tex, 0);
            if (Sq((x + 0.3 * bodyA) / (0.25 * bodyA)) + Sq((y - 0.2 * bodyB) / (0.3 * bodyB)) + Sq((z - 20) / 50) < 1)
                return (y > 0.32 * bodyB ? -900 : 15 + tex, 0);
            if (Sq((Math.Abs(x) - 0.36 * bodyA) / (0.12 * bodyA)) + Sq((y + 0.5 * bodyB) / (0.2 * bodyB)) + Sq((z + 60) / 50) < 1) return (170 + 2 * tex, 0);
            if (z < -10)
            {
                float b = bowel.At(x, y, z, 18);
                if (b > 0.35) return (30 + tex, 0);
                if (b < -0.55) return (-850, 0);
            }
            return ((float)fatHu + tex, 0);
        }

        /// <summary>The lesion's HU and mask label at a point, or null outside its reach.</summary>
        private (float, byte)? LesionValue(Lesion l, double x, double y, double z, double background)
        {
            double vx = x - l.X, vy = y - l.Y, vz = z - l.Z, dist = Math.Sqrt(vx * vx + vy * vy + vz * vz);
            if (dist > 1.5 * l.Radius) return null;
            double ox = vx / (dist + 1e-9), oy = vy / (dist + 1e-9), oz = vz / (dist + 1e-9);
            double s = dist / (l.Radius * (1 + l.Lobulation * lobes.Sample((float)(ox * 1.6), (float)(oy * 1.6), (float)(oz * 1.6 + l.Type * 7))));
            double inside = 1 / (1 + Math.Exp((s - 1) / l.Margin));
            double value = l.Type switch
            {
                0 => l.CoreHu,
                1 => s > 0.72 - 0.6 * l.Fill && nodules.Sample((float)(ox * 2.6), (float)(oy * 2.6), (float)(oz * 2.6)) > 0.1 - l.Fill ? l.RimHu : l.CoreHu,
                _ => s < l.RimInner ? l.CoreHu : l.RimHu,
            };
            double outside = background;
            if (l.Type == 2 && s < 1.3) outside = l.HaloHu; // hypodense halo of a target lesion
            if (s >= 1.3 && inside < 0.02) return null;
            return ((float)(inside * value + (1 - inside) * outside), s < 1 ? LabelLesion : LabelLiver);
        }

        private static double Sq(double v) => v * v;
    }
}
