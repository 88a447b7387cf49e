namespace MlNetMedical.AutoML;

/// <summary>Settings of <see cref="TpeTuner"/>; the defaults are Optuna's TPESampler defaults.</summary>
public sealed record TpeOptions
{
    /// <summary>Random trials before the model is used.</summary>
    public int StartupTrials { get; init; } = 10;
    /// <summary>Candidates drawn from l(x) per parameter; the one with the largest log l − log g wins.</summary>
    public int EiCandidates { get; init; } = 24;
    public double PriorWeight { get; init; } = 1.0;
    /// <summary>Clip kernel widths below at range/min(100, 1+kernels).</summary>
    public bool MagicClip { get; init; } = true;
    /// <summary>Running trials join the bad group, so concurrent workers spread out.</summary>
    public bool ConstantLiar { get; init; }
    /// <summary>Size of the good group for n finished trials.</summary>
    public Func<int, int> Gamma { get; init; } = DefaultGamma;
    /// <summary>Kernel weights for n observations, oldest first.</summary>
    public Func<int, double[]> Weights { get; init; } = DefaultWeights;

    /// <summary>min(ceil(0.1 n), 25).</summary>
    public static int DefaultGamma(int n) => Math.Min((int)Math.Ceiling(0.1 * n), 25);

    /// <summary>Uniform below 25 observations; above, a linear ramp from 1/n for the oldest and weight 1 for the newest 25.</summary>
    public static double[] DefaultWeights(int n)
    {
        var w = new double[n];
        if (n < 25) { Array.Fill(w, 1.0); return w; }
        int ramp = n - 25;
        for (int i = 0; i < ramp; i++) w[i] = ramp == 1 ? 1.0 / n : 1.0 / n + (1.0 - 1.0 / n) * i / (ramp - 1);
        for (int i = ramp; i < n; i++) w[i] = 1.0;
        return w;
    }
}

/// <summary>
/// Tree-structured Parzen estimator, univariate (each parameter sampled on its own, conditional parameters
/// modelled from the trials where they are active), following Optuna's TPESampler.
/// </summary>
public sealed class TpeTuner : ITuner
{
    private readonly int _seed;
    private const double Eps = 1e-12;

    public TpeTuner(int seed = 0, TpeOptions? options = null)
    {
        _seed = seed;
        Options = options ?? new TpeOptions();
        if (Options.StartupTrials < 0) throw new ArgumentOutOfRangeException(nameof(options), "TPE StartupTrials must be >= 0.");
        if (Options.EiCandidates < 1) throw new ArgumentOutOfRangeException(nameof(options), "TPE EiCandidates must be >= 1.");
        if (Options.PriorWeight <= 0) throw new ArgumentOutOfRangeException(nameof(options), "TPE PriorWeight must be > 0.");
    }

    public TpeOptions Options { get; }
    public string Name => "tpe";

    public void Observe(TrialRecord finished, SearchSpace space, Direction direction) { }

    public ParameterSet? Propose(TuningContext context)
    {
        var rng = TunerRandom.For(_seed, context.TrialNumber);
        var (below, above, n) = Split(context.Trials, context.Direction, Options);
        if (n < Options.StartupTrials) return context.Space.Sample(rng);

        var result = new ParameterSet();
        foreach (var dim in context.Space.Dimensions)
        {
            if (!context.Space.IsActive(dim, result)) continue;
            var good = Observations(below, dim);
            var bad = Observations(above, dim);
            result[dim.FullName] = dim.Parameter switch
            {
                ChoiceParameter c => SampleChoice(c, good, bad, rng),
                _ => SampleNumeric(dim.Parameter, good, bad, rng),
            };
        }
        return result;
    }

    /// <summary>
    /// Optuna's split: the best gamma(n) complete trials are good; if fewer complete trials exist, pruned
    /// trials that got furthest (then with the best last value) fill the rest. Running trials (constant liar)
    /// are bad. Both groups come back in trial-number order, so weights ramp with age.
    /// </summary>
    internal static (List<TrialRecord> Below, List<TrialRecord> Above, int N) Split(IReadOnlyList<TrialRecord> trials, Direction direction, TpeOptions options)
    {
        var complete = trials.Where(t => t.State == TrialState.Complete && t.Value is { } v && !double.IsNaN(v)).ToList();
        var pruned = trials.Where(t => t.State == TrialState.Pruned).ToList();
        var running = options.ConstantLiar ? trials.Where(t => t.State == TrialState.Running && t.Parameters.Count > 0).ToList() : new List<TrialRecord>();
        int n = complete.Count + pruned.Count;
        int nBelow = options.Gamma(n);

        complete.Sort((a, b) => direction.ToLoss(a.Value!.Value).CompareTo(direction.ToLoss(b.Value!.Value)) is var c && c != 0 ? c : a.Number.CompareTo(b.Number));
        int kComplete = Math.Min(nBelow, complete.Count);
        var below = complete.Take(kComplete).ToList();
        var above = complete.Skip(kComplete).ToList();

        double LastLoss(TrialRecord t) => t.LastStep is { } s ? direction.ToLoss(t.IntermediateValues[s]) is var l && !double.IsNaN(l) ? l : double.PositiveInfinity : double.PositiveInfinity;
        pruned.Sort((a, b) =>
        {
            int c = (b.LastStep ?? int.MinValue).CompareTo(a.LastStep ?? int.MinValue);
            if (c != 0) return c;
            c = LastLoss(a).CompareTo(LastLoss(b));
            return c != 0 ? c : a.Number.CompareTo(b.Number);
        });
        int kPruned = Math.Min(nBelow - kComplete, pruned.Count);
        below.AddRange(pruned.Take(kPruned));
        above.AddRange(pruned.Skip(kPruned));
        above.AddRange(running);
        below.Sort((a, b) => a.Number.CompareTo(b.Number));
        above.Sort((a, b) => a.Number.CompareTo(b.Number));
        return (below, above, n);
    }

