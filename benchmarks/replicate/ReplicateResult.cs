using MlNetMedical.Metrics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MlNetMedical.Benchmarks.Replicate;

/// <summary>What the papers report, beside which ours is shown (accuracy; null = not public).</summary>
public static partial class PaperFigures
{
    /// <summary>(task, method) → the paper's accuracy and where it comes from.</summary>
    public static IReadOnlyDictionary<(string Task, string Method), (double? Accuracy, string Source)> Accuracy { get; } =
        new Dictionary<(string, string), (double?, string)>
        {
            [(Tasks.Brain, Methods.SegFrozen)] = (0.82, "Wong 2018: segmentation-pretrained, 91 train / 191 test"),
            [(Tasks.Cardiac, Methods.SegFrozen)] = (0.86, "Wong 2018: segmentation-pretrained, 108 train / 263 test"),
            [(Tasks.Brain, Methods.Scratch)] = (null, "Wong 2018: below segmentation-pretrained; figure not public"),
            [(Tasks.Cardiac, Methods.Scratch)] = (null, "Wong 2018: below segmentation-pretrained; figure not public"),
            [(Tasks.Brain, Methods.ImagenetFeatures)] = (null, "Wong 2018: below segmentation-pretrained; figure not public"),
            [(Tasks.Cardiac, Methods.ImagenetFeatures)] = (null, "Wong 2018: below segmentation-pretrained; figure not public"),
            [(Tasks.Cardiac, Methods.ImagenetFineTune)] = (null, "Wong 2018: below segmentation-pretrained; figure not public"),
            [(Tasks.Liver, Methods.Scratch)] = (0.56, "Heker 2019 (EMBC): baseline"),
            [(Tasks.Liver, Methods.FineTuneNoFreezing)] = (0.64, "Heker 2019: fine-tune, no freezing"),
            [(Tasks.Liver, Methods.FineTuneHierarchicalFreezing)] = (0.68, "Heker 2019: hierarchical freezing of encoder"),
            [(Tasks.Liver, Methods.FineTuneFrozenEncoder)] = (0.63, "Heker 2019: freeze whole encoder"),
            [(Tasks.Liver, Methods.FineTuneHierarchicalUnfreezing)] = (0.73, "Heker 2019: hierarchical unfreezing of encoder"),
            [(Tasks.Liver, Methods.JointSimple)] = (null, "Heker 2020 (MIDL): about +10 points over the baseline"),
            [(Tasks.Liver, Methods.JointYNet)] = (null, "Heker 2020: about +3 points over the baseline"),
        };
}

/// <summary>What a table cell shows for a paper figure that is not a number (its source says it in words).</summary>
public static partial class PaperFigures
{
    public static string Short(string source) =>
        source.Length == 0 ? "—"
        : source.Contains("+10 points", StringComparison.Ordinal) ? "baseline + ~0.10"
        : source.Contains("+3 points", StringComparison.Ordinal) ? "baseline + ~0.03"
        : source.Contains("below segmentation-pretrained", StringComparison.Ordinal) ? "below seg.-pretrained"
        : "—";
}

/// <summary>The suite's result: replicate.json (whole), the table printed on stdout and the last-line JSON.</summary>
public sealed class ReplicateResult
{
    public required JsonObject Json { get; init; }
    public required List<ClaimResult> Claims { get; init; }
    public required double Minutes { get; init; }
    public required List<RunRow> Rows { get; init; }
    public required IReadOnlyList<TaskPlan> Tasks { get; init; }
    public required Provenance Facts { get; init; }
    public required SuiteOptions Options { get; init; }

    public static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>A finite number rounded to 6 decimals, or null (JSON has no NaN).</summary>
    public static JsonNode? N(double value) => double.IsFinite(value) ? JsonValue.Create(Math.Round(value, 6)) : null;
    public static JsonNode? N(double? value) => value is { } v ? N(v) : null;

