namespace MlNetMedical.Imaging.Synthetic;

/// <summary>
/// brain-tumor-3d (paper A, 3D): an analytic head phantom (scalp, skull, CSF, cortex with sulci, white
/// matter, deep grey nuclei, lateral and third ventricles, falx) with one of three tumour types that
/// differ in morphology and context, not in any one voxel's value. Mask labels follow BraTS:
/// 1 necrotic/non-enhancing core, 2 edema, 4 enhancing. See datasets/README.md for the full model.
/// </summary>
public sealed class BrainTumor3D : SyntheticTask
{
    public override string Name => "brain-tumor-3d";
    public override string Summary => "3 tumour types by morphology in a 3D MRI head phantom, BraTS-style masks (64³ at 2 mm)";
    /// <summary>ring-enhancing necrotic mass with large edema; homogeneous poorly marginated non-enhancing lesion; extra-axial dural-based mass.</summary>
    public override IReadOnlyList<string> ClassNames { get; } = ["glioblastoma", "low_grade_glioma", "meningioma"];
    public override (int Train, int Test, int Pretrain) DefaultCounts => (91, 191, 200);
    public override int DefaultSize => 64;
    public override IReadOnlyList<int> AllowedChannels => [1, 4];

    /// <summary>Field of view along each axis (64 voxels at 2 mm).</summary>
    public const double FieldOfViewMm = 128;
    public static readonly string[] ChannelNames = ["T1", "T1c", "T2", "FLAIR"];
    /// <summary>The single-channel default is the post-contrast T1 (index 1), where the types' enhancement patterns show.</summary>
    public const int DefaultChannel = 1;
    /// <summary>Stored int16 = intensity × this (intensities are about 0..1).</summary>
    public const double IntensityScale = 1000;

    public const byte LabelNecrotic = 1, LabelEdema = 2, LabelEnhancing = 4;

    private enum Tissue : byte { Air, Scalp, Skull, Csf, Gm, Wm, Edema, Necrosis, Enhancing, Glioma, Meningioma, Dura, Calcification, Count }

    // Base intensity per tissue for T1, T1c, T2, FLAIR; each case jitters them (see Phantom).
    private static readonly float[,] BaseIntensity =
    {
        { 0f, 0f, 0f, 0f },             // air
        { 0.75f, 0.78f, 0.55f, 0.60f }, // scalp (fat)
        { 0.08f, 0.08f, 0.06f, 0.06f }, // skull
        { 0.18f, 0.18f, 1.00f, 0.08f }, // CSF
        { 0.48f, 0.50f, 0.62f, 0.58f }, // grey matter
        { 0.70f, 0.70f, 0.45f, 0.45f }, // white matter
        { 0.45f, 0.47f, 0.85f, 0.82f }, // edema
        { 0.22f, 0.24f, 0.92f, 0.45f }, // necrosis
        { 0.45f, 0.85f, 0.62f, 0.65f }, // enhancing rim
        { 0.38f, 0.40f, 0.82f, 0.78f }, // non-enhancing glioma
        { 0.50f, 0.82f, 0.60f, 0.58f }, // meningioma
        { 0.30f, 0.75f, 0.30f, 0.30f }, // enhancing dura (tail)
        { 0.10f, 0.10f, 0.10f, 0.10f }, // calcification
    };

    public override IReadOnlyList<SyntheticCase> Plan(SyntheticOptions options)
    {
        ValidatedSize(options);
        return PlanSplits(options, slicesPerPatient: 1, classPerPatient: true);
    }

