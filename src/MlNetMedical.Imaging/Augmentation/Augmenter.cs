using MlNetMedical.Imaging.Preprocessing;
using TorchSharp;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace MlNetMedical.Imaging.Augmentation;

/// <summary>Random augmentation settings; each transform fires per sample with its probability. Serializable as JSON.</summary>
public sealed record AugmentationConfig
{
    public double FlipProbability { get; init; }
    /// <summary>Random 90° turns in the last two spatial axes (only when they have equal size).</summary>
    public double Rotate90Probability { get; init; }
    public double AffineProbability { get; init; }
    /// <summary>Rotation range ± degrees (about every axis in 3D).</summary>
    public double RotateDegrees { get; init; } = 15;
    /// <summary>Isotropic scale drawn from [1 − s, 1 + s].</summary>
    public double ScaleRange { get; init; } = 0.1;
    /// <summary>Shift of up to this fraction of the extent along each axis.</summary>
    public double TranslateFraction { get; init; } = 0.05;
    public double ElasticProbability { get; init; }
    /// <summary>Standard deviation of control-point displacements, in voxels.</summary>
    public double ElasticMagnitude { get; init; } = 2;
    public int ElasticControlPoints { get; init; } = 4;
    public double GammaProbability { get; init; }
    /// <summary>log(γ) drawn from [−r, r].</summary>
    public double GammaLogRange { get; init; } = 0.3;
    public double NoiseProbability { get; init; }
    public double NoiseStd { get; init; } = 0.05;
    public double BlurProbability { get; init; }
    public double BlurSigmaMax { get; init; } = 1;
    public double BiasFieldProbability { get; init; }
    /// <summary>Standard deviation of the log-field's second-order polynomial coefficients.</summary>
    public double BiasFieldStrength { get; init; } = 0.3;
    public double IntensityProbability { get; init; }
    public double IntensityScale { get; init; } = 0.1;
    public double IntensityShift { get; init; } = 0.1;
}

/// <summary>What was drawn for one sample (identity values when a transform did not fire).</summary>
public sealed record SampleAugmentation(double[] Theta, bool Elastic, double Gamma, double NoiseStd, double BlurSigma, double[] BiasCoefficients, double Scale, double Shift);

public sealed record AugmentedBatch(Tensor Images, Tensor? Labels, IReadOnlyList<SampleAugmentation> Parameters);

/// <summary>
/// Batched augmentation on the device the batch lives on. Spatial transforms (flips, 90° turns, rotate/scale/
/// translate, elastic) are merged into one sampling grid applied with grid_sample: linear for images,
/// nearest for labels, so labels keep their values. Random draws come from <see cref="SampleRandom"/> per
/// (seed, epoch, sample key), so results do not depend on batch composition.
/// </summary>
public sealed class Augmenter(AugmentationConfig config, int seed)
{
    public AugmentationConfig Config { get; } = config;
    public int Seed { get; } = seed;