    public static ReplicateResult Build(SuiteOptions options, IReadOnlyList<TaskPlan> tasks, EpochPlan epochs, List<RunRow> rows,
        List<(string Task, int Seed, double Dice, int Epochs)> pretrain, Dictionary<string, string> unavailable, Dictionary<string, string> configs,
        List<(string Task, int Seed, double Wall, double Cpu)> timings, Provenance facts, double minutes)
    {
        var accuracy = rows.GroupBy(r => (r.Task, r.Method))
            .ToDictionary(g => g.Key, g => (IReadOnlyDictionary<int, double>)g.ToDictionary(r => r.Seed, r => r.Accuracy));
        var claims = Replicate.Claims.Evaluate(Replicate.Claims.All, accuracy);

        // figures: everything that must be identical when the suite is rerun with the same seeds (no times, dates or load).
        var methods = new JsonObject();
        foreach (var task in tasks)
        {
            var perTask = new JsonObject();
            foreach (var group in rows.Where(r => r.Task == task.Task).GroupBy(r => r.Method))
            {
                var list = group.OrderBy(r => r.Seed).ToList();
                var (mean, sd) = PairedStatistics.MeanSd(list.Select(r => r.Accuracy).ToList());
                var dice = list.Where(r => r.Dice is not null).Select(r => r.Dice!.Value).ToList();
                var entry = new JsonObject
                {
                    ["accuracy_mean"] = N(mean), ["accuracy_sd"] = N(sd), ["n"] = list.Count,
                    ["balanced_accuracy_mean"] = N(list.Average(r => r.BalancedAccuracy)), ["macro_f1_mean"] = N(list.Average(r => r.MacroF1)),
                    ["dice_mean"] = dice.Count == 0 ? null : N(dice.Average()),
                    ["accuracy_by_seed"] = new JsonObject(list.Select(r => KeyValuePair.Create(r.Seed.ToString(CultureInfo.InvariantCulture), N(r.Accuracy)))),
                };
                if (PaperFigures.Accuracy.TryGetValue((task.Task, group.Key), out var paper))
                    entry["paper"] = new JsonObject { ["accuracy"] = N(paper.Accuracy), ["source"] = paper.Source };
                perTask[group.Key] = entry;
            }
            var dices = pretrain.Where(p => p.Task == task.Task).OrderBy(p => p.Seed).ToList();
            if (dices.Count > 0)
                perTask[Methods.Pretrain] = new JsonObject
                {
                    ["test_dice_mean"] = N(dices.Average(d => d.Dice)),
                    ["test_dice_by_seed"] = new JsonObject(dices.Select(d => KeyValuePair.Create(d.Seed.ToString(CultureInfo.InvariantCulture), N(d.Dice)))),
                };
            methods[task.Task] = perTask;
        }
        var claimsJson = new JsonObject();
        foreach (var c in claims) claimsJson[c.Name] = ClaimJson(c, full: true);
        var figures = new JsonObject
        {
            ["methods"] = methods,
            ["claims"] = claimsJson,
            ["rows"] = new JsonArray(rows.Select(r => (JsonNode)new JsonObject
            {
                ["task"] = r.Task, ["method"] = r.Method, ["seed"] = r.Seed, ["accuracy"] = N(r.Accuracy),
                ["balanced_accuracy"] = N(r.BalancedAccuracy), ["macro_f1"] = N(r.MacroF1), ["dice"] = N(r.Dice),
                ["epochs_run"] = r.EpochsRun, ["best_validation_epoch"] = r.BestValidationEpoch, ["reused_from_first_seed"] = r.ReusedFromFirstSeed,
            }).ToArray()),
        };

        var seconds = new JsonObject();
        foreach (var task in tasks)
            seconds[task.Task] = new JsonObject(rows.Where(r => r.Task == task.Task && !r.ReusedFromFirstSeed).GroupBy(r => r.Method)
                .Select(g => KeyValuePair.Create(g.Key, N(g.Average(r => r.Seconds)))));
        var json = new JsonObject
        {
            ["benchmark"] = "replicate",
            ["claims"] = new JsonObject(claims.Select(c => KeyValuePair.Create(c.Name, (JsonNode?)ClaimJson(c, full: false)))),
            ["minutes"] = N(Math.Round(minutes, 2)),
            ["profile"] = options.Profile.ToString().ToLowerInvariant(),
            ["seeds"] = new JsonArray(options.Seeds.Select(s => (JsonNode)s).ToArray()),
            ["data_seed"] = options.DataSeed,
            ["sizes"] = new JsonObject(tasks.Select(t => KeyValuePair.Create(t.Task, (JsonNode?)new JsonObject
            {
                ["train"] = t.Train, ["test"] = t.Test, ["pretrain"] = t.Pretrain, ["size"] = t.Size, ["spatial_dims"] = t.SpatialDims, ["channels"] = t.Channels,
                ["network"] = $"U-Net depth {t.Depth}, base {t.BaseChannels}, {t.Norm} norm", ["joint_methods"] = t.Joint,
            }))),
            ["epochs"] = new JsonObject
            {
                ["pretrain_max"] = epochs.Pretrain, ["pretrain_patience"] = epochs.PretrainPatience, ["classifier_max"] = epochs.Classifier,
                ["classifier_patience"] = epochs.ClassifierPatience, ["epochs_per_unfreeze"] = epochs.EpochsPerUnfreeze,
                ["selection"] = "every network stage holds out 20% of its training patients (grouped) and keeps the epoch with the best validation loss (pretraining: Dice); the test split is scored once",
            },
            ["methods"] = new JsonObject(Methods.All.Select(m => KeyValuePair.Create(m.Id, (JsonNode?)new JsonObject
            {
                ["what"] = m.Label, ["stage"] = m.StageKind, ["available"] = !unavailable.ContainsKey(m.Id),
                ["not_run_because"] = unavailable.GetValueOrDefault(m.Id), ["two_d_only"] = m.TwoDOnly, ["seed_independent"] = m.SeedIndependent,
            }))),
            ["statistics"] = "per method: mean and sample sd of test accuracy over training seeds; per claim: the paired difference per seed "
                + "(method − against on the same data and seed) and Student's t 95% interval of its mean (ci95), with the exact paired bootstrap percentile interval "
                + "beside it (ci95_bootstrap). 'beats' holds when ci95 lies above 0; 'at least as good' when its lower bound is above −margin; 'best' when "
                + "every comparison holds (intersection–union), reporting the weakest. Intervals are over training seeds on one generated data set (--data-seed): "
                + "the test set's sampling error is not in them.",
            ["figures"] = figures,
            ["seconds_per_method"] = seconds,
            // Wall and process CPU seconds of each task × seed pipeline (the first seed also trains the seed-independent methods).
            ["run_seconds"] = new JsonArray(timings.Select(t => (JsonNode)new JsonObject
            {
                ["task"] = t.Task, ["seed"] = t.Seed, ["wall"] = N(Math.Round(t.Wall, 1)), ["cpu"] = N(Math.Round(t.Cpu, 1)),
            }).ToArray()),
            ["provenance"] = JsonSerializer.SerializeToNode(facts, new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower }),
            ["pipelines"] = new JsonObject(configs.Select(c => KeyValuePair.Create(c.Key, (JsonNode?)c.Value))),
        };
        return new ReplicateResult { Json = json, Claims = claims, Minutes = minutes, Rows = rows, Tasks = tasks, Facts = facts, Options = options };
    }

    private static JsonObject ClaimJson(ClaimResult c, bool full)
    {
        var o = new JsonObject { ["holds"] = c.Holds, ["mean_diff"] = N(c.MeanDiff), ["ci95"] = new JsonArray(N(c.Ci95[0]), N(c.Ci95[1])) };
        if (!full) return o;
        var spec = Replicate.Claims.All.First(s => s.Name == c.Name);
        o["ci95_bootstrap"] = new JsonArray(N(c.Ci95Bootstrap[0]), N(c.Ci95Bootstrap[1]));
        o["seeds"] = c.Seeds;
        o["sd"] = N(c.Sd);
        o["paper"] = spec.Paper;
        o["statement"] = spec.Statement;
        o["rule"] = spec.Rule.ToString();
        if (spec.Rule == ClaimRule.AtLeast) o["margin"] = spec.Margin;
        o["reported"] = c.Reported;
        o["comparisons"] = new JsonArray(c.Pairs.Select(p => (JsonNode)$"{p.Task}: {p.Method} − {p.Against}").ToArray());
        o["missing"] = new JsonArray(c.Missing.Select(p => (JsonNode)$"{p.Task}: {p.Method} − {p.Against}").ToArray());
        if (c.Note is not null) o["note"] = c.Note;
        return o;
    }

    /// <summary>Writes replicate.json and replicate.html into <see cref="SuiteOptions.Out"/>, each whole.</summary>
    public (string Json, string Html) Write()
    {
        Directory.CreateDirectory(Options.Out);
        var json = Path.Combine(Options.Out, "replicate.json");
        var html = Path.Combine(Options.Out, "replicate.html");
        AtomicFile.WriteAllText(json, Json.ToJsonString(Indented) + "\n");
        AtomicFile.WriteAllText(html, ReplicateHtml.Render(this));
        return (json, html);
    }

    /// <summary>The human-readable table: per task and method mean ± sd, then the claims.</summary>
    public IEnumerable<string> Table()
    {
        foreach (var task in Tasks)
        {
            yield return $"{task.Task} ({task.Train} train / {task.Test} test, {task.Size} px, seeds {string.Join(",", Options.Seeds)}, data seed {Options.DataSeed})";
            foreach (var g in Rows.Where(r => r.Task == task.Task).GroupBy(r => r.Method))
            {
                var (mean, sd) = PairedStatistics.MeanSd(g.Select(r => r.Accuracy).ToList());
                var paper = PaperFigures.Accuracy.TryGetValue((task.Task, g.Key), out var p) && p.Accuracy is { } a ? a.ToString("F2", CultureInfo.InvariantCulture) : "—";
                yield return string.Create(CultureInfo.InvariantCulture, $"  {g.Key,-28} accuracy {mean:F3} ± {sd:F3}   paper {paper}");
            }
        }
        yield return "claims (paired difference over seeds, 95% t interval):";
        foreach (var c in Claims)
            yield return string.Create(CultureInfo.InvariantCulture,
                $"  {c.Name,-30} {(c.Holds ? "holds" : "does not hold"),-14} diff {c.MeanDiff:+0.000;-0.000} [{c.Ci95[0]:+0.000;-0.000}, {c.Ci95[1]:+0.000;-0.000}] ({c.Reported}){(c.Note is null ? "" : "; " + c.Note)}");
        yield return string.Create(CultureInfo.InvariantCulture, $"{Minutes:F1} minutes; results in {Options.Out}");
    }

    /// <summary>The last line: {"claims": {NAME: {"holds", "mean_diff", "ci95"}}, "minutes", ...}.</summary>
    public string LastLine() => new JsonObject
    {
        ["claims"] = Json["claims"]!.DeepClone(),
        ["minutes"] = N(Math.Round(Minutes, 2)),
        ["profile"] = Json["profile"]!.DeepClone(),
        ["seeds"] = Json["seeds"]!.DeepClone(),
        ["data_seed"] = Options.DataSeed,
        ["results"] = Path.Combine(Options.Out, "replicate.json"),
    }.ToJsonString();
}