    public override SyntheticSample Generate(SyntheticCase item, SyntheticOptions options)
    {
        int n = ValidatedSize(options);
        var phantom = new Phantom(PatientRandom(options, item), item.ClassIndex);
        double spacing = FieldOfViewMm / n, half = (n - 1) / 2.0;
        int voxels = n * n * n;
        var tissue = new byte[voxels];
        var lesion = new byte[voxels];
        var blend = new float[voxels];
        var texture = new float[voxels];
        var mask = new byte[voxels];
        for (int k = 0, v = 0; k < n; k++)
            for (int j = 0; j < n; j++)
                for (int i = 0; i < n; i++, v++)
                {
                    var r = phantom.Evaluate((i - half) * spacing, (j - half) * spacing, (k - half) * spacing);
                    tissue[v] = (byte)r.Anatomy; lesion[v] = (byte)r.Lesion; blend[v] = r.Blend; texture[v] = r.Texture; mask[v] = r.Label;
                }

        var noise = CaseRandom(options, item, "noise");
        int[] channels = options.Channels == 1 ? [DefaultChannel] : [0, 1, 2, 3];
        var stored = new short[voxels * channels.Length];
        var image = new float[voxels];
        for (int c = 0; c < channels.Length; c++)
        {
            var level = phantom.Intensity(channels[c]);
            for (int v = 0; v < voxels; v++)
            {
                float a = level[tissue[v]], b = level[lesion[v]];
                image[v] = ((1 - blend[v]) * a + blend[v] * b) * texture[v];
            }
            Raster.Blur(image, [n, n, n]);
            for (int k = 0, v = 0; k < n; k++)
                for (int j = 0; j < n; j++)
                    for (int i = 0; i < n; i++, v++)
                        image[v] *= phantom.Bias((i - half) * spacing, (j - half) * spacing, (k - half) * spacing);
            Raster.AddRicianNoise(image, phantom.NoiseSigma, noise);
            Raster.ToInt16(image, IntensityScale).CopyTo(stored, c * voxels);
        }

        var affine = Affine.FromGeometry([spacing, spacing, spacing], [-half * spacing, -half * spacing, -half * spacing], new double[,] { { 1, 0, 0 }, { 0, 1, 0 }, { 0, 0, 1 } });
        int[] shape = channels.Length == 1 ? [n, n, n] : [n, n, n, channels.Length];
        var imageVolume = Volume.Create<short>(stored, shape, affine, spatialRank: 3);
        imageVolume.Metadata["description"] = channels.Length == 1 ? "synthetic T1c-like" : "synthetic T1,T1c,T2,FLAIR-like";
        var maskVolume = Volume.Create<byte>(mask, [n, n, n], affine, spatialRank: 3);
        maskVolume.Metadata["description"] = "1 necrotic/non-enhancing, 2 edema, 4 enhancing";
        return new SyntheticSample(imageVolume, maskVolume);
    }

    private readonly record struct Voxel(Tissue Anatomy, Tissue Lesion, float Blend, float Texture, byte Label);

    /// <summary>One patient's head and tumour, evaluated analytically at any point (millimetres, RAS).</summary>
    private sealed class Phantom
    {
        private readonly int type;
        private readonly float[][] intensity = new float[4][];
        // Pose: q = M (p - t) maps scanner millimetres into the phantom's frame.
        private readonly double[,] m = new double[3, 3];
        private readonly double tx, ty, tz;
        private readonly SmoothNoise warpX, warpY, warpZ, surface, cortex, sulci, tex, lobes, inner, edemaShape, bias;
        private readonly double warpMm, biasAmp;
        // Head: brain ellipsoid semi-axes; layers outside the inner skull table.
        private readonly double a, b, c, reff, csf, skull, scalp, cortexMm, ventricleScale;
        // Tumour: centre, radius, shape parameters; base point and inward normal for the extra-axial type.
        private readonly double cx, cy, cz, radius, necroticFraction, rimMm, edemaFactor, massEffect;
        private readonly double ex, ey, ez; // elongation of the low-grade lesion
        private readonly double bx, by, bz, tailMm, marginWidth;
        private readonly bool meningiomaEdema, calcified;
        public double NoiseSigma { get; }