    /// <param name="images">(N, C, [D,] H, W) float.</param>
    /// <param name="labels">(N, L, [D,] H, W) label maps of any dtype, or null.</param>
    public AugmentedBatch Apply(Tensor images, Tensor? labels, IReadOnlyList<string> sampleKeys, int epoch)
    {
        var shape = images.shape;
        int n = shape.Length - 2;
        if (n is < 2 or > 3) throw new ArgumentException($"images must be (N, C, H, W) or (N, C, D, H, W), got [{string.Join(", ", shape)}]", nameof(images));
        if (images.dtype is not (ScalarType.Float32 or ScalarType.Float64)) throw new ArgumentException($"images must be floating point, got {images.dtype}", nameof(images));
        int batch = (int)shape[0];
        if (sampleKeys.Count != batch) throw new ArgumentException($"{sampleKeys.Count} sample keys for a batch of {batch}", nameof(sampleKeys));
        var labelShape = labels?.shape;
        if (labelShape is not null && (labelShape.Length != shape.Length || labelShape[0] != batch || !labelShape.AsSpan(2).SequenceEqual(shape.AsSpan(2))))
            throw new ArgumentException($"labels [{string.Join(", ", labelShape)}] do not match images [{string.Join(", ", shape)}]", nameof(labels));
        var spatial = shape[2..]; // tensor order: [D,] H, W
        var device = images.device;
        var dtype = images.dtype;
        var draws = new List<(SampleAugmentation P, float[]? Noise, float[]? Elastic)>();
        for (int b = 0; b < batch; b++) draws.Add(Draw(new SampleRandom(Seed, epoch, sampleKeys[b]), n, spatial));

        using var scope = torch.NewDisposeScope();
        var x = images;
        Tensor? y = labels;
        bool spatialNeeded = draws.Any(d => !IsIdentity(d.P.Theta, n) || d.P.Elastic);
        if (spatialNeeded)
        {
            var theta = Floats(draws.SelectMany(d => d.P.Theta.Select(v => (float)v)).ToArray(), [batch, n, n + 1], device, dtype);
            var grid = nn.functional.affine_grid(theta, shape, align_corners: false);
            if (draws.Any(d => d.Elastic != null)) grid = grid.add(ElasticField(draws.Select(d => d.Elastic).ToList(), n, spatial, device, dtype));
            x = nn.functional.grid_sample(x, grid, GridSampleMode.Bilinear, GridSamplePaddingMode.Border, align_corners: false);
            if (y is not null)
            {
                var labelType = y.dtype;
                y = nn.functional.grid_sample(y.to(dtype), grid, GridSampleMode.Nearest, GridSamplePaddingMode.Zeros, align_corners: false).round().to(labelType);
            }
        }
        long[] perSample = [batch, 1, .. Enumerable.Repeat(1L, n)];
        Tensor Param(Func<SampleAugmentation, double> f) => Floats(draws.Select(d => (float)f(d.P)).ToArray(), perSample, device, dtype);

        if (draws.Any(d => d.P.BiasCoefficients.Any(c => c != 0))) x = x.mul(BiasField(draws.Select(d => d.P.BiasCoefficients).ToList(), n, spatial, device, dtype));
        if (draws.Any(d => d.P.Gamma != 1))
        {
            long[] dims = Enumerable.Range(2, n).Select(i => (long)i).ToArray();
            var min = x.amin(dims, keepdim: true);
            var range = x.amax(dims, keepdim: true).sub(min).clamp_min(1e-8);
            x = x.sub(min).div(range).clamp_min(0).pow(Param(p => p.Gamma)).mul(range).add(min);
        }
        if (draws.Any(d => d.P.BlurSigma > 0)) x = Blur(x, draws.Select(d => d.P.BlurSigma).ToList(), n);
        if (draws.Any(d => d.Noise != null))
        {
            long per = x.numel() / batch;
            var noise = new float[x.numel()];
            for (int b = 0; b < batch; b++) draws[b].Noise?.CopyTo(noise, b * per);
            x = x.add(Floats(noise, shape, device, dtype));
        }
        if (draws.Any(d => d.P.Scale != 1 || d.P.Shift != 0)) x = x.mul(Param(p => p.Scale)).add(Param(p => p.Shift));

        var outImages = ReferenceEquals(x, images) ? images.clone() : x;
        var outLabels = y is null ? null : ReferenceEquals(y, labels) ? y.clone() : y;
        scope.MoveToOuter(outImages);
        if (outLabels is not null) scope.MoveToOuter(outLabels);
        return new AugmentedBatch(outImages, outLabels, draws.Select(d => d.P).ToList());

        (SampleAugmentation, float[]?, float[]?) Draw(SampleRandom r, int dims, long[] size)
        {
            // Work in voxel units (grid order x = last tensor axis), then map to normalised [-1, 1] coordinates.
            var sizes = Enumerable.Range(0, dims).Select(a => (double)size[dims - 1 - a]).ToArray();
            var a = Identity(dims);
            if (r.Chance(Config.FlipProbability))
                for (int ax = 0; ax < dims; ax++) if (r.Chance(0.5)) a = Mul(a, Diag(dims, ax, -1));
            if (r.Chance(Config.Rotate90Probability) && sizes[0] == sizes[1])
                for (int k = r.Next(3) + 1; k > 0; k--) a = Mul(a, Turn(dims));
            var t = new double[dims];
            if (r.Chance(Config.AffineProbability))
            {
                double s = r.Uniform(1 - Config.ScaleRange, 1 + Config.ScaleRange);
                var rot = Identity(dims);
                int planes = dims == 2 ? 1 : 3;
                for (int p = 0; p < planes; p++)
                    rot = Mul(rot, Rotation(dims, p, r.Uniform(-Config.RotateDegrees, Config.RotateDegrees) * Math.PI / 180));
                a = Mul(a, Mul(rot, Scalar(dims, 1 / s)));
                for (int ax = 0; ax < dims; ax++) t[ax] = r.Uniform(-Config.TranslateFraction, Config.TranslateFraction) * 2;
            }
            var theta = new double[dims * (dims + 1)];
            for (int i = 0; i < dims; i++)
            {
                for (int j = 0; j < dims; j++) theta[i * (dims + 1) + j] = a[i, j] * sizes[j] / sizes[i];
                theta[i * (dims + 1) + dims] = t[i];
            }
            float[]? elastic = null;
            bool doElastic = r.Chance(Config.ElasticProbability);
            if (doElastic)
            {
                int c = Math.Max(2, Config.ElasticControlPoints);
                int count = (int)Math.Pow(c, dims);
                elastic = new float[dims * count];
                for (int ax = 0; ax < dims; ax++)
                    for (int i = 0; i < count; i++) elastic[ax * count + i] = (float)(r.Gaussian() * Config.ElasticMagnitude * 2 / sizes[ax]);
            }
            double gamma = r.Chance(Config.GammaProbability) ? Math.Exp(r.Uniform(-Config.GammaLogRange, Config.GammaLogRange)) : 1;
            double blur = r.Chance(Config.BlurProbability) ? r.Uniform(0.25, Math.Max(0.25, Config.BlurSigmaMax)) : 0;
            var bias = new double[dims == 2 ? 5 : 9];
            if (r.Chance(Config.BiasFieldProbability)) for (int i = 0; i < bias.Length; i++) bias[i] = r.Gaussian() * Config.BiasFieldStrength;
            double noiseStd = 0;
            float[]? noise = null;
            if (r.Chance(Config.NoiseProbability))
            {
                noiseStd = r.Uniform(0, Config.NoiseStd);
                long per = shape[1];
                foreach (var s in size) per *= s;
                noise = new float[per];
                for (long i = 0; i < per; i++) noise[i] = (float)(r.Gaussian() * noiseStd);
            }
            double scale = 1, shift = 0;
            if (r.Chance(Config.IntensityProbability))
            {
                scale = 1 + r.Uniform(-Config.IntensityScale, Config.IntensityScale);
                shift = r.Uniform(-Config.IntensityShift, Config.IntensityShift);
            }
            return (new SampleAugmentation(theta, doElastic, gamma, noiseStd, blur, bias, scale, shift), noise, elastic);
        }
    }

