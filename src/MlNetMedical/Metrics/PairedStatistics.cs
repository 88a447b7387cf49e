namespace MlNetMedical.Metrics;

/// <summary>A mean with a two-sided interval (NaN bounds when it cannot be computed, e.g. one value).</summary>
public sealed record MeanInterval(double Mean, double Lower, double Upper, int N, double Sd);

/// <summary>
/// Paired comparisons of two methods: mean and sample standard deviation, and 95% intervals of paired differences (over training
/// seeds in benchmarks/replicate, over test cases in a run's comparison table) — Student's t (the decision rule) and the exact
/// paired bootstrap (percentile, shown beside it).
/// With 5 seeds the percentile bootstrap is too narrow (it ignores the n/(n−1) variance factor and the t tail; the exact
/// bootstrap of 5 values has only 126 distinct resamples), so claims are decided on the t interval.
/// </summary>
public static class PairedStatistics
{
    /// <summary>Mean and sample standard deviation (n − 1; 0 for a single value, NaN for none).</summary>
    public static (double Mean, double Sd) MeanSd(IReadOnlyList<double> values)
    {
        if (values.Count == 0) return (double.NaN, double.NaN);
        double mean = values.Average();
        if (values.Count == 1) return (mean, 0);
        double ss = values.Sum(v => (v - mean) * (v - mean));
        return (mean, Math.Sqrt(ss / (values.Count - 1)));
    }

    /// <summary>Per-pair differences a[i] − b[i].</summary>
    public static double[] Differences(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        if (a.Count != b.Count) throw new ArgumentException($"paired samples differ in length ({a.Count} vs {b.Count})", nameof(b));
        return a.Select((v, i) => v - b[i]).ToArray();
    }

    /// <summary>Student's t interval of the mean: mean ± t(1 − α/2, n − 1) · sd / √n. NaN bounds for fewer than 2 values.</summary>
    public static MeanInterval TInterval(IReadOnlyList<double> values, double level = 0.95)
    {
        CheckLevel(level);
        var (mean, sd) = MeanSd(values);
        if (values.Count < 2) return new(mean, double.NaN, double.NaN, values.Count, sd);
        double half = StudentTQuantile(0.5 + level / 2, values.Count - 1) * sd / Math.Sqrt(values.Count);
        return new(mean, mean - half, mean + half, values.Count, sd);
    }

    /// <summary>
    /// The paired bootstrap's percentile interval of the mean difference, computed exactly: every multiset of n draws with
    /// replacement is enumerated with its multinomial probability (126 for n = 5, 92,378 for n = 10), so there is no
    /// resampling noise and no random seed. Bounds: the smallest resample mean whose cumulative probability reaches α/2,
    /// and the smallest reaching 1 − α/2. Up to 12 values (1.35 million multisets).
    /// </summary>
    public static MeanInterval ExactBootstrapInterval(IReadOnlyList<double> values, double level = 0.95)
    {
        CheckLevel(level);
        int n = values.Count;
        var (mean, sd) = MeanSd(values);
        if (n < 2) return new(mean, double.NaN, double.NaN, n, sd);
        if (n > 12) throw new ArgumentException($"the exact bootstrap enumerates every resample; {n} values is too many (at most 12)", nameof(values));
        var outcomes = new List<(double Mean, double P)>();
        var counts = new int[n];
        double logN = Math.Log(n), logFactN = LogFactorial(n);
        void Enumerate(int index, int left)
        {
            if (index == n - 1)
            {
                counts[index] = left;
                double sum = 0, logP = logFactN - n * logN;
                for (int i = 0; i < n; i++) { sum += counts[i] * values[i]; logP -= LogFactorial(counts[i]); }
                outcomes.Add((sum / n, Math.Exp(logP)));
                return;
            }
            for (int c = 0; c <= left; c++) { counts[index] = c; Enumerate(index + 1, left - c); }
        }
        Enumerate(0, n);
        outcomes.Sort((x, y) => x.Mean.CompareTo(y.Mean));
        double Quantile(double q)
        {
            double cumulative = 0;
            foreach (var (m, p) in outcomes)
            {
                cumulative += p;
                if (cumulative >= q - 1e-12) return m;
            }
            return outcomes[^1].Mean;
        }
        double alpha = 1 - level;
        return new(mean, Quantile(alpha / 2), Quantile(1 - alpha / 2), n, sd);
    }

