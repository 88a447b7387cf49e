namespace MlNetMedical.Torch.Optim;

/// <summary>
/// Sets each parameter group's learning rate from a closed form of the step count, as PyTorch's schedulers do
/// (each group keeps its own base rate, so encoder and head rates keep their ratio). The constructor applies
/// step 0; call <see cref="Step"/> once per epoch (or per batch, for one-cycle and warmup counted in batches).
/// </summary>
public abstract class LrScheduler
{
    protected LrScheduler(Optimizer optimizer, IReadOnlyList<double>? baseLearningRates = null)
    {
        Optimizer = optimizer ?? throw new ArgumentNullException(nameof(optimizer));
        BaseLearningRates = baseLearningRates ?? optimizer.LearningRates;
    }

    public Optimizer Optimizer { get; }

    /// <summary>The groups' learning rates when the scheduler was created.</summary>
    public IReadOnlyList<double> BaseLearningRates { get; }

    /// <summary>Steps taken so far.</summary>
    public long StepCount { get; private set; }

    /// <summary>The learning rate of a group whose base rate is <paramref name="baseLr"/> after <paramref name="step"/> steps.</summary>
    public abstract double LearningRateAt(double baseLr, long step);

    public void Step()
    {
        StepCount++;
        Apply();
    }

    /// <summary>Jumps to <paramref name="step"/> (e.g. when resuming from a checkpoint).</summary>
    public void SetStep(long step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        StepCount = step;
        Apply();
    }

    protected void Apply()
    {
        for (int g = 0; g < BaseLearningRates.Count; g++)
            Optimizer.SetLearningRate(g, LearningRateAt(BaseLearningRates[g], StepCount));
    }

    protected static void Positive(long value, string name)
    {
        if (value <= 0) throw new ArgumentOutOfRangeException(name, value, "must be > 0");
    }
}

/// <summary>lr = base · γ^⌊t / stepSize⌋.</summary>
public sealed class StepLr : LrScheduler
{
    public StepLr(Optimizer optimizer, long stepSize, double gamma = 0.1) : base(optimizer)
    {
        Positive(stepSize, nameof(stepSize));
        (StepSize, Gamma) = (stepSize, gamma);
        Apply();
    }

    public long StepSize { get; }
    public double Gamma { get; }
    public override double LearningRateAt(double baseLr, long step) => baseLr * Math.Pow(Gamma, step / StepSize);
}

/// <summary>lr = base · γ^(number of milestones ≤ t).</summary>
public sealed class MultiStepLr : LrScheduler
{
    public MultiStepLr(Optimizer optimizer, IEnumerable<long> milestones, double gamma = 0.1) : base(optimizer)
    {
        Milestones = milestones.Order().ToArray();
        Gamma = gamma;
        Apply();
    }

    public IReadOnlyList<long> Milestones { get; }
    public double Gamma { get; }
    public override double LearningRateAt(double baseLr, long step) => baseLr * Math.Pow(Gamma, Milestones.Count(m => m <= step));
}

/// <summary>lr = base · γ^t.</summary>
public sealed class ExponentialLr : LrScheduler
{
    public ExponentialLr(Optimizer optimizer, double gamma) : base(optimizer)
    {
        Gamma = gamma;
        Apply();
    }

    public double Gamma { get; }
    public override double LearningRateAt(double baseLr, long step) => baseLr * Math.Pow(Gamma, step);
}

/// <summary>lr = η_min + (base − η_min)(1 + cos(π t / T_max)) / 2 (PyTorch's closed form, periodic after T_max).</summary>
public sealed class CosineAnnealingLr : LrScheduler
{
    public CosineAnnealingLr(Optimizer optimizer, long tMax, double etaMin = 0) : base(optimizer)
    {
        Positive(tMax, nameof(tMax));
        (TMax, EtaMin) = (tMax, etaMin);
        Apply();
    }

    public long TMax { get; }
    public double EtaMin { get; }
    public override double LearningRateAt(double baseLr, long step) => EtaMin + (baseLr - EtaMin) * (1 + Math.Cos(Math.PI * step / TMax)) / 2;
}

