using System.Globalization;

namespace MlNetMedical.AutoML;

/// <summary>The study as a pruner sees it: its trials (re-read on each call) and trial system attributes.</summary>
public interface IStudyView
{
    string StudyName { get; }
    Direction Direction { get; }
    IReadOnlyList<TrialRecord> GetTrials();
    void SetTrialSystemAttribute(TrialRecord trial, string key, string value);
}

/// <summary>Decides, from the values a trial reported per step, whether to stop it early.</summary>
public interface IPruner
{
    string Name { get; }

    /// <summary>Called after each report; <paramref name="trial"/> holds every value reported so far.</summary>
    bool ShouldPrune(IStudyView study, TrialRecord trial);

    /// <summary>The trials a tuner may learn from when configuring trial <paramref name="trialNumber"/> (Hyperband: its bracket only).</summary>
    IReadOnlyList<TrialRecord> TrialsForTuner(IStudyView study, int trialNumber, IReadOnlyList<TrialRecord> trials) => trials;
}

/// <summary>Never prunes.</summary>
public sealed class NoPruner : IPruner
{
    public string Name => "none";
    public bool ShouldPrune(IStudyView study, TrialRecord trial) => false;
}

/// <summary>
/// Optuna's MedianPruner: after <see cref="StartupTrials"/> complete trials and from step
/// <see cref="WarmupSteps"/> on, prune when the trial's best value so far is worse than the median of the
/// values complete trials reported at the same step.
/// </summary>
public sealed class MedianPruner(int startupTrials = 5, int warmupSteps = 0) : IPruner
{
    public int StartupTrials { get; } = startupTrials >= 0 ? startupTrials : throw new ArgumentOutOfRangeException(nameof(startupTrials), "Median pruner startupTrials must be >= 0.");
    public int WarmupSteps { get; } = warmupSteps >= 0 ? warmupSteps : throw new ArgumentOutOfRangeException(nameof(warmupSteps), "Median pruner warmupSteps must be >= 0.");
    public string Name => "median";

    public bool ShouldPrune(IStudyView study, TrialRecord trial)
    {
        if (trial.LastStep is not { } step || step < WarmupSteps) return false;
        var complete = study.GetTrials().Where(t => t.State == TrialState.Complete).ToList();
        if (complete.Count == 0 || complete.Count < StartupTrials) return false;
        var own = trial.IntermediateValues.Values.Where(v => !double.IsNaN(v)).ToList();
        if (own.Count == 0) return true;
        double best = study.Direction == Direction.Minimize ? own.Min() : own.Max();
        var atStep = complete.Where(t => t.IntermediateValues.TryGetValue(step, out var v) && !double.IsNaN(v))
                             .Select(t => t.IntermediateValues[step]).ToList();
        if (atStep.Count == 0) return false;
        double median = Median(atStep);
        return study.Direction.IsBetter(median, best);
    }

    /// <summary>Median with linear interpolation between the middle two values (numpy's default).</summary>
    internal static double Median(List<double> values)
    {
        values.Sort();
        int n = values.Count;
        return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
    }
}

/// <summary>
/// Asynchronous successive halving (Optuna's SuccessiveHalvingPruner). Rung k sits at step
/// r·η^(s+k) (r = min resource, η = reduction factor, s = min early-stopping rate). A trial reaching a rung
/// records its value there (trial system attribute "completed_rung_k") and continues only if it is at least as
/// good as the idx-th best value recorded at that rung, idx = floor(|values|/η) − 1 clamped to 0.
/// </summary>
public sealed class SuccessiveHalvingPruner : IPruner
{
    private int? _minResource;

    /// <param name="minResource">r; null estimates it as max(last step of complete trials // 100, 1) once a trial completes.</param>
    public SuccessiveHalvingPruner(int? minResource = null, int reductionFactor = 4, int minEarlyStoppingRate = 0)
    {
        if (minResource is < 1) throw new ArgumentOutOfRangeException(nameof(minResource), "Successive halving minResource must be >= 1.");
        if (reductionFactor < 2) throw new ArgumentOutOfRangeException(nameof(reductionFactor), "Successive halving reductionFactor must be >= 2.");
        if (minEarlyStoppingRate < 0) throw new ArgumentOutOfRangeException(nameof(minEarlyStoppingRate), "Successive halving minEarlyStoppingRate must be >= 0.");
        _minResource = minResource;
        ReductionFactor = reductionFactor;
        MinEarlyStoppingRate = minEarlyStoppingRate;
    }

    public int ReductionFactor { get; }
    public int MinEarlyStoppingRate { get; }
    public int? MinResource => _minResource;
    public string Name => "asha";

    public bool ShouldPrune(IStudyView study, TrialRecord trial)
    {
        if (trial.LastStep is not { } step) return false;
        double value = trial.IntermediateValues[step];
        int rung = 0;
        while (trial.SystemAttributes.ContainsKey(TrialAttributes.CompletedRung(rung))) rung++;
        IReadOnlyList<TrialRecord>? trials = null;
        while (true)
        {
            if (_minResource is null)
            {
                trials ??= study.GetTrials();
                _minResource = EstimateMinResource(trials);
                if (_minResource is null) return false;
            }
            double promotionStep = _minResource.Value * Math.Pow(ReductionFactor, MinEarlyStoppingRate + rung);
            if (step < promotionStep) return false;
            if (double.IsNaN(value)) return true;
            trials ??= study.GetTrials();
            string key = TrialAttributes.CompletedRung(rung);
            study.SetTrialSystemAttribute(trial, key, value.ToString("R", CultureInfo.InvariantCulture));
            var competing = trials.Where(t => t.Number != trial.Number && t.SystemAttributes.TryGetValue(key, out _))
                                  .Select(t => double.Parse(t.SystemAttributes[key], CultureInfo.InvariantCulture))
                                  .Append(value).ToList();
            if (!IsPromotable(value, competing, ReductionFactor, study.Direction)) return true;
            rung++;
        }
    }