    private static bool IsIdentity(double[] theta, int n)
    {
        for (int i = 0; i < n; i++)
            for (int j = 0; j <= n; j++)
                if (theta[i * (n + 1) + j] != (i == j ? 1 : 0)) return false;
        return true;
    }

    /// <summary>A float32 tensor of <paramref name="values"/> on <paramref name="device"/>, converted to <paramref name="dtype"/>.</summary>
    private static Tensor Floats(float[] values, long[] shape, Device device, ScalarType dtype) =>
        TensorData.FromSpan<float>(values, ScalarType.Float32, shape, device).to(dtype);

    /// <summary>Coarse random displacements upsampled linearly to a smooth (N, [D,] H, W, n) field.</summary>
    private static Tensor ElasticField(List<float[]?> fields, int n, long[] spatial, Device device, ScalarType dtype)
    {
        int count = fields.First(f => f != null)!.Length / n;
        int c = (int)Math.Round(Math.Pow(count, 1.0 / n));
        var all = new float[fields.Count * n * count];
        for (int b = 0; b < fields.Count; b++) fields[b]?.CopyTo(all, b * n * count);
        long[] coarse = [fields.Count, n, .. Enumerable.Repeat((long)c, n)];
        var t = Floats(all, coarse, device, dtype);
        var up = nn.functional.interpolate(t, size: spatial, mode: TensorPreprocessing.LinearMode(n), align_corners: true);
        long[] perm = [0, .. Enumerable.Range(2, n).Select(i => (long)i), 1];
        return up.permute(perm);
    }

