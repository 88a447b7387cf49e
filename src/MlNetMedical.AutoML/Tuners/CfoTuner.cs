namespace MlNetMedical.AutoML;

/// <summary>
/// Cost-frugal optimisation: FLAML's FLOW2 randomized local search in the normalised space [0,1]^d, starting
/// from the low-cost point (declared defaults, else mid-range). From the incumbent x it proposes x + δu with u a
/// random unit vector, then x − δu; it moves to any proposal that improves. The initial step is δ = 0.1·√d
/// (capped at √d). After 2^min(9,d) proposals around one incumbent without improvement, δ shrinks by
/// √(K_old/K) (K = proposals so far); once δ falls below the granularity bound (√d × the finest int step, or
/// 1e-4 when all parameters are continuous; see <see cref="StepLowerBound"/>), the search has converged and
/// restarts from a random point.
/// </summary>
public sealed class CfoTuner : ITuner
{
    private const double StepSize = 0.1;
    private const double ContinuousStepLowerBound = 1e-4;

    private readonly int _seed;
    private SearchSpace? _space;
    private Random _rng = new(0);
    private double[] _incumbent = Array.Empty<double>();
    private double? _bestLoss;
    private double _step, _stepUpper;
    private int _dim, _dirLimit;
    private int _proposedByIncumbent, _incumbentVersion;
    private int _proposed = 1, _completed = 1, _k, _oldK, _iterBestConfig = 1;
    private double[]? _directionTried;
    private bool _initPhase = true;
    private readonly Dictionary<int, double> _stepAtProposal = new();

    public CfoTuner(int seed = 0) { _seed = seed; }

    public string Name => "cfo";

    /// <summary>Current step size δ in normalised units.</summary>
    public double Step => _step;

    /// <summary>How many times the local search converged and restarted from a random point.</summary>
    public int Restarts { get; private set; }

    /// <summary>The step below which the search counts as converged.</summary>
    public double StepLowerBound { get; private set; }

    private void EnsureInitialised(SearchSpace space)
    {
        if (ReferenceEquals(space, _space)) return;
        _space = space;
        _rng = new Random(_seed ^ 0x5f3759df);
        _dim = space.Dimensions.Count;
        _stepUpper = Math.Sqrt(_dim);
        _dirLimit = 1 << Math.Min(9, _dim);
        var intGranularity = space.Dimensions.Where(d => d.Parameter is IntParameter).Select(d => d.Parameter.Granularity).DefaultIfEmpty(double.PositiveInfinity).Min();
        StepLowerBound = double.IsPositiveInfinity(intGranularity) ? ContinuousStepLowerBound : intGranularity * _stepUpper;
        ResetSearch(space.Encode(space.DefaultPoint()));
    }

    private void ResetSearch(double[] start)
    {
        _incumbent = start;
        _bestLoss = null;
        _step = Math.Min(Math.Max(StepSize * _stepUpper, 2 * StepLowerBound), _stepUpper);
        _proposedByIncumbent = 0;
        _directionTried = null;
        _initPhase = true;
        _k = 0; _oldK = 0;
        _incumbentVersion++;
    }

    public ParameterSet? Propose(TuningContext context)
    {
        var space = context.Space;
        EnsureInitialised(space);
        _stepAtProposal[context.TrialNumber] = _step;
        // The very first proposal is the low-cost start itself.
        if (_bestLoss is null && _proposed == 1 && !context.Trials.Any(t => t.Parameters.Count > 0))
        {
            _proposed++;
            return space.Decode(_incumbent);
        }

        var incumbentConfig = space.Decode(_incumbent);
        ParameterSet config = incumbentConfig;
        for (int attempt = 0; attempt < 8 && config.Equals(incumbentConfig); attempt++)
        {
            _proposed++;
            var move = (double[])_incumbent.Clone();
            if (_directionTried is not null)
            {
                for (int i = 0; i < _dim; i++) move[i] -= _directionTried[i];
                _directionTried = null;
            }
            else
            {
                _directionTried = RandomUnitVector();
                for (int i = 0; i < _dim; i++) { _directionTried[i] *= _step; move[i] += _directionTried[i]; }
            }
            for (int i = 0; i < _dim; i++) move[i] = Math.Clamp(move[i], 0.0, 1.0);
            config = space.Decode(move);
            _proposedByIncumbent++;
            // A discrete space can map a small move back onto the incumbent: widen the step while starting up.
            if (config.Equals(incumbentConfig) && _initPhase) _step = Math.Min(_step + StepSize, _stepUpper);
            if (_proposedByIncumbent >= _dirLimit)
            {
                _proposedByIncumbent -= 2;
                _initPhase = false;
                if (_step < StepLowerBound)
                {
                    Restarts++;
                    var start = new double[_dim];
                    for (int i = 0; i < _dim; i++) start[i] = _rng.NextDouble();
                    ResetSearch(start);
                    return space.Decode(start);
                }
                _oldK = _k > 0 ? _k : _iterBestConfig;
                _k = _proposed + 1;
                _step *= Math.Sqrt((double)_oldK / _k);
            }
        }
        return config;
    }

    public void Observe(TrialRecord finished, SearchSpace space, Direction direction)
    {
        EnsureInitialised(space);
        _completed++;
        if (finished.State != TrialState.Complete || finished.Value is not { } v || double.IsNaN(v)) return;
        double loss = direction.ToLoss(v);
        if (_bestLoss is { } best && !(loss < best)) return;
        double[] point;
        try { point = space.Encode(finished.Parameters); }
        catch (ArgumentException) { return; } // a trial from another space version: not a valid incumbent
        _bestLoss = loss;
        _incumbent = point;
        _incumbentVersion++;
        if (_stepAtProposal.TryGetValue(finished.Number, out var s)) _step = s;
        _proposedByIncumbent = 0;
        _directionTried = null;
        if (_k > 0) _step *= Math.Sqrt((double)_k / _oldK);
        _step = Math.Min(_step, _stepUpper);
        _iterBestConfig = _completed;
    }

    private double[] RandomUnitVector()
    {
        var u = new double[_dim];
        double norm = 0;
        while (norm == 0)
        {
            for (int i = 0; i < _dim; i++) { u[i] = _rng.NextGaussian(); norm += u[i] * u[i]; }
        }
        norm = Math.Sqrt(norm);
        for (int i = 0; i < _dim; i++) u[i] /= norm;
        return u;
    }
}