    private static List<object> Observations(List<TrialRecord> trials, SearchSpace.Dimension dim)
    {
        var values = new List<object>(trials.Count);
        foreach (var t in trials)
            if (t.Parameters.TryGet(dim.FullName, out var v)) values.Add(v);
        return values;
    }

    private double[] MixtureWeights(int observations)
    {
        if (observations == 0) return new[] { 1.0 };
        var w = Options.Weights(observations);
        if (w.Length != observations) throw new InvalidOperationException($"TPE weight function returned {w.Length} weights for {observations} observations.");
        var all = new double[observations + 1];
        Array.Copy(w, all, observations);
        all[observations] = Options.PriorWeight;
        double s = all.Sum();
        for (int i = 0; i < all.Length; i++) all[i] /= s;
        return all;
    }

    private static int PickComponent(double[] weights, Random rng)
    {
        double u = rng.NextDouble(), acc = 0;
        for (int i = 0; i < weights.Length; i++) { acc += weights[i]; if (u < acc) return i; }
        return weights.Length - 1;
    }

    // ---- categorical ----

    private sealed record CategoricalMixture(double[] Weights, double[][] Probabilities);

    private CategoricalMixture BuildCategorical(ChoiceParameter p, List<object> observations)
    {
        int k = p.Choices.Count, n = observations.Count;
        var weights = MixtureWeights(n);
        if (n == 0) return new(weights, new[] { Enumerable.Repeat(1.0 / k, k).ToArray() });
        int kernels = n + 1;
        var probs = new double[kernels][];
        for (int i = 0; i < kernels; i++)
        {
            var row = Enumerable.Repeat(Options.PriorWeight / kernels, k).ToArray();
            if (i < n) row[p.IndexOf(observations[i])] += 1.0;
            double s = row.Sum();
            for (int j = 0; j < k; j++) row[j] /= s;
            probs[i] = row;
        }
        return new(weights, probs);
    }

    private static double LogPdf(CategoricalMixture m, int index)
    {
        double s = 0;
        for (int i = 0; i < m.Weights.Length; i++) s += m.Weights[i] * m.Probabilities[i][index];
        return Math.Log(s + Eps);
    }

    private object SampleChoice(ChoiceParameter p, List<object> good, List<object> bad, Random rng)
    {
        var l = BuildCategorical(p, good);
        var g = BuildCategorical(p, bad);
        int best = -1;
        double bestScore = double.NegativeInfinity;
        for (int c = 0; c < Options.EiCandidates; c++)
        {
            var row = l.Probabilities[PickComponent(l.Weights, rng)];
            int idx = PickComponent(row, rng);
            double score = LogPdf(l, idx) - LogPdf(g, idx);
            if (best < 0 || score > bestScore) { best = idx; bestScore = score; }
        }
        return p.Choices[best];
    }

    // ---- numeric (float, int) ----

    /// <summary>Truncated-normal mixture in the internal scale (log for log parameters; bounds widened by half a step for ints).</summary>
    private sealed record NumericMixture(double[] Weights, double[] Mus, double[] Sigmas, double Low, double High, double[] LogNorm);

    private readonly record struct NumericScale(double Low, double High, double? Step, bool Log)
    {
        public double Internal(double x) => Log ? Math.Log(x) : x;
        public double External(double x) => Log ? Math.Exp(x) : x;
        public double InternalLow => Internal(Low - (Step ?? 0) / 2);
        public double InternalHigh => Internal(High + (Step ?? 0) / 2);
    }

    private static NumericScale ScaleOf(Parameter p) => p switch
    {
        FloatParameter f => new(f.Low, f.High, null, f.Log),
        IntParameter i => new(i.Low, i.High, i.Step, i.Log),
        _ => throw new ArgumentException($"Parameter '{p.Name}' is not numeric."),
    };

