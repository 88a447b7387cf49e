using MlNetMedical.Cli.Reporting;

namespace MlNetMedical.Cli.Tests;

/// <summary>
/// Realistic, seeded <see cref="RunReport"/>s for the report tests and for people who want to look at a report:
/// 4 methods, 9 classes, segmentation with 3 structures, 6 sample images with masks, and a 40-trial sweep.
/// </summary>
public static class ReportSamples
{
    public static readonly string[] Classes = ["NOR", "DCM", "HCM", "MINF", "ARV", "LVNC", "ASD", "TOF", "Other & <rare>"];
    public static readonly string[] Structures = ["LV cavity", "myocardium", "RV cavity"];

    public static RunReport Full(int seed = 7)
    {
        var rng = new Random(seed);
        var report = new RunReport
        {
            Title = "Cardiac level (2D): transfer vs scratch",
            CreatedUtc = new DateTimeOffset(2026, 11, 22, 1, 0, 0, TimeSpan.Zero),
            Task = "cardiac-level-2d",
            ResolvedConfig = "task: cardiac-level-2d\ndata:\n  manifest: data/cardiac/manifest.csv\n  size: [96, 96]\nstages:\n  - pretrain: { epochs: 30, lr: 1e-3 }\n  - featurize: { head: logistic }\n  - fine-tune: { epochs: 30, lr: 3e-4, freeze: encoder.0 }\n  - scratch: { epochs: 30, lr: 1e-3 }\n",
            Environment = new()
            {
                ["library"] = "MlNetMedical 0.1.0", [".NET"] = "10.0.0", ["libtorch"] = "1.13.1 (CPU)",
                ["threads"] = "2", ["torchsharp"] = "0.107.0", ["seed"] = seed.ToString(), ["machine"] = "ci-runner <x86_64>",
            },
        };
        report.Methods.Add(new MethodResult
        {
            Name = "segmentation-pretrain", Kind = "segmentation-pretrain", ModelPath = "models/pretrain.zip", TrainingSeconds = 412.5,
            Segmentation = Segmentation(rng, 0.86),
            History = History(rng, 30, 0.9, 0.25, "dice", 0.35, 0.86),
        });
        (string Name, string Kind, double Skill, double Seconds)[] classifiers =
            [("frozen-features", "frozen-features", 0.78, 38.2), ("fine-tune", "fine-tune", 0.86, 201.0), ("scratch", "scratch", 0.55, 188.4)];
        foreach (var (name, kind, skill, seconds) in classifiers)
            report.Methods.Add(new MethodResult
            {
                Name = name, Kind = kind, ModelPath = $"models/{name}.zip", TrainingSeconds = seconds,
                Classification = Classification(rng, skill),
                History = History(rng, 30, 2.2, 2.2 * (1 - skill) + 0.15, "accuracy", 1.0 / Classes.Length, skill),
            });
        for (int i = 0; i < 6; i++) report.Samples.Add(Sample(rng, i));
        report.Sweep = Sweep(rng);
        return report;
    }

    /// <summary>Confusion matrix drawn from a per-class hit rate, and metrics computed from it like a real run.</summary>
    private static ClassificationResult Classification(Random rng, double skill)
    {
        int k = Classes.Length;
        var cm = new List<List<long>>();
        for (int i = 0; i < k; i++)
        {
            int support = 12 + rng.Next(30);
            var row = new long[k];
            for (int s = 0; s < support; s++)
                row[rng.NextDouble() < skill ? i : (i + 1 + rng.Next(k - 1)) % k]++;
            cm.Add([.. row]);
        }
        var result = new ClassificationResult { ClassNames = [.. Classes], ConfusionMatrix = cm };
        long total = cm.Sum(r => r.Sum()), correct = Enumerable.Range(0, k).Sum(i => cm[i][i]);
        for (int i = 0; i < k; i++)
        {
            long predicted = cm.Sum(r => r[i]);
            result.PerClassPrecision.Add(predicted == 0 ? double.NaN : (double)cm[i][i] / predicted);
            result.PerClassRecall.Add((double)cm[i][i] / cm[i].Sum());
            double auc = Math.Clamp(0.5 + 0.5 * skill + 0.08 * (rng.NextDouble() - 0.5), 0.5, 0.995);
            result.RocCurves.Add(Roc(Classes[i], auc));
        }
        result.Accuracy = (double)correct / total;
        result.BalancedAccuracy = result.PerClassRecall.Average();
        result.MacroF1 = Enumerable.Range(0, k).Select(i =>
        {
            double p = result.PerClassPrecision[i], r = result.PerClassRecall[i];
            return p + r > 0 ? 2 * p * r / (p + r) : 0;
        }).Average();
        result.LogLoss = -Math.Log(Math.Max(0.05, skill * 0.9));
        result.MacroRocAuc = result.RocCurves.Average(c => c.Auc);
        return result;
    }

