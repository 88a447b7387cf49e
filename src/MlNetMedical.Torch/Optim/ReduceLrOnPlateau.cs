namespace MlNetMedical.Torch.Optim;

/// <summary>
/// Multiplies every group's rate by <c>factor</c> (not below <c>minLr</c>) when the monitored metric has not improved
/// for more than <c>patience</c> steps; after a reduction it waits <c>cooldown</c> steps. Improvement is relative:
/// better than best·(1 − threshold) for "min" mode, best·(1 + threshold) for "max" (PyTorch's defaults).
/// </summary>
public sealed class ReduceLrOnPlateau
{
    private readonly Optimizer optimizer;
    private int cooldownLeft;

    public ReduceLrOnPlateau(Optimizer optimizer, bool maximize = false, double factor = 0.1, int patience = 10, double threshold = 1e-4, int cooldown = 0, double minLr = 0, double eps = 1e-8)
    {
        this.optimizer = optimizer ?? throw new ArgumentNullException(nameof(optimizer));
        if (factor is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(factor), factor, "must be in (0, 1)");
        ArgumentOutOfRangeException.ThrowIfNegative(patience);
        ArgumentOutOfRangeException.ThrowIfNegative(cooldown);
        (Maximize, Factor, Patience, Threshold, Cooldown, MinLr, Eps) = (maximize, factor, patience, threshold, cooldown, minLr, eps);
        Best = maximize ? double.NegativeInfinity : double.PositiveInfinity;
    }

    public bool Maximize { get; }
    public double Factor { get; }
    public int Patience { get; }
    public double Threshold { get; }
    public int Cooldown { get; }
    public double MinLr { get; }
    public double Eps { get; }
    public double Best { get; private set; }
    public int BadSteps { get; private set; }

    /// <summary>Feeds one value of the metric (e.g. validation loss per epoch). Returns true when the rates were reduced.</summary>
    public bool Step(double metric)
    {
        if (double.IsNaN(metric)) throw new ArgumentException("metric is NaN", nameof(metric));
        if (Maximize ? metric > Best * (1 + Threshold) : metric < Best * (1 - Threshold))
        {
            Best = metric;
            BadSteps = 0;
        }
        else BadSteps++;

        if (cooldownLeft > 0)
        {
            cooldownLeft--;
            BadSteps = 0;
        }
        if (BadSteps <= Patience) return false;

        bool reduced = false;
        for (int g = 0; g < optimizer.Groups.Count; g++)
        {
            var old = optimizer.GetLearningRate(g);
            var next = Math.Max(old * Factor, MinLr);
            if (old - next > Eps)
            {
                optimizer.SetLearningRate(g, next);
                reduced = true;
            }
        }
        cooldownLeft = Cooldown;
        BadSteps = 0;
        return reduced;
    }
}