    private NumericMixture BuildNumeric(NumericScale scale, List<object> observations)
    {
        double low = scale.InternalLow, high = scale.InternalHigh, range = high - low;
        int n = observations.Count;
        var mus = new double[n + 1];
        for (int i = 0; i < n; i++) mus[i] = scale.Internal(Convert.ToDouble(observations[i], System.Globalization.CultureInfo.InvariantCulture));
        mus[n] = 0.5 * (low + high);
        var sigmas = new double[n + 1];
        if (n > 0)
        {
            // Each kernel's width is the larger gap to its sorted neighbours (the prior included, range ends as
            // outer neighbours), except the outermost kernels, which use their inner gap.
            var order = Enumerable.Range(0, n + 1).OrderBy(i => mus[i]).ThenBy(i => i).ToArray();
            var sorted = new double[n + 3];
            sorted[0] = low; sorted[^1] = high;
            for (int i = 0; i < order.Length; i++) sorted[i + 1] = mus[order[i]];
            var sortedSigma = new double[n + 1];
            for (int i = 0; i < n + 1; i++)
                sortedSigma[i] = Math.Max(sorted[i + 1] - sorted[i], sorted[i + 2] - sorted[i + 1]);
            if (sorted.Length >= 4)
            {
                sortedSigma[0] = sorted[2] - sorted[1];
                sortedSigma[^1] = sorted[^2] - sorted[^3];
            }
            double minSigma = Options.MagicClip ? range / Math.Min(100.0, 1.0 + (n + 1)) : Eps;
            for (int i = 0; i < order.Length; i++)
                sigmas[order[i]] = Math.Clamp(sortedSigma[i], minSigma, range);
        }
        sigmas[n] = range;
        var logNorm = new double[n + 1];
        for (int i = 0; i <= n; i++) logNorm[i] = Math.Log(Math.Max(Gaussian.Mass(low, high, mus[i], sigmas[i]), Eps));
        return new(MixtureWeights(n), mus, sigmas, low, high, logNorm);
    }

    private static double LogPdf(NumericMixture m, NumericScale scale, double x)
    {
        var buffer = new double[m.Mus.Length];
        for (int i = 0; i < m.Mus.Length; i++)
        {
            double logP;
            if (scale.Step is { } q)
            {
                double a = Math.Max(scale.Internal(x - q / 2), m.Low), b = Math.Min(scale.Internal(x + q / 2), m.High);
                logP = Math.Log(Math.Max(Gaussian.Mass(a, b, m.Mus[i], m.Sigmas[i]), Eps));
            }
            else
            {
                double z = (scale.Internal(x) - m.Mus[i]) / m.Sigmas[i];
                logP = Gaussian.LogPdf(z) - Math.Log(m.Sigmas[i]);
            }
            buffer[i] = Math.Log(m.Weights[i] + Eps) + logP - m.LogNorm[i];
        }
        return Gaussian.LogSumExp(buffer);
    }

    private static double SampleNumericCandidate(NumericMixture m, NumericScale scale, Random rng)
    {
        int i = PickComponent(m.Weights, rng);
        double x = double.NaN;
        for (int tries = 0; tries < 100; tries++)
        {
            double s = m.Mus[i] + m.Sigmas[i] * rng.NextGaussian();
            if (s >= m.Low && s <= m.High) { x = s; break; }
        }
        if (double.IsNaN(x)) x = m.Low + rng.NextDouble() * (m.High - m.Low);
        double v = scale.External(x);
        if (scale.Step is { } q) v = scale.Low + Math.Round((v - scale.Low) / q) * q;
        return Math.Clamp(v, scale.Low, scale.High);
    }

    private object SampleNumeric(Parameter p, List<object> good, List<object> bad, Random rng)
    {
        var scale = ScaleOf(p);
        var l = BuildNumeric(scale, good);
        var g = BuildNumeric(scale, bad);
        double best = double.NaN, bestScore = double.NegativeInfinity;
        for (int c = 0; c < Options.EiCandidates; c++)
        {
            double x = SampleNumericCandidate(l, scale, rng);
            double score = LogPdf(l, scale, x) - LogPdf(g, scale, x);
            if (double.IsNaN(best) || score > bestScore) { best = x; bestScore = score; }
        }
        return p is IntParameter ? (object)(int)Math.Round(best) : best;
    }

    /// <summary>Kernel widths for observations of one parameter (exposed for tests of Optuna's sigma rule).</summary>
    internal (double[] Mus, double[] Sigmas, double[] Weights) DescribeKernels(Parameter p, IReadOnlyList<object> observations)
    {
        var m = BuildNumeric(ScaleOf(p), observations.ToList());
        return (m.Mus, m.Sigmas, m.Weights);
    }
}