    /// <summary>The p-quantile of Student's t distribution with <paramref name="df"/> degrees of freedom (bisection on the CDF).</summary>
    public static double StudentTQuantile(double p, int df)
    {
        if (df < 1) throw new ArgumentOutOfRangeException(nameof(df), df, "degrees of freedom must be ≥ 1");
        if (p is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(p), p, "must be in (0, 1)");
        if (p < 0.5) return -StudentTQuantile(1 - p, df);
        double lo = 0, hi = 1;
        while (StudentTCdf(hi, df) < p) hi *= 2;
        for (int i = 0; i < 200 && hi - lo > 1e-12 * Math.Max(1, hi); i++)
        {
            double mid = (lo + hi) / 2;
            if (StudentTCdf(mid, df) < p) lo = mid; else hi = mid;
        }
        return (lo + hi) / 2;
    }

    /// <summary>Student's t CDF: for t ≥ 0, 1 − ½ · I_{df/(df+t²)}(df/2, ½).</summary>
    public static double StudentTCdf(double t, int df)
    {
        double tail = 0.5 * RegularizedIncompleteBeta(df / (df + t * t), df / 2.0, 0.5);
        return t >= 0 ? 1 - tail : tail;
    }

    /// <summary>I_x(a, b) by its continued fraction (modified Lentz), using the symmetry I_x(a,b) = 1 − I_{1−x}(b,a) where it converges faster.</summary>
    public static double RegularizedIncompleteBeta(double x, double a, double b)
    {
        if (x <= 0) return 0;
        if (x >= 1) return 1;
        double logFront = LogGamma(a + b) - LogGamma(a) - LogGamma(b) + a * Math.Log(x) + b * Math.Log(1 - x);
        if (x > (a + 1) / (a + b + 2)) return 1 - RegularizedIncompleteBeta(1 - x, b, a);
        const double tiny = 1e-300;
        double c = 1, d = 1 - (a + b) * x / (a + 1);
        if (Math.Abs(d) < tiny) d = tiny;
        d = 1 / d;
        double f = d;
        for (int m = 1; m <= 500; m++)
        {
            // Even step, then odd step of the continued fraction.
            double num = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
            d = 1 + num * d; if (Math.Abs(d) < tiny) d = tiny; d = 1 / d;
            c = 1 + num / c; if (Math.Abs(c) < tiny) c = tiny;
            f *= d * c;
            num = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1));
            d = 1 + num * d; if (Math.Abs(d) < tiny) d = tiny; d = 1 / d;
            c = 1 + num / c; if (Math.Abs(c) < tiny) c = tiny;
            double delta = d * c;
            f *= delta;
            if (Math.Abs(delta - 1) < 1e-15) break;
        }
        return Math.Exp(logFront) * f / a;
    }

    /// <summary>ln Γ(x) for x &gt; 0 (Lanczos approximation, g = 7, 9 terms; about 15 significant digits).</summary>
    public static double LogGamma(double x)
    {
        if (x < 0.5) return Math.Log(Math.PI / Math.Abs(Math.Sin(Math.PI * x))) - LogGamma(1 - x);
        double[] g =
        [
            0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
            12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
        ];
        x -= 1;
        double sum = g[0];
        for (int i = 1; i < g.Length; i++) sum += g[i] / (x + i);
        double t = x + 7.5;
        return 0.5 * Math.Log(2 * Math.PI) + (x + 0.5) * Math.Log(t) - t + Math.Log(sum);
    }

    private static double LogFactorial(int k) => LogGamma(k + 1);

    private static void CheckLevel(double level)
    {
        if (level is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(level), level, "the confidence level must be in (0, 1), e.g. 0.95");
    }
}
