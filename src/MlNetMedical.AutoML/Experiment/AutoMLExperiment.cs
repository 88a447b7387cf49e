using System.Globalization;
using System.Text;
using System.Text.Json;
using MlNetMedical.Catalogs;

namespace MlNetMedical.AutoML;

/// <summary>The outcome of <see cref="AutoMLExperiment.Run"/>.</summary>
public sealed record ExperimentResult(
    StudyInfo Study,
    TrialRecord? BestTrial,
    IReadOnlyList<TrialRecord> Leaderboard,
    IReadOnlyList<TrialRecord> Trials,
    string? LeaderboardCsvPath,
    string? LeaderboardJsonPath,
    int WarmStartTrials)
{
    public ParameterSet? BestParameters => BestTrial?.Parameters;

    /// <summary>Where the leaderboard (and a refitted model) went: the SQLite study's folder or <see cref="AutoMLExperiment.SetOutputFolder"/>.</summary>
    public string? OutputFolder { get; init; }

    /// <summary>The best configuration refitted on all the data (<see cref="AutoMLExperiment.SetRefit"/>), saved with <c>ml.Model.SaveMedical</c>.</summary>
    public string? BestModelPath { get; init; }
}

/// <summary>The best configuration fitted on train + validation, and where it was saved (null when there is no folder).</summary>
public sealed record RefitResult(ITransformer Model, string? ModelPath);

/// <summary>
/// Runs a study: trials proposed by a tuner, stopped early by a pruner, run n at a time, persisted in a
/// storage that other processes may share, resumable after a crash. Configured in ML.NET AutoML's style.
/// </summary>
public sealed class AutoMLExperiment
{
    private readonly MLContext? _context;
    private Func<ExperimentDataset>? _datasetFactory;
    private ExperimentDataset? _dataset;
    private ISweepablePipeline? _pipeline;
    private bool _metricSet;
    private bool _refit;
    private SearchSpace? _space;
    private ITrialRunner? _runner;
    private string _metric = "metric";
    private Direction _direction = Direction.Minimize;
    private double? _timeBudgetSeconds;
    private int? _maxTrials;
    private int _parallelism = 1;
    private ITuner? _tuner;
    private IPruner _pruner = new NoPruner();
    private IStudyStorage? _storage;
    private string _studyName = "study";
    private readonly List<IMonitor> _monitors = new();
    private readonly List<ParameterSet> _enqueued = new();
    private TimeSpan _heartbeat = DefaultHeartbeat;
    private TimeSpan? _grace;
    private string? _outputFolder;
    private int _seed;

    /// <param name="context">The context whose catalogs split and score the data and save the refitted model; its <c>ml.Medical().Threads</c>
    /// (all cores when unset) is shared among parallel trials. A new one seeded by <see cref="SetSeed"/> is made when needed.</param>
    public AutoMLExperiment(MLContext? context = null) { _context = context; }

    private MLContext? _defaultContext;
    private MLContext Context => _context ?? (_defaultContext ??= NewContext(_seed));

    private static MLContext NewContext(int seed)
    {
        var ml = new MLContext(seed);
        ml.Medical().Seed = seed;
        return ml;
    }

    /// <summary>Trials fit on <paramref name="train"/> and are scored on <paramref name="validation"/>; refit uses both.</summary>
    /// <param name="groupColumnName">Keeps a patient's rows on one side of the trainers' own per-epoch validation split.</param>
    public AutoMLExperiment SetDataset(IDataView train, IDataView validation, string? groupColumnName = null)
    {
        var dataset = ExperimentDataset.FromSplit(train, validation, groupColumnName);
        _datasetFactory = () => dataset; _dataset = null; return this;
    }

    /// <summary>Trials are scored by <paramref name="folds"/>-fold cross-validation over <paramref name="data"/> (a group never split); refit uses all of it.
    /// The folds are drawn when the experiment runs, with the seed of <see cref="SetSeed"/> whether it is called before or after this.</summary>
    public AutoMLExperiment SetDataset(IDataView data, int folds, string? groupColumnName = null)
    {
        ExperimentDataset.CheckFolds(data, folds, groupColumnName);
        _datasetFactory = () => ExperimentDataset.FromFolds(Context, data, folds, groupColumnName, _seed); _dataset = null; return this;
    }