    /// <summary>exp of a second-order polynomial in normalised coordinates, per sample: (N, 1, [D,] H, W).</summary>
    private static Tensor BiasField(List<double[]> coefficients, int n, long[] spatial, Device device, ScalarType dtype)
    {
        var axes = new List<Tensor>();
        for (int a = 0; a < n; a++)
        {
            long[] view = Enumerable.Repeat(1L, n).ToArray();
            view[n - 1 - a] = spatial[n - 1 - a];
            axes.Add(torch.linspace(-1, 1, spatial[n - 1 - a], dtype, device).reshape(view).expand(spatial));
        }
        var terms = new List<Tensor>(axes);
        foreach (var ax in axes) terms.Add(ax.square());
        for (int i = 0; i < n; i++) for (int j = i + 1; j < n; j++) terms.Add(axes[i].mul(axes[j]));
        var basis = torch.stack(terms).reshape(terms.Count, -1);
        var coef = Floats(coefficients.SelectMany(c => c.Select(v => (float)v)).ToArray(), [coefficients.Count, terms.Count], device, dtype);
        long[] outShape = [coefficients.Count, 1, .. spatial];
        return coef.matmul(basis).reshape(outShape).exp();
    }

    /// <summary>Separable Gaussian blur with a sigma per sample (0 = untouched).</summary>
    private static Tensor Blur(Tensor x, List<double> sigmas, int n)
    {
        var parts = new Tensor[sigmas.Count];
        long channels = x.shape[1];
        for (int b = 0; b < sigmas.Count; b++)
        {
            var s = x.narrow(0, b, 1);
            if (sigmas[b] > 0)
            {
                int radius = Math.Max(1, (int)Math.Ceiling(3 * sigmas[b]));
                var k = Enumerable.Range(-radius, 2 * radius + 1).Select(i => Math.Exp(-i * i / (2 * sigmas[b] * sigmas[b]))).ToArray();
                double sum = k.Sum();
                var kernel = k.Select(v => (float)(v / sum)).ToArray();
                for (int axis = 0; axis < n; axis++)
                {
                    long[] wshape = [channels, 1, .. Enumerable.Repeat(1L, n)];
                    wshape[2 + axis] = kernel.Length;
                    var w = Floats(Enumerable.Repeat(kernel, (int)channels).SelectMany(v => v).ToArray(), wshape, x.device, x.dtype);
                    var pad = new long[n];
                    pad[axis] = radius;
                    // Normalise by the blurred ones-image so borders are not darkened by the zero padding.
                    var ones = torch.ones_like(s);
                    s = DepthwiseConv(s, w, pad, channels, n).div(DepthwiseConv(ones, w, pad, channels, n));
                }
            }
            parts[b] = s;
        }
        return torch.cat(parts, 0);
    }

    /// <summary>Stride-1, undilated convolution without bias, one filter per channel (groups = channels).</summary>
    private static Tensor DepthwiseConv(Tensor input, Tensor weight, long[] padding, long channels, int n) => n == 2
        ? nn.functional.conv2d(input, weight, null, strides: [1, 1], padding: padding, dilation: [1, 1], groups: channels)
        : nn.functional.conv3d(input, weight, null, strides: [1, 1, 1], padding: padding, dilation: [1, 1, 1], groups: channels);

    private static double[,] Identity(int n) { var m = new double[n, n]; for (int i = 0; i < n; i++) m[i, i] = 1; return m; }
    private static double[,] Diag(int n, int axis, double v) { var m = Identity(n); m[axis, axis] = v; return m; }
    private static double[,] Scalar(int n, double v) { var m = new double[n, n]; for (int i = 0; i < n; i++) m[i, i] = v; return m; }
    private static double[,] Turn(int n) { var m = Identity(n); m[0, 0] = 0; m[0, 1] = -1; m[1, 0] = 1; m[1, 1] = 0; return m; }

    private static double[,] Rotation(int n, int plane, double angle)
    {
        var m = Identity(n);
        int i = plane switch { 0 => 0, 1 => 0, _ => 1 }, j = plane switch { 0 => 1, 1 => 2, _ => 2 };
        m[i, i] = Math.Cos(angle); m[i, j] = -Math.Sin(angle); m[j, i] = Math.Sin(angle); m[j, j] = Math.Cos(angle);
        return m;
    }

    private static double[,] Mul(double[,] a, double[,] b)
    {
        int n = a.GetLength(0);
        var r = new double[n, n];
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) for (int k = 0; k < n; k++) r[i, j] += a[i, k] * b[k, j];
        return r;
    }
}