        public Phantom(SyntheticRandom r, int type)
        {
            this.type = type;
            warpX = new(r); warpY = new(r); warpZ = new(r); surface = new(r); cortex = new(r); sulci = new(r); tex = new(r);
            lobes = new(r); inner = new(r); edemaShape = new(r); bias = new(r);

            // Contrast: every tissue level jittered ±8%, the tumour tissues much more, so intensity ranges overlap between types.
            for (int ch = 0; ch < 4; ch++)
            {
                intensity[ch] = new float[(int)Tissue.Count];
                for (int t = 0; t < (int)Tissue.Count; t++) intensity[ch][t] = BaseIntensity[t, ch];
            }
            for (int t = 1; t < (int)Tissue.Count; t++)
            {
                bool tumour = t >= (int)Tissue.Edema;
                double shared = r.Uniform(tumour ? 0.82 : 0.92, tumour ? 1.18 : 1.08);
                for (int ch = 0; ch < 4; ch++) intensity[ch][t] *= (float)(shared * r.Uniform(0.97, 1.03));
            }

            double yaw = r.Uniform(-10, 10) * Math.PI / 180, pitch = r.Uniform(-8, 8) * Math.PI / 180, roll = r.Uniform(-6, 6) * Math.PI / 180;
            double scale = r.Uniform(0.95, 1.04);
            double cyw = Math.Cos(yaw), syw = Math.Sin(yaw), cp = Math.Cos(pitch), sp = Math.Sin(pitch), cr = Math.Cos(roll), sr = Math.Sin(roll);
            // Rotation R = Rz(yaw)·Rx(pitch)·Ry(roll); its inverse is the transpose.
            var rot = new double[3, 3]
            {
                { cyw * cr - syw * sp * sr, -syw * cp, cyw * sr + syw * sp * cr },
                { syw * cr + cyw * sp * sr, cyw * cp, syw * sr - cyw * sp * cr },
                { -cp * sr, sp, cp * cr },
            };
            for (int i = 0; i < 3; i++) for (int j = 0; j < 3; j++) m[i, j] = rot[j, i] / scale;
            tx = r.Uniform(-3, 3); ty = r.Uniform(-3, 3); tz = r.Uniform(-3, 3);
            warpMm = r.Uniform(1.5, 3.5);

            a = 46 * r.Uniform(0.94, 1.04); b = 54 * r.Uniform(0.94, 1.04); c = 42 * r.Uniform(0.94, 1.04);
            reff = (a + b + c) / 3;
            csf = r.Uniform(1.0, 2.5); skull = r.Uniform(3.5, 6); scalp = r.Uniform(2, 4);
            cortexMm = r.Uniform(2.2, 3.2); ventricleScale = r.Uniform(0.7, 1.4);
            biasAmp = r.Uniform(0.05, 0.25); NoiseSigma = r.Uniform(0.015, 0.05);

            switch (type)
            {
                case 0: // glioblastoma-like: deep white-matter centre, irregular ring, necrotic core, large finger-like edema
                    radius = r.Uniform(8, 16);
                    (cx, cy, cz) = PointInBrain(r, 0.55);
                    necroticFraction = r.Uniform(0.35, 0.7); rimMm = r.Uniform(1.5, 4);
                    edemaFactor = r.Uniform(1.7, 2.6); massEffect = 0.45 * radius;
                    break;
                case 1: // low-grade-like: cortical/subcortical, elongated, smooth, homogeneous, blurred margin
                    radius = r.Uniform(9, 19);
                    (cx, cy, cz) = PointInBrain(r, 0.75);
                    ex = r.Uniform(0.7, 1.35); ey = r.Uniform(0.7, 1.35); ez = r.Uniform(0.7, 1.35);
                    marginWidth = r.Uniform(0.08, 0.22); massEffect = 0.2 * radius;
                    break;
                default: // meningioma-like: broad dural base on the inner table (convexity or falx), sharp, homogeneous, dural tail
                    radius = r.Uniform(8, 17);
                    double dx, dy, dz;
                    if (r.Chance(0.3)) { dx = r.Uniform(-0.08, 0.08); dy = r.Uniform(-0.7, 0.7); dz = 1; } // parasagittal/falcine
                    else { (dx, dy, dz) = r.UnitVector(); dz = Math.Abs(dz) * 0.9 + 0.1 * r.NextDouble(); }
                    double len = Math.Sqrt(dx * dx / (a * a) + dy * dy / (b * b) + dz * dz / (c * c));
                    double ib = 1 + csf / reff; // base point on the inner table
                    bx = dx / len * ib; by = dy / len * ib; bz = dz / len * ib;
                    double nx = bx / (a * a), ny = by / (b * b), nz = bz / (c * c), nl = Math.Sqrt(nx * nx + ny * ny + nz * nz);
                    double depth = radius * r.Uniform(0.15, 0.5);
                    cx = bx - nx / nl * depth; cy = by - ny / nl * depth; cz = bz - nz / nl * depth;
                    tailMm = radius * r.Uniform(1.2, 1.8); massEffect = 0.5 * radius;
                    meningiomaEdema = r.Chance(0.35); calcified = r.Chance(0.2);
                    break;
            }
        }

