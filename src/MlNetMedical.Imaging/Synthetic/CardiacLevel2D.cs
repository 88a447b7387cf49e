namespace MlNetMedical.Imaging.Synthetic;

/// <summary>
/// cardiac-level-2d (paper A, 2D): short-axis cine-MRI-like slices cut from procedurally deformed 3D
/// heart-in-thorax phantoms. The class is the slice level along the long axis in nine equal bins from
/// above the base (atria, great vessels) to below the apex (liver, stomach); the position inside a bin
/// is random over its central 60%, so neighbouring levels look alike. Landmarks sit at fixed fractions of
/// the base-to-apex length (papillary muscles, the RV's end, the cavity's end), so the level is
/// identifiable from the slice's structure whatever the heart's size. Masks follow ACDC: 1 RV cavity, 2 LV myocardium, 3 LV cavity.
/// </summary>
public sealed class CardiacLevel2D : SyntheticTask
{
    public override string Name => "cardiac-level-2d";
    public override string Summary => "9 short-axis slice levels (above base → below apex) from deformed heart phantoms, ACDC-style masks (128×128)";
    public override IReadOnlyList<string> ClassNames { get; } = Enumerable.Range(1, 9).Select(i => $"level{i}").ToArray();
    public override (int Train, int Test, int Pretrain) DefaultCounts => (108, 263, 300);
    public override int DefaultSize => 128;

    public const double FieldOfViewMm = 220, SliceThicknessMm = 8, IntensityScale = 1000;
    public const int SlicesPerPatient = 3;
    public const byte LabelRv = 1, LabelMyocardium = 2, LabelLv = 3;
    /// <summary>Level bins span this range of the long axis, in units of the base-to-apex length.</summary>
    public const double LevelStart = -0.2, LevelEnd = 1.15;
    /// <summary>Share of its bin a slice may fall in, around the bin's centre (1 = anywhere, so bins touch).</summary>
    public const double LevelSpread = 0.6;
    /// <summary>Landmarks as fractions of the base-to-apex length: papillary muscles, end of the RV, end of the LV cavity.</summary>
    public const double PapillaryStart = 0.25, PapillaryEnd = 0.55, RvEnd = 0.7, CavityEnd = 0.85;

    private enum Tissue : byte { Air, Lung, Fat, Muscle, Myocardium, Blood, Liver, Stomach, Marrow, Csf, Count }
    private static readonly float[] BaseIntensity = [0.02f, 0.07f, 0.75f, 0.30f, 0.30f, 0.88f, 0.40f, 0.55f, 0.55f, 0.85f];

    public override IReadOnlyList<SyntheticCase> Plan(SyntheticOptions options)
    {
        ValidatedSize(options);
        return PlanSplits(options, SlicesPerPatient, classPerPatient: false);
    }