    internal static int? EstimateMinResource(IReadOnlyList<TrialRecord> trials)
    {
        var lastSteps = trials.Where(t => t.State == TrialState.Complete && t.LastStep is not null).Select(t => t.LastStep!.Value).ToList();
        return lastSteps.Count == 0 ? null : Math.Max(lastSteps.Max() / 100, 1);
    }

    internal static bool IsPromotable(double value, List<double> competing, int reductionFactor, Direction direction)
    {
        int idx = Math.Max(competing.Count / reductionFactor - 1, 0);
        competing.Sort();
        return direction == Direction.Maximize ? value >= competing[competing.Count - 1 - idx] : value <= competing[idx];
    }
}

/// <summary>
/// Optuna's HyperbandPruner: floor(log_η(max/min)) + 1 successive-halving brackets, bracket b with min early
/// stopping rate b. A trial joins a bracket by CRC32("study_number") modulo the total budget, split in
/// proportion to the bracket budgets ceil(n·η^s/(s+1)), s = n−1−b. Tuners see only same-bracket trials.
/// Max resource "auto" is the last step of the first complete trial + 1.
/// </summary>
public sealed class HyperbandPruner : IPruner
{
    private readonly int _minResource;
    private int? _maxResource;
    private readonly List<SuccessiveHalvingPruner> _brackets = new();
    private readonly List<int> _budgets = new();
    private int _totalBudget;
    private readonly object _gate = new();

    public HyperbandPruner(int minResource = 1, int? maxResource = null, int reductionFactor = 3)
    {
        if (minResource < 1) throw new ArgumentOutOfRangeException(nameof(minResource), "Hyperband minResource must be >= 1.");
        if (maxResource is { } m && m < minResource) throw new ArgumentOutOfRangeException(nameof(maxResource), $"Hyperband maxResource must be >= minResource ({minResource}).");
        if (reductionFactor < 2) throw new ArgumentOutOfRangeException(nameof(reductionFactor), "Hyperband reductionFactor must be >= 2.");
        _minResource = minResource;
        _maxResource = maxResource;
        ReductionFactor = reductionFactor;
    }

    public int ReductionFactor { get; }
    public string Name => "hyperband";
    public int BracketCount { get { lock (_gate) return _brackets.Count; } }
    public IReadOnlyList<int> Budgets { get { lock (_gate) return _budgets.ToArray(); } }

    private bool TryInitialise(IStudyView study)
    {
        lock (_gate)
        {
            if (_brackets.Count > 0) return true;
            if (_maxResource is null)
            {
                var steps = study.GetTrials().Where(t => t.State == TrialState.Complete && t.LastStep is not null).Select(t => t.LastStep!.Value).ToList();
                if (steps.Count == 0) return false;
                _maxResource = steps.Max() + 1;
            }
            int n = (int)Math.Floor(Math.Log((double)_maxResource.Value / _minResource, ReductionFactor) + 1e-9) + 1;
            for (int b = 0; b < n; b++)
            {
                int s = n - 1 - b;
                int budget = (int)Math.Ceiling(n * Math.Pow(ReductionFactor, s) / (s + 1));
                _budgets.Add(budget);
                _totalBudget += budget;
                _brackets.Add(new SuccessiveHalvingPruner(_minResource, ReductionFactor, b));
            }
            return true;
        }
    }

    /// <summary>The bracket of trial <paramref name="trialNumber"/> (0 before the brackets are known).</summary>
    public int BracketOf(string studyName, int trialNumber)
    {
        lock (_gate)
        {
            if (_brackets.Count == 0) return 0;
            long n = Crc32.Compute($"{studyName}_{trialNumber}") % (uint)_totalBudget;
            for (int b = 0; b < _budgets.Count; b++)
            {
                n -= _budgets[b];
                if (n < 0) return b;
            }
            return _budgets.Count - 1;
        }
    }

    public bool ShouldPrune(IStudyView study, TrialRecord trial)
    {
        if (!TryInitialise(study)) return false;
        int bracket = BracketOf(study.StudyName, trial.Number);
        return _brackets[bracket].ShouldPrune(new BracketView(study, this, bracket), trial);
    }

    public IReadOnlyList<TrialRecord> TrialsForTuner(IStudyView study, int trialNumber, IReadOnlyList<TrialRecord> trials)
    {
        if (!TryInitialise(study)) return trials;
        int bracket = BracketOf(study.StudyName, trialNumber);
        return trials.Where(t => BracketOf(study.StudyName, t.Number) == bracket).ToList();
    }

    private sealed class BracketView(IStudyView inner, HyperbandPruner owner, int bracket) : IStudyView
    {
        public string StudyName => inner.StudyName;
        public Direction Direction => inner.Direction;
        public IReadOnlyList<TrialRecord> GetTrials() => inner.GetTrials().Where(t => owner.BracketOf(inner.StudyName, t.Number) == bracket).ToList();
        public void SetTrialSystemAttribute(TrialRecord trial, string key, string value) => inner.SetTrialSystemAttribute(trial, key, value);
    }
}

/// <summary>CRC-32 (IEEE, as zlib/binascii.crc32) over UTF-8 text.</summary>
internal static class Crc32
{
    private static readonly uint[] Table = Enumerable.Range(0, 256).Select(i =>
    {
        uint c = (uint)i;
        for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        return c;
    }).ToArray();

    public static uint Compute(string text)
    {
        uint crc = 0xFFFFFFFFu;
        foreach (byte b in System.Text.Encoding.UTF8.GetBytes(text)) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc ^ 0xFFFFFFFFu;
    }
}