    /// <summary>A binormal ROC curve with the given AUC: TPR = Φ(a + Φ⁻¹(FPR)), AUC = Φ(a/√2).</summary>
    private static RocCurveData Roc(string name, double auc)
    {
        double a = Math.Sqrt(2) * Probit(auc);
        var roc = new RocCurveData { ClassName = name, Auc = auc };
        roc.FalsePositiveRate.Add(0); roc.TruePositiveRate.Add(0);
        for (int i = 1; i < 40; i++)
        {
            double fpr = Math.Pow(i / 40.0, 2);
            roc.FalsePositiveRate.Add(fpr);
            roc.TruePositiveRate.Add(Phi(a + Probit(fpr)));
        }
        roc.FalsePositiveRate.Add(1); roc.TruePositiveRate.Add(1);
        return roc;
    }

    private static double Phi(double x) => 0.5 * (1 + Erf(x / Math.Sqrt(2)));

    private static double Erf(double x) // Abramowitz–Stegun 7.1.26, |error| < 1.5e-7
    {
        double t = 1 / (1 + 0.3275911 * Math.Abs(x));
        double y = 1 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.Exp(-x * x);
        return x >= 0 ? y : -y;
    }

    private static double Probit(double p) // bisection on Phi: plenty for test data
    {
        double lo = -8, hi = 8;
        for (int i = 0; i < 60; i++) { double mid = (lo + hi) / 2; if (Phi(mid) < p) lo = mid; else hi = mid; }
        return (lo + hi) / 2;
    }

    private static List<EpochRecord> History(Random rng, int epochs, double loss0, double loss1, string metric, double metric0, double metric1)
    {
        var history = new List<EpochRecord>();
        for (int e = 1; e <= epochs; e++)
        {
            double progress = 1 - Math.Exp(-e / 7.0);
            double train = loss0 + (loss1 * 0.8 - loss0) * progress + 0.03 * (rng.NextDouble() - 0.5);
            double val = loss0 + (loss1 - loss0) * progress + 0.06 * (rng.NextDouble() - 0.5) + (e > 22 ? 0.01 * (e - 22) : 0);
            history.Add(new EpochRecord
            {
                Epoch = e, TrainLoss = train, LearningRate = 1e-3 * 0.5 * (1 + Math.Cos(Math.PI * e / epochs)),
                Validation = new() { ["loss"] = val, [metric] = Math.Clamp(metric0 + (metric1 - metric0) * progress + 0.03 * (rng.NextDouble() - 0.5), 0, 1) },
            });
        }
        return history;
    }

    private static SegmentationResult Segmentation(Random rng, double meanDice)
    {
        var s = new SegmentationResult { ClassNames = [.. Structures] };
        foreach (var _ in Structures)
        {
            double dice = Math.Clamp(meanDice + 0.1 * (rng.NextDouble() - 0.5), 0, 1);
            s.Dice.Add(dice);
            s.IoU.Add(dice / (2 - dice));
            s.Hausdorff95.Add(2 + 8 * rng.NextDouble());
            s.MeanSurfaceDistance.Add(0.5 + 2 * rng.NextDouble());
        }
        s.Hausdorff95[2] = double.NaN; // an absent structure in some case
        s.MeanDice = s.Dice.Average();
        return s;
    }