    public override SyntheticSample Generate(SyntheticCase item, SyntheticOptions options)
    {
        int n = ValidatedSize(options);
        var heart = new Heart(PatientRandom(options, item));
        var random = CaseRandom(options, item, "slice");
        double bin = (LevelEnd - LevelStart) / 9;
        double w = (LevelStart + bin * (item.ClassIndex + 0.5 + LevelSpread * (random.NextDouble() - 0.5))) * heart.ApexLength;
        double spacing = FieldOfViewMm / n, half = (n - 1) / 2.0;
        double shiftU = random.Uniform(-8, 8), shiftV = random.Uniform(-8, 8), spin = random.Uniform(-0.08, 0.08);
        var (e1, e2) = heart.SlicePlane(spin);
        var image = new float[n * n];
        var mask = new byte[n * n];
        for (int j = 0, v = 0; j < n; j++)
            for (int i = 0; i < n; i++, v++)
            {
                double a = (i - half) * spacing + shiftU, b = (j - half) * spacing + shiftV;
                var p = heart.AxisPoint(w);
                double x = p.X + a * e1.X + b * e2.X, y = p.Y + a * e1.Y + b * e2.Y, z = p.Z + a * e1.Z + b * e2.Z;
                var (tissue, label, texture) = heart.Evaluate(x, y, z);
                image[v] = heart.Intensity[(int)tissue] * texture;
                mask[v] = label;
            }
        Raster.Blur(image, [n, n]);
        for (int j = 0, v = 0; j < n; j++)
            for (int i = 0; i < n; i++, v++) image[v] *= heart.Bias(i * spacing, j * spacing);
        Raster.AddRicianNoise(image, heart.NoiseSigma, random);
        var affine = Affine.Diagonal(spacing, spacing, SliceThicknessMm);
        var imageVolume = Volume.Create<short>(Raster.ToInt16(image, IntensityScale), [n, n], affine, spatialRank: 2);
        imageVolume.Metadata["description"] = "synthetic short-axis cine-like slice";
        var maskVolume = Volume.Create<byte>(mask, [n, n], affine, spatialRank: 2);
        maskVolume.Metadata["description"] = "1 RV cavity, 2 LV myocardium, 3 LV cavity";
        return new SyntheticSample(imageVolume, maskVolume);
    }

    private readonly record struct Vec(double X, double Y, double Z)
    {
        public static Vec operator +(Vec a, Vec b) => new(a.X + b.X, a.Y + b.Y, a.Z + b.Z);
        public static Vec operator -(Vec a, Vec b) => new(a.X - b.X, a.Y - b.Y, a.Z - b.Z);
        public static Vec operator *(double s, Vec a) => new(s * a.X, s * a.Y, s * a.Z);
        public double Dot(Vec b) => X * b.X + Y * b.Y + Z * b.Z;
        public Vec Cross(Vec b) => new(Y * b.Z - Z * b.Y, Z * b.X - X * b.Z, X * b.Y - Y * b.X);
        public Vec Unit() { double l = Math.Sqrt(Dot(this)); return new(X / l, Y / l, Z / l); }
    }

    /// <summary>One patient's heart and thorax in body millimetres (x right, y anterior, z superior).</summary>
    private sealed class Heart
    {
        public readonly float[] Intensity = new float[(int)Tissue.Count];
        public double NoiseSigma { get; }
        public double ApexLength { get; }
        private readonly Vec baseCentre, axis, toRv, across, planeNormal;
        private readonly double endoR, wall, endoL, ellipseU, ellipseV, rvOffset, rvU, rvV, rvL, warpMm, biasAmp, fatMm;
        private readonly double bodyA, bodyB, subcut, muscle, diaphragm, papillaryAngle;
        private readonly SmoothNoise warpU, warpV, warpW, texture, fat, bias;