    /// <summary>The dataset of <see cref="SetDataset(IDataView, int, string?)"/>, its folds drawn with the current seed (null without one).</summary>
    private ExperimentDataset? Dataset => _dataset ??= _datasetFactory?.Invoke();

    /// <summary>Sweeps <paramref name="pipeline"/>'s space; trials fit it on the dataset, report epochs to the pruner and return
    /// <see cref="SweepMetrics"/> (default metric: accuracy, maximised).</summary>
    public AutoMLExperiment SetPipeline(ISweepablePipeline pipeline)
    {
        _pipeline = pipeline ?? throw new ArgumentNullException(nameof(pipeline));
        _space = pipeline.SearchSpace;
        _runner = null;
        return this;
    }

    /// <summary>After the study, fit the best configuration of the pipeline on all the data and save it next to the leaderboard.</summary>
    public AutoMLExperiment SetRefit(bool refit = true) { _refit = refit; return this; }

    public AutoMLExperiment SetSearchSpace(SearchSpace space) { _space = space ?? throw new ArgumentNullException(nameof(space)); return this; }

    public AutoMLExperiment SetTrialRunner(ITrialRunner runner) { _runner = runner ?? throw new ArgumentNullException(nameof(runner)); return this; }

    /// <summary>An objective that returns the metric named in <see cref="SetMetric"/>.</summary>
    public AutoMLExperiment SetObjective(Func<TrialContext, double> objective) =>
        SetTrialRunner(new DelegateRunner(t => Task.FromResult<IReadOnlyDictionary<string, double>>(new Dictionary<string, double> { [_metric] = objective(t) })));

    public AutoMLExperiment SetObjective(Func<TrialContext, Task<double>> objective) =>
        SetTrialRunner(new DelegateRunner(async t => new Dictionary<string, double> { [_metric] = await objective(t).ConfigureAwait(false) }));

    /// <summary>An objective returning several metrics; the one named in <see cref="SetMetric"/> is optimised, the rest are kept.</summary>
    public AutoMLExperiment SetObjective(Func<TrialContext, IReadOnlyDictionary<string, double>> objective) =>
        SetTrialRunner(new DelegateRunner(t => Task.FromResult(objective(t))));

