namespace MlNetMedical.AutoML;

/// <summary>What a tuner sees when asked for the next configuration.</summary>
/// <param name="Space">The search space.</param>
/// <param name="Direction">Whether the metric is minimised or maximised.</param>
/// <param name="TrialNumber">The number of the trial being configured (stable across processes).</param>
/// <param name="Trials">The study's trials visible to this tuner: finished ones and, for constant liar, running ones.</param>
public sealed record TuningContext(SearchSpace Space, Direction Direction, int TrialNumber, IReadOnlyList<TrialRecord> Trials);

/// <summary>
/// Proposes configurations and learns from finished trials. Stateless tuners (random, grid, TPE) read the
/// history in <see cref="TuningContext.Trials"/>; stateful ones (CFO) also learn from <see cref="Observe"/>,
/// which the runner calls once per finished trial in trial-number order, including trials loaded from
/// storage on resume (warm start).
/// </summary>
public interface ITuner
{
    string Name { get; }

    /// <summary>The next configuration, or null when the tuner has nothing left to propose (grid exhausted).</summary>
    ParameterSet? Propose(TuningContext context);

    void Observe(TrialRecord finished, SearchSpace space, Direction direction);
}

/// <summary>Seeded random streams: one per (seed, trial number), so a proposal does not depend on which worker makes it.</summary>
internal static class TunerRandom
{
    public static Random For(int seed, int trialNumber, int salt = 0)
    {
        // SplitMix64 finaliser: deterministic in every process (HashCode.Combine is randomised per process).
        ulong z = ((ulong)(uint)seed << 32 | (uint)trialNumber) + 0x9E3779B97F4A7C15UL * (ulong)(salt + 1);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return new Random((int)(z & int.MaxValue));
    }

    public static double NextGaussian(this Random rng)
    {
        double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }
}

/// <summary>Uniform random search (log-uniform on log parameters), as Optuna's RandomSampler.</summary>
public sealed class RandomTuner(int seed = 0) : ITuner
{
    public string Name => "random";
    public ParameterSet? Propose(TuningContext context) => context.Space.Sample(TunerRandom.For(seed, context.TrialNumber));
    public void Observe(TrialRecord finished, SearchSpace space, Direction direction) { }
}

/// <summary>
/// Grid search: every combination of grid values (floats get <paramref name="floatPoints"/> points) in a
/// seeded shuffled order, skipping points already in the study. Returns null once all are taken.
/// </summary>
public sealed class GridTuner(int seed = 0, int floatPoints = 5) : ITuner
{
    private List<ParameterSet>? _order;
    private SearchSpace? _space;

    public string Name => "grid";

    public ParameterSet? Propose(TuningContext context)
    {
        if (_order is null || !ReferenceEquals(_space, context.Space))
        {
            _space = context.Space;
            _order = context.Space.Grid(floatPoints).ToList();
            var rng = new Random(seed);
            for (int i = _order.Count - 1; i > 0; i--) { int j = rng.Next(i + 1); (_order[i], _order[j]) = (_order[j], _order[i]); }
        }
        var taken = new HashSet<ParameterSet>(context.Trials.Where(t => t.Parameters.Count > 0).Select(t => t.Parameters));
        return _order.FirstOrDefault(p => !taken.Contains(p));
    }

    public void Observe(TrialRecord finished, SearchSpace space, Direction direction) { }
}