        private (double, double, double) PointInBrain(SyntheticRandom r, double maxRho)
        {
            while (true)
            {
                double x = r.Uniform(-1, 1), y = r.Uniform(-1, 1), z = r.Uniform(-1, 1);
                double rho = Math.Sqrt(x * x + y * y + z * z);
                if (rho > maxRho || rho < 0.2) continue;
                if (Math.Abs(x) < 0.15) continue; // off the midline
                return (x * a, y * b, z * c);
            }
        }

        public float[] Intensity(int channel) => intensity[channel];

        public float Bias(double x, double y, double z) => (float)Math.Exp(biasAmp * bias.At(x, y, z, 70));

        private double Rho(double x, double y, double z) => Math.Sqrt(x * x / (a * a) + y * y / (b * b) + z * z / (c * c));

        public Voxel Evaluate(double px, double py, double pz)
        {
            double ux = px - tx, uy = py - ty, uz = pz - tz;
            double x = m[0, 0] * ux + m[0, 1] * uy + m[0, 2] * uz;
            double y = m[1, 0] * ux + m[1, 1] * uy + m[1, 2] * uz;
            double z = m[2, 0] * ux + m[2, 1] * uy + m[2, 2] * uz;
            double outer = (Rho(x, y, z) - 1) * reff - csf;
            if (outer > skull + scalp + 4) return new Voxel(Tissue.Air, Tissue.Air, 0, 1, 0);
            x += warpMm * warpX.At(x, y, z, 30); y += warpMm * warpY.At(x, y, z, 30); z += warpMm * warpZ.At(x, y, z, 30);

            // Outside the inner table: scalp, skull (not moved by the tumour).
            double table = (Rho(x, y, z) - 1) * reff - csf; // > 0 outside the inner skull table
            if (table > skull + scalp) return new Voxel(Tissue.Air, Tissue.Air, 0, 1, 0);
            if (table > skull) return new Voxel(Tissue.Scalp, Tissue.Air, 0, 1, 0);
            if (table > 0) return new Voxel(Tissue.Skull, Tissue.Air, 0, 1, 0);

            // Tumour-local coordinates.
            double vx = x - cx, vy = y - cy, vz = z - cz;
            double dist = Math.Sqrt(vx * vx + vy * vy + vz * vz) + 1e-9;
            double ox = vx / dist, oy = vy / dist, oz = vz / dist;

            if (type == 2)
            {
                double massR = radius * (1 + 0.06 * lobes.Sample((float)(ox * 1.5), (float)(oy * 1.5), (float)(oz * 1.5)));
                if (dist < massR)
                {
                    var t = calcified && inner.At(x, y, z, 3) > 0.6 ? Tissue.Calcification : Tissue.Meningioma;
                    return new Voxel(t, Tissue.Air, 0, 1 + 0.03f * tex.At(x, y, z, 3), LabelEnhancing);
                }
                if (table > -1.3)
                {
                    double tail = Math.Sqrt((x - bx) * (x - bx) + (y - by) * (y - by) + (z - bz) * (z - bz));
                    if (tail < tailMm) return new Voxel(Tissue.Dura, Tissue.Air, 0, 1, 0);
                }
                if (dist < massR + 1.5) return new Voxel(Tissue.Csf, Tissue.Air, 0, 1, 0); // CSF cleft around an extra-axial mass
            }

            // Mass effect: the anatomy is pushed away from the tumour centre.
            double push = massEffect * Math.Exp(-dist * dist / (2 * 2.2 * radius * radius));
            double ax = x - ox * push, ay = y - oy * push, az = z - oz * push;
            var anatomy = Anatomy(ax, ay, az, out double depth);
            float texture = anatomy is Tissue.Gm or Tissue.Wm ? 1 + 0.04f * tex.At(ax, ay, az, 3) : 1;
            bool parenchyma = anatomy is Tissue.Gm or Tissue.Wm;

            switch (type)
            {
                case 0:
                {
                    double shape = radius * (1 + 0.3 * lobes.Sample((float)(ox * 1.3 + 3), (float)(oy * 1.3), (float)(oz * 1.3)));
                    double s = dist / shape;
                    double core = necroticFraction * (1 + 0.25 * inner.Sample((float)(ox * 2), (float)(oy * 2 + 5), (float)(oz * 2)));
                    double rimInner = Math.Min(core, 1 - rimMm / shape);
                    if (s < rimInner) return new Voxel(Tissue.Necrosis, Tissue.Air, 0, 1 + 0.05f * tex.At(x, y, z, 2), LabelNecrotic);
                    if (s < 1) return new Voxel(Tissue.Enhancing, Tissue.Air, 0, 1 + 0.12f * tex.At(x, y, z, 2), LabelEnhancing);
                    double edema = radius * edemaFactor * (1 + 0.45 * edemaShape.At(x, y, z, 10));
                    if (parenchyma && dist < edema && (anatomy == Tissue.Wm || depth > 0.6 * cortexMm))
                        return new Voxel(Tissue.Edema, Tissue.Air, 0, 1 + 0.04f * tex.At(x, y, z, 4), LabelEdema);
                    break;
                }
                case 1:
                {
                    double ellip = Math.Sqrt(vx * vx / (ex * ex) + vy * vy / (ey * ey) + vz * vz / (ez * ez));
                    double shape = radius * (1 + 0.15 * lobes.Sample((float)(ox * 1.1), (float)(oy * 1.1 + 7), (float)(oz * 1.1)) + 0.1 * inner.At(x, y, z, 4));
                    double s = ellip / shape;
                    if (s < 1.35 && parenchyma)
                    {
                        float f = (float)(1 / (1 + Math.Exp((s - 1) / marginWidth)));
                        byte label = s < 1 ? LabelNecrotic : s < 1.2 ? LabelEdema : (byte)0;
                        return new Voxel(anatomy, Tissue.Glioma, f, texture * (1 + 0.02f * tex.At(x, y, z, 3)), label);
                    }
                    break;
                }
                default:
                    if (meningiomaEdema && parenchyma && dist < radius * (1.35 + 0.25 * edemaShape.At(x, y, z, 8)) && anatomy == Tissue.Wm)
                        return new Voxel(Tissue.Edema, Tissue.Air, 0, 1, LabelEdema);
                    break;
            }
            return new Voxel(anatomy, Tissue.Air, 0, texture, 0);
        }