    public AutoMLExperiment SetMetric(string name, Direction direction)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        _metric = name; _direction = direction; _metricSet = true; return this;
    }

    public AutoMLExperiment SetTrainingTimeInSeconds(double seconds)
    {
        if (!(seconds > 0)) throw new ArgumentOutOfRangeException(nameof(seconds), $"Training time must be > 0 seconds, got {seconds}.");
        _timeBudgetSeconds = seconds; return this;
    }

    /// <summary>Trials in the study as a whole (resumed and other workers' trials count; re-queued failures do not).</summary>
    public AutoMLExperiment SetMaxTrials(int maxTrials)
    {
        if (maxTrials < 1) throw new ArgumentOutOfRangeException(nameof(maxTrials), $"Max trials must be >= 1, got {maxTrials}.");
        _maxTrials = maxTrials; return this;
    }

    /// <summary>Trials run concurrently; each gets <see cref="TrialThreadBudget"/> threads.</summary>
    public AutoMLExperiment SetParallelism(int trials)
    {
        if (trials < 1) throw new ArgumentOutOfRangeException(nameof(trials), $"Parallelism must be >= 1, got {trials}.");
        _parallelism = trials; return this;
    }

    /// <summary>Torch threads per trial: the context's thread count (all cores by default) shared among the parallel trials.</summary>
    public int TrialThreadBudget => Math.Max(1, (_context?.Medical().Threads ?? Environment.ProcessorCount) / _parallelism);

    public AutoMLExperiment SetTuner(ITuner tuner) { _tuner = tuner ?? throw new ArgumentNullException(nameof(tuner)); return this; }
    public AutoMLExperiment SetPruner(IPruner pruner) { _pruner = pruner ?? throw new ArgumentNullException(nameof(pruner)); return this; }
    /// <summary>The seed of the tuner, of the cross-validation folds and of the context made when none was given; the order of
    /// <c>SetSeed</c> and <c>SetDataset</c> does not matter.</summary>
    public AutoMLExperiment SetSeed(int seed)
    {
        _seed = seed;
        _dataset = null;                             // folds are drawn again with this seed
        if (_context is null) _defaultContext = null; // and the default context is seeded with it
        return this;
    }

    public AutoMLExperiment SetStudy(IStudyStorage storage, string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        _storage = storage ?? throw new ArgumentNullException(nameof(storage)); _studyName = name; return this;
    }

    /// <summary>The embedded default: a SQLite study file.</summary>
    public AutoMLExperiment SetStudy(string sqlitePath, string name) => SetStudy(StudyStorage.Sqlite(sqlitePath), name);

    /// <summary>The default heartbeat interval (10 s).</summary>
    public static TimeSpan DefaultHeartbeat { get; } = TimeSpan.FromSeconds(10);

    /// <summary>The longest a storage write may wait for the database (SQLite's busy timeout; a PostgreSQL lock wait of the same order).
    /// A heartbeat stuck that long must not get a live trial failed, so the default grace is longer.</summary>
    public static TimeSpan DatabaseWait { get; } = TimeSpan.FromSeconds(60);

    /// <summary>The grace used when none is given: <see cref="DatabaseWait"/> plus three heartbeat intervals (90 s by default).</summary>
    public static TimeSpan DefaultGrace(TimeSpan interval) => DatabaseWait + 3 * interval;

    /// <summary>How often running trials prove they are alive: a background thread of the experiment, independent of the trials'
    /// work, records a heartbeat for each of them every <paramref name="interval"/>. A RUNNING trial whose last heartbeat is older than
    /// the grace (<see cref="DefaultGrace"/>: 60 s + 3 intervals) is failed and re-queued by any worker of the study.</summary>
    public AutoMLExperiment SetHeartbeat(TimeSpan interval)
    {
        if (interval <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(interval), $"Heartbeat interval must be positive, got {interval}.");
        _heartbeat = interval; _grace = null; return this;
    }

    /// <summary>As <see cref="SetHeartbeat(TimeSpan)"/>, with the grace after which a silent trial is failed (at least two intervals).
    /// A grace under <see cref="DatabaseWait"/> lets a database that stalls a heartbeat write fail a live trial: use it for tests,
    /// or where dead workers must be noticed fast and the database never stalls.</summary>
    public AutoMLExperiment SetHeartbeat(TimeSpan interval, TimeSpan grace)
    {
        SetHeartbeat(interval);
        if (grace < 2 * interval)
            throw new ArgumentOutOfRangeException(nameof(grace), $"Heartbeat grace must be at least two intervals ({2 * interval}), got {grace}.");
        _grace = grace; return this;
    }

    /// <summary>How long a RUNNING trial may go without a heartbeat before it is failed as stale.</summary>
    public TimeSpan HeartbeatGrace => _grace ?? DefaultGrace(_heartbeat);

    /// <summary>Where leaderboard files go (default: next to a SQLite study).</summary>
    public AutoMLExperiment SetOutputFolder(string folder) { _outputFolder = folder; return this; }

    public AutoMLExperiment SetMonitor(IMonitor monitor) { _monitors.Add(monitor ?? throw new ArgumentNullException(nameof(monitor))); return this; }

    /// <summary>Adds a configuration to run before tuned ones (a WAITING trial). It is added once per study: a resumed run, or another
    /// worker of the same study with the same call, finds it there and does not add it again (enqueueing the same configuration twice
    /// adds two trials). Enqueued trials count against <see cref="SetMaxTrials"/>: those beyond the budget are not added.</summary>
    public AutoMLExperiment Enqueue(ParameterSet parameters) { _enqueued.Add(parameters ?? throw new ArgumentNullException(nameof(parameters))); return this; }

    public ExperimentResult Run(CancellationToken cancellation = default) => RunAsync(cancellation).GetAwaiter().GetResult();

    public async Task<ExperimentResult> RunAsync(CancellationToken cancellation = default)
    {
        var dataset = Dataset;
        if (_pipeline is not null)
        {
            if (dataset is null) throw new InvalidOperationException("A pipeline sweep needs data: call SetDataset before Run.");
            if (!_metricSet) { _metric = SweepMetrics.Accuracy; _direction = Direction.Maximize; }
            SweepMetrics.Check(_metric);
        }
        var space = _space ?? throw new InvalidOperationException("Call SetSearchSpace or SetPipeline before Run.");
        var runner = _runner ?? (_pipeline is not null ? new PipelineTrialRunner(_pipeline, Context, dataset!) : null)
                     ?? throw new InvalidOperationException("Call SetObjective, SetTrialRunner or SetPipeline before Run.");
        if (_maxTrials is null && _timeBudgetSeconds is null)
            throw new InvalidOperationException("Set a stopping rule: SetMaxTrials and/or SetTrainingTimeInSeconds.");
        var storage = _storage ?? StudyStorage.Sqlite(Path.Combine(Path.GetTempPath(), "mlnm-automl", Guid.NewGuid().ToString("N"), "study.db"));
        var tuner = _tuner ?? new TpeTuner(_seed, new TpeOptions { ConstantLiar = _parallelism > 1 });
        var study = storage.CreateOrLoadStudy(_studyName, _direction);
        var occurrences = new Dictionary<string, int>();
        foreach (var p in _enqueued)
        {
            var point = space.Validate(p);
            var pointJson = point.ToJson();
            int occurrence = occurrences[pointJson] = occurrences.GetValueOrDefault(pointJson) + 1;
            storage.EnqueueTrial(study.Id, point, $"{occurrence}:{pointJson}", _maxTrials);
        }

        int warmStartTrials;
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        if (_timeBudgetSeconds is { } s) budget.CancelAfter(TimeSpan.FromSeconds(s));
        using (var session = new Session(this, space, runner, tuner, storage, study, budget.Token))
        {
            session.WarmStart();
            var workers = Enumerable.Range(0, _parallelism).Select(_ => Task.Run(session.WorkLoop)).ToArray();
            await Task.WhenAll(workers).ConfigureAwait(false);
            warmStartTrials = session.WarmStartTrials;
        }

        var trials = storage.GetTrials(study.Id);
        var leaderboard = trials.Where(t => t.State == TrialState.Complete && t.Value is { } v && !double.IsNaN(v))
                                .OrderBy(t => _direction.ToLoss(t.Value!.Value)).ThenBy(t => t.Number).ToList();
        var folder = _outputFolder ?? storage.Directory;
        string? csv = null, json = null;
        if (folder is not null)
        {
            Directory.CreateDirectory(folder);
            csv = Path.Combine(folder, $"{_studyName}.leaderboard.csv");
            json = Path.Combine(folder, $"{_studyName}.leaderboard.json");
            WriteLeaderboard(trials, leaderboard, space, csv, json);
        }
        var result = new ExperimentResult(study, leaderboard.FirstOrDefault(), leaderboard, trials, csv, json, warmStartTrials) { OutputFolder = folder };
        if (_refit && result.BestTrial is not null)
        {
            var refit = RefitBest(result, cancellation);
            Models.Dispose(refit.Model);
            result = result with { BestModelPath = refit.ModelPath };
        }
        return result;
    }

    /// <summary>
    /// Fits the pipeline's best configuration of <paramref name="result"/> on all the data (train + validation, or every fold) and
    /// saves it with <c>ml.Model.SaveMedical</c> as <c>STUDY.best-model.zip</c> in the result's output folder (when it has one).
    /// </summary>
    public RefitResult RefitBest(ExperimentResult result, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(result);
        var pipeline = _pipeline ?? throw new InvalidOperationException("Refit needs a pipeline: call SetPipeline.");
        var data = Dataset ?? throw new InvalidOperationException("Refit needs data: call SetDataset.");
        var best = result.BestTrial ?? throw new InvalidOperationException($"Study '{result.Study.Name}' has no completed trial to refit.");
        var training = new TrialTraining(null, SweepMetrics.EpochMetricOf(_metric), cancellation, data.GroupColumnName);
        var model = pipeline.BuildEstimator(_space!.Validate(best.Parameters), training).Fit(data.All);
        string? path = null;
        if (result.OutputFolder is { } folder)
        {
            Directory.CreateDirectory(folder);
            path = Path.Combine(folder, $"{_studyName}.best-model.zip");
            Context.Model.SaveMedical(model, data.All.Schema, path);
        }
        return new RefitResult(model, path);
    }

    private void WriteLeaderboard(IReadOnlyList<TrialRecord> trials, List<TrialRecord> leaderboard, SearchSpace space, string csvPath, string jsonPath)
    {
        static string Cell(string s) => s.IndexOfAny(new[] { ',', '"', '\n' }) >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;
        static string Num(double? v) => v is { } d ? d.ToString("R", CultureInfo.InvariantCulture) : "";
        var names = space.Dimensions.Select(d => d.FullName).ToList();
        var ordered = leaderboard.Concat(trials.Where(t => !leaderboard.Contains(t)).OrderBy(t => t.Number)).ToList();
        var sb = new StringBuilder();
        sb.AppendLine(string.Join(',', new[] { "rank", "trial", "state", _metric, "duration_s", "last_step" }.Concat(names).Append("error").Select(Cell)));
        for (int i = 0; i < ordered.Count; i++)
        {
            var t = ordered[i];
            var cells = new List<string> { i < leaderboard.Count ? (i + 1).ToString(CultureInfo.InvariantCulture) : "", t.Number.ToString(CultureInfo.InvariantCulture),
                t.State.ToString().ToUpperInvariant(), Num(t.Value), Num(t.Duration?.TotalSeconds), t.LastStep?.ToString(CultureInfo.InvariantCulture) ?? "" };
            cells.AddRange(names.Select(n => t.Parameters.TryGet(n, out var v) ? Convert.ToString(v, CultureInfo.InvariantCulture) ?? "" : ""));
            cells.Add(t.Error ?? "");
            sb.AppendLine(string.Join(',', cells.Select(Cell)));
        }
        AtomicFile.WriteAllText(csvPath, sb.ToString());
        var doc = new
        {
            study = _studyName, metric = _metric, direction = _direction.ToString().ToLowerInvariant(),
            best_trial = leaderboard.FirstOrDefault()?.Number,
            trials = ordered.Select(t => new
            {
                trial = t.Number, state = t.State.ToString().ToUpperInvariant(), value = t.Value is { } v && double.IsFinite(v) ? v : (double?)null,
                duration_s = t.Duration?.TotalSeconds, parameters = t.Parameters.Values.ToDictionary(kv => kv.Key, kv => kv.Value),
                intermediate = t.IntermediateValues.Where(kv => double.IsFinite(kv.Value)).ToDictionary(kv => kv.Key.ToString(CultureInfo.InvariantCulture), kv => kv.Value),
                error = t.Error,
            }),
        };
        AtomicFile.WriteAllText(jsonPath, JsonSerializer.Serialize(doc, new JsonSerializerOptions { WriteIndented = true }));
    }

    private sealed class DelegateRunner(Func<TrialContext, Task<IReadOnlyDictionary<string, double>>> run) : ITrialRunner
    {
        public Task<IReadOnlyDictionary<string, double>> RunAsync(TrialContext trial) => run(trial);
    }

    /// <summary>One Run: the shared state of its worker loops.</summary>
    private sealed class Session(AutoMLExperiment config, SearchSpace space, ITrialRunner runner, ITuner tuner, IStudyStorage storage, StudyInfo study, CancellationToken budget) : IStudyView, IDisposable
    {
        private readonly object _tunerGate = new();
        private readonly object _bestGate = new();
        private readonly HashSet<int> _observed = new();
        private double? _best;
        private readonly string _worker = $"{Environment.MachineName}:{Environment.ProcessId}";

        public string StudyName => study.Name;
        public Direction Direction => config._direction;
        public IReadOnlyList<TrialRecord> GetTrials() => storage.GetTrials(study.Id).Select(Canonical).ToList();
        public void SetTrialSystemAttribute(TrialRecord trial, string key, string value) => storage.SetTrialSystemAttribute(trial.Id, key, value);

        /// <summary>Stored values in the space's types; trials from an incompatible space keep their raw values.</summary>
        private TrialRecord Canonical(TrialRecord t)
        {
            if (t.Parameters.Count == 0) return t;
            try { return t with { Parameters = space.Validate(t.Parameters) }; }
            catch (ArgumentException) { return t; }
        }

        /// <summary>Fails stale trials left by dead workers and teaches the tuner every finished trial in the study.</summary>
        public void WarmStart()
        {
            storage.FailStaleTrials(study.Id, config.HeartbeatGrace);
            var trials = GetTrials();
            foreach (var t in trials.Where(t => t.State == TrialState.Complete && t.Value is { } v && !double.IsNaN(v)))
                if (_best is null || config._direction.IsBetter(t.Value!.Value, _best.Value)) _best = t.Value;
            lock (_tunerGate) SyncTuner(trials);
            WarmStartTrials = _observed.Count;
        }

        /// <summary>Finished trials already in the study when the run began (the tuner's warm start).</summary>
        public int WarmStartTrials { get; private set; }

        private void SyncTuner(IReadOnlyList<TrialRecord> trials)
        {
            foreach (var t in trials.Where(t => t.IsFinished && !_observed.Contains(t.Number)).OrderBy(t => t.Number))
            {
                _observed.Add(t.Number);
                tuner.Observe(t, space, config._direction);
            }
        }

        private HeartbeatPump? _pump;

        /// <summary>The heartbeat thread, started with the first trial and stopped by <see cref="Dispose"/>.</summary>
        private HeartbeatPump Pump
        {
            get { lock (_bestGate) return _pump ??= new HeartbeatPump(storage, config._heartbeat); }
        }

        public void Dispose() { lock (_bestGate) _pump?.Dispose(); }

        public async Task WorkLoop()
        {
            while (!budget.IsCancellationRequested)
            {
                storage.FailStaleTrials(study.Id, config.HeartbeatGrace);
                var trial = storage.ClaimWaitingTrial(study.Id)
                            ?? storage.CreateTrial(study.Id, TrialState.Running, null, new Dictionary<string, string> { [TrialAttributes.Worker] = _worker }, config._maxTrials);
                if (trial is null)
                {
                    // The budget is taken. Wait while others still run: they may die and be re-queued.
                    if (!storage.GetTrials(study.Id).Any(t => t.State is TrialState.Running or TrialState.Waiting)) return;
                    try { await Task.Delay(config._heartbeat / 2, budget).ConfigureAwait(false); } catch (OperationCanceledException) { return; }
                    continue;
                }
                using var fenced = new CancellationTokenSource();
                Pump.Add(trial.Id, fenced);
                try
                {
                    if (!await RunTrial(trial, fenced.Token).ConfigureAwait(false)) return;
                }
                finally { Pump.Remove(trial.Id); }
            }
        }

        /// <summary>Configures and runs one claimed trial; false when the tuner has nothing left to propose.
        /// <paramref name="fenced"/> is cancelled when the storage refuses the trial's heartbeat (it was failed as stale meanwhile).</summary>
        private async Task<bool> RunTrial(TrialRecord trial, CancellationToken fenced)
        {
            ParameterSet parameters;
            try
            {
                if (trial.Parameters.Count > 0) parameters = space.Validate(trial.Parameters);
                else
                {
                    ParameterSet? proposed;
                    // The proposal and the write of its parameters are one step, under this process's tuner lock and the storage's study
                    // lock: the next proposal, here or in another worker process, sees them (grid search does not hand out a point twice;
                    // constant-liar TPE sees every running trial).
                    lock (_tunerGate)
                    {
                        proposed = storage.ConfigureTrial(study.Id, trial.Id, stored =>
                        {
                            var all = stored.Select(Canonical).ToList();
                            SyncTuner(all);
                            var visible = config._pruner.TrialsForTuner(this, trial.Number, all.Where(t => t.Number != trial.Number).ToList());
                            var p = tuner.Propose(new TuningContext(space, config._direction, trial.Number, visible));
                            return p is null ? null : space.Validate(p);
                        });
                    }
                    parameters = proposed ?? new ParameterSet();
                    if (proposed is null)
                    {
                        storage.FinishTrial(trial.Id, TrialState.Fail, null, $"tuner {tuner.Name} has no configuration left to propose");
                        return false;
                    }
                }
            }
            catch (ArgumentException e)
            {
                storage.FinishTrial(trial.Id, TrialState.Fail, null, $"invalid configuration: {e.Message}");
                Notify(m => m.TrialFailed(storage.GetTrial(trial.Id), e));
                return true;
            }
            catch (TrialNotRunningException e)
            {
                Notify(m => m.TrialFailed(storage.GetTrial(trial.Id), e)); // failed as stale before it got its configuration
                return true;
            }
            trial = trial with { Parameters = parameters };
            Notify(m => m.TrialStarted(trial));

            double? lastReported = null;
            bool pruned = false;
            bool Report(int step, double value)
            {
                storage.ReportIntermediateValue(trial.Id, step, value); // TrialNotRunningException once the trial was failed: the trial stops
                lastReported = value;
                var current = Canonical(storage.GetTrial(trial.Id));
                Notify(m => m.TrialReported(current, step, value));
                if (!pruned && config._pruner.ShouldPrune(this, current)) pruned = true;
                return pruned;
            }
            using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(budget, fenced);
            var context = new TrialContext(trial.Number, parameters, config.TrialThreadBudget, cancellation.Token, Report,
                                            (k, v) => storage.SetTrialUserAttribute(trial.Id, k, v), config._metric, config.Dataset);
            Exception? error = null;
            IReadOnlyDictionary<string, double>? metrics = null;
            try { metrics = await runner.RunAsync(context).ConfigureAwait(false); }
            catch (TrialPrunedException) { pruned = true; }
            catch (Exception e) { error = e; }

            try
            {
                if (pruned)
                {
                    if (storage.FinishTrial(trial.Id, TrialState.Pruned, lastReported)) Notify(m => m.TrialPruned(storage.GetTrial(trial.Id)));
                    else Notify(m => m.TrialFailed(storage.GetTrial(trial.Id), null)); // failed as stale meanwhile
                    return true;
                }
                if (error is null && metrics is not null && !metrics.ContainsKey(config._metric))
                    error = new KeyNotFoundException($"Trial {trial.Number} returned metrics [{string.Join(", ", metrics.Keys)}] without '{config._metric}'.");
                if (error is not null)
                {
                    string reason = budget.IsCancellationRequested
                        ? $"cancelled: the experiment's time budget ran out or it was cancelled ({error.GetType().Name})"
                        : $"{error.GetType().Name}: {error.Message}";
                    storage.FinishTrial(trial.Id, TrialState.Fail, null, reason); // false when it was failed as stale already: that reason stays
                    Notify(m => m.TrialFailed(storage.GetTrial(trial.Id), error));
                    return true;
                }
                foreach (var (name, v) in metrics!)
                    if (name != config._metric) storage.SetTrialUserAttribute(trial.Id, name, v.ToString("R", CultureInfo.InvariantCulture));
                double value = metrics![config._metric];
                if (!storage.FinishTrial(trial.Id, TrialState.Complete, value))
                {
                    Notify(m => m.TrialFailed(storage.GetTrial(trial.Id), null)); // failed as stale meanwhile
                    return true;
                }
                var done = Canonical(storage.GetTrial(trial.Id));
                Notify(m => m.TrialCompleted(done));
                bool better;
                lock (_bestGate)
                {
                    better = !double.IsNaN(value) && (_best is null || config._direction.IsBetter(value, _best.Value));
                    if (better) _best = value;
                }
                if (better) Notify(m => m.BestChanged(done));
                return true;
            }
            catch (TrialNotRunningException e)
            {
                Notify(m => m.TrialFailed(storage.GetTrial(trial.Id), e)); // failed as stale while its results were being written
                return true;
            }
        }

        private void Notify(Action<IMonitor> call)
        {
            foreach (var m in config._monitors) call(m);
        }
    }
}