/// <summary>SGDR: cosine annealing restarted after T_0, T_0·T_mult, T_0·T_mult², ... steps.</summary>
public sealed class CosineAnnealingWarmRestarts : LrScheduler
{
    public CosineAnnealingWarmRestarts(Optimizer optimizer, long t0, long tMult = 1, double etaMin = 0) : base(optimizer)
    {
        Positive(t0, nameof(t0));
        Positive(tMult, nameof(tMult));
        (T0, TMult, EtaMin) = (t0, tMult, etaMin);
        Apply();
    }

    public long T0 { get; }
    public long TMult { get; }
    public double EtaMin { get; }

    public override double LearningRateAt(double baseLr, long step)
    {
        long period = T0, tCur = step;
        while (tCur >= period)
        {
            tCur -= period;
            period *= TMult;
        }
        return EtaMin + (baseLr - EtaMin) * (1 + Math.Cos(Math.PI * tCur / period)) / 2;
    }
}

/// <summary>Polynomial decay lr = base · (1 − t / total)^power, 0 after total steps (nnU-Net: power 0.9).</summary>
public sealed class PolyLr : LrScheduler
{
    public PolyLr(Optimizer optimizer, long totalSteps, double power = 0.9) : base(optimizer)
    {
        Positive(totalSteps, nameof(totalSteps));
        (TotalSteps, Power) = (totalSteps, power);
        Apply();
    }

    public long TotalSteps { get; }
    public double Power { get; }
    public override double LearningRateAt(double baseLr, long step) => baseLr * Math.Pow(Math.Max(0, 1 - (double)step / TotalSteps), Power);
}

/// <summary>
/// One-cycle policy (Smith): each group's base rate is its maximum. The rate rises from max/divFactor to max over
/// the first pctStart of the steps, then anneals to max/(divFactor·finalDivFactor), by cosine (or linearly).
/// </summary>
public sealed class OneCycleLr : LrScheduler
{
    public OneCycleLr(Optimizer optimizer, long totalSteps, double pctStart = 0.3, double divFactor = 25, double finalDivFactor = 1e4, bool cosine = true) : base(optimizer)
    {
        Positive(totalSteps, nameof(totalSteps));
        if (pctStart is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(pctStart), pctStart, "must be in (0, 1)");
        (TotalSteps, PctStart, DivFactor, FinalDivFactor, Cosine) = (totalSteps, pctStart, divFactor, finalDivFactor, cosine);
        Apply();
    }

    public long TotalSteps { get; }
    public double PctStart { get; }
    public double DivFactor { get; }
    public double FinalDivFactor { get; }
    public bool Cosine { get; }

    public override double LearningRateAt(double maxLr, long step)
    {
        double initial = maxLr / DivFactor, final = initial / FinalDivFactor;
        double warmEnd = PctStart * TotalSteps - 1, end = TotalSteps - 1;
        return step <= warmEnd
            ? Anneal(initial, maxLr, step / warmEnd)
            : Anneal(maxLr, final, (step - warmEnd) / (end - warmEnd));
    }

    private double Anneal(double from, double to, double pct) =>
        Cosine ? to + (from - to) / 2 * (Math.Cos(Math.PI * pct) + 1) : from + (to - from) * pct;
}

/// <summary>
/// Linear warmup composed with another schedule: for t &lt; warmup the rate rises linearly from
/// startFactor · inner(0) to inner(0); afterwards it is inner(t − warmup). Step this scheduler only, not the inner one.
/// </summary>
public sealed class LinearWarmup : LrScheduler
{
    public LinearWarmup(LrScheduler inner, long warmupSteps, double startFactor = 0.01)
        : base(inner.Optimizer, inner.BaseLearningRates) // the inner schedule's bases, not the rates it set at step 0
    {
        Positive(warmupSteps, nameof(warmupSteps));
        if (startFactor is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(startFactor), startFactor, "must be in [0, 1]");
        Inner = inner;
        (WarmupSteps, StartFactor) = (warmupSteps, startFactor);
        Apply();
    }

    public LrScheduler Inner { get; }
    public long WarmupSteps { get; }
    public double StartFactor { get; }

    public override double LearningRateAt(double baseLr, long step) =>
        step >= WarmupSteps
            ? Inner.LearningRateAt(baseLr, step - WarmupSteps)
            : Inner.LearningRateAt(baseLr, 0) * (StartFactor + (1 - StartFactor) * step / WarmupSteps);
}
