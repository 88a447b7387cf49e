using MlNetMedical.Training;

namespace MlNetMedical.Cli.Pipelines;

/// <summary>The augmentation: section as the training loop's <see cref="SampleAugmenter"/>: random flips per spatial axis
/// (image and mask together), intensity scale and shift, Gaussian noise.</summary>
/// <remarks>The library has no augmentation stage on <c>TrainingSample</c>s yet (the imaging layer's Augmenter works on
/// batched tensors), so the CLI carries this small one; `mlnm codegen` copies this file into generated projects, so it
/// depends on the library only.</remarks>
public static class SampleAugmentation
{
    /// <summary>Null when every probability is 0.</summary>
    public static SampleAugmenter? Create(double flipProbability, double intensityProbability, double intensityScale, double intensityShift,
        double noiseProbability, double noiseStd)
    {
        if (flipProbability <= 0 && intensityProbability <= 0 && noiseProbability <= 0) return null;
        return (sample, random) =>
        {
            var image = (float[])sample.Image.Clone();
            var mask = (long[]?)sample.Mask?.Clone();
            var spatial = sample.Shape[1..];
            for (int axis = 0; axis < spatial.Length; axis++)
            {
                if (!(random.NextDouble() < flipProbability)) continue;
                Flip(image, sample.Shape, axis + 1);
                if (mask is not null) Flip(mask, spatial, axis);
            }
            if (random.NextDouble() < intensityProbability)
            {
                float scale = (float)(1 + (2 * random.NextDouble() - 1) * intensityScale);
                float shift = (float)((2 * random.NextDouble() - 1) * intensityShift);
                for (int i = 0; i < image.Length; i++) image[i] = image[i] * scale + shift;
            }
            if (random.NextDouble() < noiseProbability)
                for (int i = 0; i < image.Length; i++) image[i] += (float)(noiseStd * Gaussian(random));
            return sample with { Image = image, Mask = mask };
        };
    }

    /// <summary>Reverses a row-major array along <paramref name="axis"/> of <paramref name="shape"/>, in place.</summary>
    private static void Flip<T>(T[] data, long[] shape, int axis)
    {
        long inner = 1;
        for (int i = axis + 1; i < shape.Length; i++) inner *= shape[i];
        long n = shape[axis], outer = data.LongLength / (inner * n);
        for (long o = 0; o < outer; o++)
            for (long a = 0, b = n - 1; a < b; a++, b--)
                for (long i = 0; i < inner; i++)
                {
                    long x = (o * n + a) * inner + i, y = (o * n + b) * inner + i;
                    (data[x], data[y]) = (data[y], data[x]);
                }
    }

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
