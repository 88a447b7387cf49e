namespace MlNetMedical.Imaging.Synthetic;

/// <summary>Image-domain steps shared by the phantoms: point-spread blur and acquisition noise.</summary>
public static class Raster
{
    /// <summary>
    /// Separable [1/4, 1/2, 1/4] blur along every axis of a row-major image whose axes are
    /// <paramref name="size"/> (i fastest), with edge replication: a scanner's point-spread function,
    /// which also removes the staircase of analytic edges.
    /// </summary>
    public static void Blur(float[] image, int[] size)
    {
        var tmp = new float[image.Length];
        int stride = 1;
        foreach (int n in size)
        {
            if (n > 1)
            {
                int block = stride * n;
                for (int start = 0; start < image.Length; start += block)
                    for (int offset = 0; offset < stride; offset++)
                    {
                        int b = start + offset;
                        for (int t = 0; t < n; t++)
                        {
                            int prev = b + Math.Max(t - 1, 0) * stride, here = b + t * stride, next = b + Math.Min(t + 1, n - 1) * stride;
                            tmp[here] = 0.25f * image[prev] + 0.5f * image[here] + 0.25f * image[next];
                        }
                    }
                Array.Copy(tmp, image, image.Length);
            }
            stride *= n;
        }
    }

    /// <summary>Magnitude-image (Rician) noise: |s + n1 + i·n2| with n1, n2 ~ N(0, sigma²).</summary>
    public static void AddRicianNoise(float[] image, double sigma, SyntheticRandom random)
    {
        for (int i = 0; i < image.Length; i++)
        {
            double re = image[i] + sigma * random.Gaussian(), im = sigma * random.Gaussian();
            image[i] = (float)Math.Sqrt(re * re + im * im);
        }
    }

    /// <summary>Additive Gaussian noise (CT in HU).</summary>
    public static void AddGaussianNoise(float[] image, double sigma, SyntheticRandom random)
    {
        for (int i = 0; i < image.Length; i++) image[i] += (float)(sigma * random.Gaussian());
    }

    /// <summary>Rounds to int16 after scaling, saturating.</summary>
    public static short[] ToInt16(float[] image, double scale)
    {
        var r = new short[image.Length];
        for (int i = 0; i < image.Length; i++)
            r[i] = (short)Math.Clamp(Math.Round(image[i] * scale), short.MinValue, short.MaxValue);
        return r;
    }
}
