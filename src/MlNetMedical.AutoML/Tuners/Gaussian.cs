namespace MlNetMedical.AutoML;

/// <summary>Standard normal helpers for the Parzen estimators.</summary>
internal static class Gaussian
{
    private const double Sqrt2 = 1.4142135623730951;
    private static readonly double LogSqrt2Pi = 0.5 * Math.Log(2 * Math.PI);

    /// <summary>Complementary error function, Chebyshev fit (relative error below 1.2e-7 everywhere).</summary>
    public static double Erfc(double x)
    {
        double z = Math.Abs(x);
        double t = 1.0 / (1.0 + 0.5 * z);
        double r = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
                   t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
                   t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? r : 2.0 - r;
    }

    public static double Cdf(double x) => 0.5 * Erfc(-x / Sqrt2);

    public static double LogPdf(double x) => -0.5 * x * x - LogSqrt2Pi;

    /// <summary>P(a &lt; X &lt; b) for X ~ N(mu, sigma), computed on the far side of the mean for accuracy.</summary>
    public static double Mass(double a, double b, double mu, double sigma)
    {
        double za = (a - mu) / sigma, zb = (b - mu) / sigma;
        // Upper tail differences keep precision when both bounds are far above the mean, and vice versa.
        return za > 0 ? Cdf(-za) - Cdf(-zb) : Cdf(zb) - Cdf(za);
    }

    /// <summary>log of sum(exp(values)) without overflow.</summary>
    public static double LogSumExp(ReadOnlySpan<double> values)
    {
        double max = double.NegativeInfinity;
        foreach (var v in values) if (v > max) max = v;
        if (double.IsNegativeInfinity(max)) return max;
        double s = 0;
        foreach (var v in values) s += Math.Exp(v - max);
        return max + Math.Log(s);
    }
}
