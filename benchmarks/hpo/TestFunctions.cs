using MlNetMedical.AutoML;

namespace MlNetMedical.AutoML.Benchmarks;

/// <summary>A black-box test function: its space, its noise-free value, the observed (maybe noisy) value, its optimum.</summary>
public sealed record TestFunction(string Name, SearchSpace Space, Func<ParameterSet, double> TrueValue, double NoiseSd, double Optimum, double TargetRegret)
{
    public double Observe(ParameterSet p, Random noise) =>
        TrueValue(p) + (NoiseSd > 0 ? NoiseSd * Math.Sqrt(-2 * Math.Log(1 - noise.NextDouble())) * Math.Cos(2 * Math.PI * noise.NextDouble()) : 0);
}

public static class TestFunctions
{
    /// <summary>Branin-Hoo on [-5,10]x[0,15]; global minimum 0.397887 (three minimisers).</summary>
    public static TestFunction Branin { get; } = new("branin",
        new SearchSpace().Float("x1", -5, 10).Float("x2", 0, 15),
        p =>
        {
            double x1 = p.GetDouble("x1"), x2 = p.GetDouble("x2");
            double b = 5.1 / (4 * Math.PI * Math.PI), c = 5 / Math.PI, t = 1 / (8 * Math.PI);
            return Math.Pow(x2 - b * x1 * x1 + c * x1 - 6, 2) + 10 * (1 - t) * Math.Cos(x1) + 10;
        }, 0, 0.397887, 0.1);

    private static readonly double[] Alpha = { 1.0, 1.2, 3.0, 3.2 };
    private static readonly double[,] A = { { 10, 3, 17, 3.5, 1.7, 8 }, { 0.05, 10, 17, 0.1, 8, 14 }, { 3, 3.5, 1.7, 10, 17, 8 }, { 17, 8, 0.05, 10, 0.1, 14 } };
    private static readonly double[,] P = {
        { 0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886 }, { 0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991 },
        { 0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650 }, { 0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381 } };

    private static double Hartmann6Value(ParameterSet p)
    {
        double sum = 0;
        for (int i = 0; i < 4; i++)
        {
            double inner = 0;
            for (int j = 0; j < 6; j++) { double d = p.GetDouble("x" + j) - P[i, j]; inner += A[i, j] * d * d; }
            sum += Alpha[i] * Math.Exp(-inner);
        }
        return -sum;
    }

    private static SearchSpace UnitCube(int d)
    {
        var s = new SearchSpace();
        for (int j = 0; j < d; j++) s.Float("x" + j, 0, 1);
        return s;
    }

    /// <summary>Hartmann-6 on [0,1]^6; global minimum −3.32237.</summary>
    public static TestFunction Hartmann6 { get; } = new("hartmann6", UnitCube(6), Hartmann6Value, 0, -3.32237, 1.0);

    /// <summary>Hartmann-6 observed with Gaussian noise (sd 0.1); regret is measured on the noise-free value of the best observed trial.</summary>
    public static TestFunction Hartmann6Noisy { get; } = new("hartmann6-noisy", UnitCube(6), Hartmann6Value, 0.1, -3.32237, 1.0);

    public static IReadOnlyList<TestFunction> All { get; } = new[] { Branin, Hartmann6, Hartmann6Noisy };

    /// <summary>
    /// Runs a tuner sequentially for <paramref name="trials"/> trials (minimising) and returns, per trial, the
    /// regret of the incumbent: noise-free value of the best observed trial so far minus the optimum.
    /// </summary>
    public static double[] RegretTrace(ITuner tuner, TestFunction f, int trials, int seed)
    {
        var history = new List<TrialRecord>();
        var noise = new Random(seed * 31 + 7);
        var trace = new double[trials];
        double bestObserved = double.PositiveInfinity, incumbentTrue = double.PositiveInfinity;
        for (int i = 0; i < trials; i++)
        {
            var p = tuner.Propose(new TuningContext(f.Space, Direction.Minimize, i, history))
                    ?? throw new InvalidOperationException($"{tuner.Name} stopped proposing at trial {i}.");
            double observed = f.Observe(p, noise);
            var record = new TrialRecord { Id = i, Number = i, State = TrialState.Complete, Parameters = p, Value = observed };
            history.Add(record);
            tuner.Observe(record, f.Space, Direction.Minimize);
            if (observed < bestObserved) { bestObserved = observed; incumbentTrue = f.TrueValue(p); }
            trace[i] = incumbentTrue - f.Optimum;
        }
        return trace;
    }

    /// <summary>1-based number of the first trial whose incumbent regret is within the target, or null if never.</summary>
    public static int? TrialsToTarget(double[] trace, double targetRegret)
    {
        for (int i = 0; i < trace.Length; i++) if (trace[i] <= targetRegret) return i + 1;
        return null;
    }
}