        public Heart(SyntheticRandom r)
        {
            for (int t = 0; t < Intensity.Length; t++) Intensity[t] = (float)(BaseIntensity[t] * r.Uniform(0.9, 1.1));
            warpU = new(r); warpV = new(r); warpW = new(r); texture = new(r); fat = new(r); bias = new(r);
            // Long axis from base to apex points left, anterior and inferior, ±10°.
            axis = new Vec(-0.6 + r.Uniform(-0.15, 0.15), 0.45 + r.Uniform(-0.15, 0.15), -0.65 + r.Uniform(-0.15, 0.15)).Unit();
            var right = new Vec(1, 0.4, 0);
            toRv = (right - right.Dot(axis) * axis).Unit(); // the RV lies to the patient's right and front of the LV
            across = axis.Cross(toRv);
            // Short-axis planes are tilted a few degrees off the true long axis, as planned by hand.
            planeNormal = (axis + r.Uniform(-0.06, 0.06) * toRv + r.Uniform(-0.06, 0.06) * across).Unit();
            baseCentre = new Vec(r.Uniform(-18, -6), r.Uniform(0, 12), r.Uniform(10, 25));

            double contraction = r.NextDouble(); // 0 end-diastole .. 1 end-systole
            endoR = r.Uniform(21, 28) * (1 - 0.25 * contraction);
            wall = r.Uniform(6.5, 10) * (1 + 0.45 * contraction);
            ApexLength = r.Uniform(70, 92) * (1 - 0.12 * contraction);
            endoL = CavityEnd * ApexLength; // the apical cap below the cavity is solid myocardium
            ellipseU = r.Uniform(0.9, 1.1); ellipseV = r.Uniform(0.9, 1.1);
            rvOffset = (endoR + wall) * r.Uniform(0.8, 1.05);
            rvU = endoR * r.Uniform(1.2, 1.4); rvV = (endoR + wall) * r.Uniform(1.4, 1.6); rvL = ApexLength * (RvEnd + r.Uniform(-0.015, 0.015));
            warpMm = r.Uniform(1, 2); fatMm = r.Uniform(1, 5);
            papillaryAngle = r.Uniform(-0.4, 0.4);

            bodyA = r.Uniform(140, 170); bodyB = r.Uniform(95, 120); subcut = r.Uniform(6, 22); muscle = r.Uniform(7, 12);
            var apex = baseCentre + ApexLength * axis;
            diaphragm = apex.Z - r.Uniform(5, 25);
            biasAmp = r.Uniform(0.05, 0.3); NoiseSigma = r.Uniform(0.02, 0.05);
        }

        public Vec AxisPoint(double w) => baseCentre + w * axis;

        public (Vec E1, Vec E2) SlicePlane(double spin)
        {
            var e1 = (toRv - toRv.Dot(planeNormal) * planeNormal).Unit();
            var e2 = planeNormal.Cross(e1);
            double c = Math.Cos(spin), s = Math.Sin(spin);
            return (c * e1 + s * e2, -s * e1 + c * e2);
        }

        public float Bias(double a, double b) => (float)Math.Exp(biasAmp * bias.At(a, b, 0, 90));

        public (Tissue Tissue, byte Label, float Texture) Evaluate(double x, double y, double z)
        {
            var d = new Vec(x, y, z) - baseCentre;
            double w = d.Dot(axis), u = d.Dot(toRv), v = d.Dot(across);
            // Smooth deformation of the heart.
            u += warpMm * warpU.At(u, v, w, 25); v += warpMm * warpV.At(u, v, w, 25); w += warpMm * warpW.At(u, v, w, 25);
            float tex = 1 + 0.05f * texture.At(x, y, z, 4);
            double baseW = 0.18 * u; // the base (valve) plane is not perpendicular to the axis
            double lvRho = Math.Sqrt(Sq(u / ellipseU) + Sq(v / ellipseV));
            if (w >= baseW)
            {
                double endo = w < endoL ? endoR * Math.Sqrt(1 - Sq(w / endoL)) : 0;
                double epi = w < ApexLength ? (endoR + wall) * Math.Sqrt(1 - Sq(w / ApexLength)) : 0;
                if (lvRho < endo)
                {
                    // Two papillary muscles in the mid ventricle: myocardial signal, cavity label (as ACDC draws them).
                    // They thicken towards the apex, so their size tells the upper from the lower mid-ventricle.
                    double t = w / ApexLength;
                    if (t > PapillaryStart && t < PapillaryEnd && Papillary(u, v, endo, 0.12 + 0.12 * (t - PapillaryStart) / (PapillaryEnd - PapillaryStart)))
                        return (Tissue.Myocardium, LabelLv, tex);
                    return (Tissue.Blood, LabelLv, tex);
                }
                if (lvRho < epi) return (Tissue.Myocardium, LabelMyocardium, tex);
                // Right ventricle: a crescent wrapped around the septal side, shorter than the LV.
                if (w < rvL)
                {
                    double taper = Math.Sqrt(1 - Sq(Math.Max(w, 0) / rvL));
                    double rvRho = Math.Sqrt(Sq((u - rvOffset) / (rvU * taper + 1e-6)) + Sq(v / (rvV * taper + 1e-6)));
                    double rvWall = 3 / (rvU * taper + 1e-6);
                    if (rvRho < 1 && lvRho > epi) return (Tissue.Blood, LabelRv, tex);
                    if (rvRho < 1 + rvWall) return (Tissue.Myocardium, 0, tex);
                    if (rvRho < 1 + rvWall + fatMm * (0.5 + 0.5 * fat.At(u, v, w, 12)) / (rvU * taper + 1e-6)) return (Tissue.Fat, 0, tex);
                }
                if (lvRho < epi + fatMm * (0.5 + 0.5 * fat.At(u, v, w, 12))) return (Tissue.Fat, 0, tex);
            }
            else
            {
                // Above the base: atria and the great vessels.
                double r0 = endoR + wall;
                if (InBlob(u + 0.2 * r0, v + 0.9 * r0, w + 24, 24, 20, 22, out double la)) return (la < 0.88 ? Tissue.Blood : Tissue.Myocardium, 0, tex);
                if (InBlob(u - 1.5 * r0, v + 0.2 * r0, w + 22, 20, 19, 24, out double ra)) return (ra < 0.86 ? Tissue.Blood : Tissue.Myocardium, 0, tex);
                if (w > -70 && Sq(u - 0.4 * r0) + Sq(v - 0.5 * r0) < Sq(13)) return (Sq(u - 0.4 * r0) + Sq(v - 0.5 * r0) < Sq(11) ? Tissue.Blood : Tissue.Myocardium, 0, tex);
                if (w > -70 && w < -6 && Sq(u - 1.3 * r0) + Sq(v - 1.3 * r0) < Sq(12)) return (Tissue.Blood, 0, tex);
                if (w > -30 && lvRho < r0 + 6) return (Tissue.Fat, 0, tex); // atrioventricular groove fat
            }
            return (Body(x, y, z), 0, tex);
        }