        /// <summary>Normal anatomy inside the inner table; <paramref name="depth"/> is millimetres below the brain surface.</summary>
        private Tissue Anatomy(double x, double y, double z, out double depth)
        {
            depth = (1 - Rho(x, y, z)) * reff + 1.2 * surface.At(x, y, z, 9);
            if (depth < 0) return Tissue.Csf;
            // Interhemispheric fissure with the falx, above the corpus callosum.
            if (z > 6 && depth < 30 && Math.Abs(x + 0.8 * surface.At(0, y, z, 20)) < 0.9) return Tissue.Csf;
            double thick = cortexMm * (1 + 0.45 * cortex.At(x, y, z, 7));
            if (depth < thick) return sulci.At(x, y, z, 4.5) > 0.5 ? Tissue.Csf : Tissue.Gm;
            double vs = ventricleScale;
            double ax = Math.Abs(x);
            // Lateral ventricles: curved bodies either side of the midline; third ventricle on the midline.
            double lv = Sq((ax - 6 * vs) / (3.2 * vs)) + Sq(y / (20 * Math.Sqrt(vs))) + Sq((z - 8 + 0.012 * y * y) / (5 * vs));
            if (lv < 1) return Tissue.Csf;
            if (ax < 1.1 * vs && Math.Abs(y + 4) < 9 && z > -8 && z < 4) return Tissue.Csf;
            // Deep grey nuclei: thalami and basal ganglia.
            if (Sq((ax - 8) / 5.5) + Sq((y + 7) / 8) + Sq(z / 6) < 1) return Tissue.Gm;
            if (Sq((ax - 17) / 4.5) + Sq((y - 5) / 10) + Sq((z - 1) / 7) < 1) return Tissue.Gm;
            return Tissue.Wm;
        }

        private static double Sq(double v) => v * v;
    }
}