/// <summary>
/// Records the heartbeats of the running trials of one experiment from its own background thread, so a trial whose work keeps
/// every thread-pool thread busy, or waits a long time on the database, still beats. A heartbeat the storage refuses
/// (<see cref="TrialNotRunningException"/>: the trial was failed as stale) cancels the trial's token; other errors are retried
/// at the next beat.
/// </summary>
internal sealed class HeartbeatPump : IDisposable
{
    private readonly IStudyStorage _storage;
    private readonly TimeSpan _interval;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<long, CancellationTokenSource> _trials = new();
    private readonly ManualResetEventSlim _stop = new();
    private readonly Thread _thread;

    public HeartbeatPump(IStudyStorage storage, TimeSpan interval)
    {
        _storage = storage; _interval = interval;
        _thread = new Thread(Beat) { IsBackground = true, Name = "AutoML heartbeats" };
        _thread.Start();
    }

    public void Add(long trialId, CancellationTokenSource fenced) => _trials[trialId] = fenced;

    public void Remove(long trialId) => _trials.TryRemove(trialId, out _);

    private void Beat()
    {
        while (!_stop.Wait(_interval))
            foreach (var (id, fenced) in _trials)
            {
                if (_stop.IsSet) return;
                try { _storage.RecordHeartbeat(id); }
                catch (TrialNotRunningException)
                {
                    // Remove first: the trial may have just finished, and its token is being disposed.
                    if (_trials.TryRemove(id, out _)) try { fenced.Cancel(); } catch (ObjectDisposedException) { }
                }
                catch (Exception) { /* a transient failure: the next beat retries */ }
            }
    }

    /// <summary>Stops the thread without waiting for a heartbeat write that may be stuck on the database.</summary>
    public void Dispose() => _stop.Set();
}