        private bool Papillary(double u, double v, double endo, double radius)
        {
            for (int k = 0; k < 2; k++)
            {
                double angle = Math.PI * (0.75 + k * 0.5) + papillaryAngle;
                double pu = 0.7 * endo * Math.Cos(angle), pv = 0.7 * endo * Math.Sin(angle);
                if (Sq(u - pu) + Sq(v - pv) < Sq(radius * endo)) return true;
            }
            return false;
        }

        private static bool InBlob(double u, double v, double w, double ru, double rv, double rw, out double rho)
        {
            rho = Math.Sqrt(Sq(u / ru) + Sq(v / rv) + Sq(w / rw));
            return rho < 1;
        }

        /// <summary>Thorax and upper abdomen around the heart.</summary>
        private Tissue Body(double x, double y, double z)
        {
            double yc = y + 10;
            double rho = Math.Sqrt(Sq(x / bodyA) + Sq(yc / bodyB));
            if (rho > 1) return Tissue.Air;
            double depth = (1 - rho) * (bodyA + bodyB) / 2;
            if (depth < subcut) return Tissue.Fat;
            if (depth < subcut + muscle) return Tissue.Muscle;
            if (Sq(x) + Sq(yc + 62) < Sq(16)) return Tissue.Marrow;   // vertebral body
            if (Sq(x) + Sq(yc + 84) < Sq(6)) return Tissue.Csf;        // spinal canal
            if (Sq(x + 22) + Sq(yc + 48) < Sq(11)) return Tissue.Blood; // descending aorta
            double dome = diaphragm - 0.004 * (Sq(x - 30) + Sq(yc));
            if (z < dome) return x > -25 ? Tissue.Liver : Tissue.Stomach;
            if (Sq((Math.Abs(x) - 72) / 58) + Sq((yc + 10) / 72) < 1) return Tissue.Lung;
            return Tissue.Fat; // mediastinal fat
        }

        private static double Sq(double v) => v * v;
    }
}
