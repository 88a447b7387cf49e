using System.Text.Json.Serialization;

namespace MlNetMedical.Cli.Reporting;

// The data a run or sweep hands to the report writer, and what metrics.json serializes (System.Text.Json,
// camelCase). Plain data only, so `run`, `quickstart` and `sweep` fill it without knowing how it is drawn.

/// <summary>Everything <c>report.html</c> and <c>metrics.json</c> show about one run or sweep.</summary>
public sealed class RunReport
{
    public string Title { get; set; } = "";
    public DateTimeOffset CreatedUtc { get; set; }
    /// <summary>Dataset or task name (e.g. "cardiac-level-2d"), null when unknown.</summary>
    public string? Task { get; set; }
    /// <summary>The resolved pipeline or sweep YAML, shown verbatim.</summary>
    public string? ResolvedConfig { get; set; }
    /// <summary>Library version, threads, device, seed (and the host name when asked for): shown as a key/value table.</summary>
    public Dictionary<string, string> Environment { get; set; } = [];
    /// <summary>One entry per trained method (segmentation pretraining included), in run order.</summary>
    public List<MethodResult> Methods { get; set; } = [];
    /// <summary>A few test cases with image, true and predicted masks (may be empty). Patient data: drawn in report.html only,
    /// never serialised into metrics.json.</summary>
    [JsonIgnore]
    public List<SampleImage> Samples { get; set; } = [];
    /// <summary>Set for sweeps only.</summary>
    public SweepSummary? Sweep { get; set; }
}

/// <summary>One method of a run: its test metrics, learning curve and saved model.</summary>
public sealed class MethodResult
{
    /// <summary>Display name, unique in the run (e.g. "frozen-features").</summary>
    public string Name { get; set; } = "";
    /// <summary>"segmentation-pretrain", "frozen-features", "imagenet-features", "fine-tune", "imagenet-fine-tune", "scratch" or "joint".</summary>
    public string Kind { get; set; } = "";
    public ClassificationResult? Classification { get; set; }
    public SegmentationResult? Segmentation { get; set; }
    /// <summary>Per-epoch losses and validation metrics, in epoch order.</summary>
    public List<EpochRecord> History { get; set; } = [];
    /// <summary>Model path relative to the output folder, null when not saved.</summary>
    public string? ModelPath { get; set; }
    public double TrainingSeconds { get; set; }
    /// <summary>Test accuracy paired with the run's scratch method over the same test cases; null for scratch itself, for
    /// methods that predict no class, and when the run has no scratch method.</summary>
    public PairedDifference? VersusScratch { get; set; }
}

/// <summary>Accuracy of a method minus a baseline's on the same test cases: the mean of the per-case differences in correctness
/// (−1, 0 or 1) with Student's t 95% interval over the cases. One training seed: test-set sampling error only, not seed variation.</summary>
public sealed class PairedDifference
{
    public string Baseline { get; set; } = "";
    public double MeanDifference { get; set; }
    public double Ci95Lower { get; set; }
    public double Ci95Upper { get; set; }
    public int Cases { get; set; }

    /// <summary>"+0.123 [+0.050, +0.196]": the difference and its interval, signed, three decimals.</summary>
    public string Format() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"{MeanDifference:+0.000;-0.000;0.000} [{Ci95Lower:+0.000;-0.000;0.000}, {Ci95Upper:+0.000;-0.000;0.000}]");
}

public sealed class EpochRecord
{
    public int Epoch { get; set; }
    public double TrainLoss { get; set; }
    public double LearningRate { get; set; }
    /// <summary>Validation metrics by name ("loss", "accuracy", "dice", ...).</summary>
    public Dictionary<string, double> Validation { get; set; } = [];
}

public sealed class ClassificationResult
{
    public List<string> ClassNames { get; set; } = [];
    public double Accuracy { get; set; }
    public double BalancedAccuracy { get; set; }
    public double MacroF1 { get; set; }
    public double LogLoss { get; set; }
    public double MacroRocAuc { get; set; }
    public List<double> PerClassPrecision { get; set; } = [];
    public List<double> PerClassRecall { get; set; } = [];
    /// <summary>Counts, rows = true class, columns = predicted class.</summary>
    public List<List<long>> ConfusionMatrix { get; set; } = [];
    /// <summary>One-vs-rest ROC curve per class.</summary>
    public List<RocCurveData> RocCurves { get; set; } = [];
    /// <summary>Whether each test case, in row order, was predicted right: what paired comparisons between methods read.
    /// Not serialised (metrics.json holds figures only).</summary>
    [JsonIgnore]
    public List<bool> CorrectPerCase { get; set; } = [];
}

public sealed class RocCurveData
{
    public string ClassName { get; set; } = "";
    public double Auc { get; set; }
    public List<double> FalsePositiveRate { get; set; } = [];
    public List<double> TruePositiveRate { get; set; } = [];
}

public sealed class SegmentationResult
{
    /// <summary>Foreground classes, in the order of the lists below.</summary>
    public List<string> ClassNames { get; set; } = [];
    public List<double> Dice { get; set; } = [];
    public List<double> IoU { get; set; } = [];
    /// <summary>95th-percentile Hausdorff distance in mm (NaN when a class is absent).</summary>
    public List<double> Hausdorff95 { get; set; } = [];
    /// <summary>Mean surface distance in mm.</summary>
    public List<double> MeanSurfaceDistance { get; set; } = [];
    public double MeanDice { get; set; }
}

/// <summary>One 2D image (a 3D case is shown by its middle axial slice) with labels for overlay.</summary>
public sealed class SampleImage
{
    public string Id { get; set; } = "";
    public string? TrueLabel { get; set; }
    public string? PredictedLabel { get; set; }
    /// <summary>Which method predicted (for the caption).</summary>
    public string? Method { get; set; }
    public int Width { get; set; }
    public int Height { get; set; }
    /// <summary>Row-major intensities, Width*Height; the writer windows them (1st–99th percentile).</summary>
    public float[] Pixels { get; set; } = [];
    /// <summary>Row-major label maps (0 = background), null when there is none.</summary>
    public byte[]? TrueMask { get; set; }
    public byte[]? PredictedMask { get; set; }
}

public sealed class SweepSummary
{
    public string StudyName { get; set; } = "";
    public string Metric { get; set; } = "";
    /// <summary>"maximize" or "minimize".</summary>
    public string Direction { get; set; } = "maximize";
    public List<TrialSummary> Trials { get; set; } = [];
    /// <summary>Null = the writer computes it from the completed trials.</summary>
    public Dictionary<string, double>? ParameterImportance { get; set; }
}

public sealed class TrialSummary
{
    public int Number { get; set; }
    /// <summary>"complete", "pruned", "failed" or "running".</summary>
    public string State { get; set; } = "";
    public double? Value { get; set; }
    /// <summary>Parameter values: numbers as double, choices as string.</summary>
    public Dictionary<string, object> Parameters { get; set; } = [];
    /// <summary>Per-epoch reported values (step i = epoch i+1).</summary>
    public List<double> IntermediateValues { get; set; } = [];
    public double Seconds { get; set; }
    public string? Error { get; set; }
}