    /// <summary>A short-axis-like slice: bright LV cavity, darker myocardial ring, RV crescent, noise; masks to match.</summary>
    private static SampleImage Sample(Random rng, int index)
    {
        const int w = 96, h = 96;
        double cx = 44 + rng.Next(-6, 7), cy = 48 + rng.Next(-6, 7), r = 13 + rng.Next(0, 5);
        var pixels = new float[w * h];
        var truth = new byte[w * h];
        var predicted = new byte[w * h];
        double dx = rng.Next(-2, 3), dy = rng.Next(-2, 3), grow = rng.NextDouble() * 2 - 0.5;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                byte Label(double ox, double oy, double extra)
                {
                    double d = Math.Sqrt((x - cx - ox) * (x - cx - ox) + (y - cy - oy) * (y - cy - oy));
                    double dRv = Math.Sqrt((x - cx - r * 1.9 - ox) * (x - cx - r * 1.9 - ox) / 1.6 + (y - cy - oy) * (y - cy - oy) / 3.2);
                    return d < r + extra ? (byte)1 : d < r + 6 + extra ? (byte)2 : dRv < r * 0.75 + extra && d > r + 6 ? (byte)3 : (byte)0;
                }
                int i = y * w + x;
                truth[i] = Label(0, 0, 0);
                predicted[i] = Label(dx, dy, grow);
                float baseValue = truth[i] switch { 1 => 620, 2 => 180, 3 => 560, _ => 90 + 60 * (float)Math.Sin(x / 9.0) * (float)Math.Cos(y / 11.0) };
                pixels[i] = baseValue + (float)(rng.NextDouble() * 80);
            }
        int trueClass = rng.Next(Classes.Length);
        int predictedClass = index % 3 == 2 ? (trueClass + 1) % Classes.Length : trueClass;
        return new SampleImage
        {
            Id = $"patient{index + 101:D3}_ED_slice{5 + index}", Method = "fine-tune", Width = w, Height = h, Pixels = pixels,
            TrueMask = truth, PredictedMask = predicted, TrueLabel = Classes[trueClass], PredictedLabel = Classes[predictedClass],
        };
    }

    /// <summary>40 trials: lr dominates (log-quadratic around 3e-4), dropout matters a little, batch and freeze not at all.</summary>
    private static SweepSummary Sweep(Random rng)
    {
        var sweep = new SweepSummary { StudyName = "cardiac-transfer", Metric = "balanced_accuracy", Direction = "maximize" };
        string[] heads = ["linear", "mlp"];
        for (int n = 0; n < 40; n++)
        {
            double lr = Math.Pow(10, -5 + 3 * rng.NextDouble()), dropout = 0.5 * rng.NextDouble();
            var head = heads[rng.Next(2)];
            var parameters = new Dictionary<string, object>
            {
                ["lr"] = lr, ["batch"] = (double)(8 << rng.Next(3)), ["dropout"] = dropout, ["head"] = head, ["freeze_encoder"] = rng.Next(2) == 1,
            };
            if (head == "mlp") parameters["head.mlp.hidden"] = (double)(32 << rng.Next(4));
            double final = 0.82 - 0.09 * Math.Pow(Math.Log10(lr / 3e-4), 2) - 0.5 * Math.Abs(dropout - 0.2) + 0.02 * (rng.NextDouble() - 0.5);
            var curve = Enumerable.Range(1, 12).Select(e => final * (1 - Math.Exp(-e / 3.0)) + 0.01 * (rng.NextDouble() - 0.5)).ToList();
            var trial = new TrialSummary { Number = n, Parameters = parameters, Seconds = 30 + 60 * rng.NextDouble() };
            if (n is 13 or 29) { trial.State = "failed"; trial.Error = "CUDA-free OOM: tensor of 3.1 GiB <batch=64>"; trial.IntermediateValues = curve.Take(2).ToList(); }
            else if (n > 8 && final < 0.62) { trial.State = "pruned"; trial.IntermediateValues = curve.Take(4).ToList(); trial.Value = curve[3]; }
            else { trial.State = "complete"; trial.IntermediateValues = curve; trial.Value = curve[^1]; }
            sweep.Trials.Add(trial);
        }
        return sweep;
    }
}
