using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using MlNetMedical.Catalogs;
using MlNetMedical.Cli.Inputs;
using MlNetMedical.Cli.Pipelines;
using MlNetMedical.Cli.Reporting;
using MlNetMedical.Data;
using MlNetMedical.Imaging;
using MlNetMedical.Imaging.Datasets;
using MlNetMedical.Metrics;
using MlNetMedical.Pipeline;
using Spectre.Console;

namespace MlNetMedical.Cli.Commands;

/// <summary>`mlnm evaluate --model M.zip --data manifest.csv [--split test] [--data-root DIR] [--threads N] [--json] [--json-out FILE]`:
/// scores a saved model on a dataset.</summary>
public sealed class EvaluateCommand : ICliCommand
{
    public Command Build(CliContext context)
    {
        var model = new Option<string>("--model") { HelpName = "M.zip", Description = "The model file (.zip from ml.Model.SaveMedical or mlnm run).", Required = true };
        var data = new Option<string>("--data") { HelpName = "manifest.csv", Description = "CSV manifest (id,image[,mask][,label][,group][,split]); paths relative to it.", Required = true };
        var split = new Option<string?>("--split") { HelpName = "NAME", Description = "Rows of this split only (default: 'test' when the manifest has test rows, else every row)." };
        var preprocessing = new Option<string?>("--preprocessing") { HelpName = "chain.json", Description = "Transform chain JSON applied to images and masks before the model, instead of the chain recorded in the model file (default: the recorded one)." };
        var dataRoot = new Option<string?>("--data-root")
        {
            HelpName = "DIR",
            Description = "The folder every path in the manifest must stay in, after resolving symbolic links (default: the manifest's folder); "
                          + "name a wider folder to trust paths that leave it ('..', absolute paths, links).",
        };
        var threads = CommonOptions.Threads("Torch threads for inference");
        var json = new Option<bool>("--json") { Description = "Print the metrics as one JSON object on stdout instead of tables." };
        var output = new Option<string?>("--json-out") { HelpName = "FILE", Description = "Also write the metrics JSON to this file (written whole, via a temporary file)." };
        var renamedOut = CommonOptions.Renamed("--out", "--json-out", "it names a file here, and --out names a folder in every other command");
        var command = new Command("evaluate",
            "Score a saved model on a dataset: accuracy, balanced accuracy, macro-F1, log-loss, AUC, per-class precision/recall and the "
            + "confusion matrix; Dice, IoU, HD95 and mean surface distance per class for models that predict masks.")
        {
            model, data, split, dataRoot, preprocessing, threads, json, output, renamedOut,
        }.WithExamples(
            "mlnm evaluate --model out/fine-tune.zip --data data/manifest.csv",
            "mlnm evaluate --model out/joint.zip --data data/manifest.csv --split val --json",
            "mlnm evaluate --model model.zip --data manifest.csv --preprocessing chain.json --json-out metrics.json",
            "mlnm evaluate --model model.zip --data shared/site-a/manifest.csv --data-root shared/");
        command.SetAction(parse =>
        {
            var result = Evaluate(parse.GetValue(model)!, parse.GetValue(data)!, parse.GetValue(split), parse.GetValue(preprocessing),
                parse.GetValue(dataRoot), parse.GetValue(threads));
            var text = JsonSerializer.Serialize(result, JsonOptions);
            if (parse.GetValue(output) is { } path)
            {
                try { AtomicFile.WriteAllText(path, text + Environment.NewLine); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new CliUserException($"cannot write '{path}': {e.Message}"); }
            }
            if (parse.GetValue(json)) context.Output.WriteLine(text);
            else WriteTables(result, context.Output);
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>camelCase; NaN and ±∞ (an undefined or infinite metric) as the JSON strings "NaN", "Infinity".</summary>
    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Scores <paramref name="modelPath"/> on the manifest's rows (of <paramref name="split"/>); bad input is a <see cref="CliUserException"/>.
    /// Every path the manifest lists must resolve inside <paramref name="dataRoot"/> (default: the manifest's folder).</summary>
    public static EvaluationResult Evaluate(string modelPath, string manifestPath, string? split, string? preprocessingPath, string? dataRoot = null, int? threads = null)
    {
        var ml = PredictCommand.InferenceContext(threads);
        var model = SavedModel.Open(ml, modelPath, preprocessingPath);
        List<DatasetItem> items;
        var root = dataRoot ?? Path.GetDirectoryName(Path.GetFullPath(manifestPath))!;
        if (dataRoot is not null && !Directory.Exists(dataRoot)) throw new CliUserException($"--data-root '{dataRoot}' is not a folder");
        // A manifest may come from elsewhere: it must not make mlnm read files outside its dataset (the model's outputs and
        // metrics would then leak them).
        try { items = CsvManifest.Read(manifestPath, DatasetPaths.Inside(root)); }
        catch (DatasetPathException e) { throw new CliUserException($"{e.Message}; pass --data-root DIR to trust a wider folder"); }
        catch (Exception e) when (e is ImageFormatException or FileNotFoundException or DirectoryNotFoundException) { throw new CliUserException(e.Message); }

        var notes = new List<string>();
        split = ChooseSplit(items, manifestPath, split, notes);
        var selected = split is null ? items : items.Where(i => i.Split == split).ToList();
        var where = split is null ? $"manifest '{manifestPath}'" : $"split '{split}' of manifest '{manifestPath}'";
        var view = ml.Data.LoadFromManifest(manifestPath, model.Preprocessing);
        if (split is not null) view = ml.Data.FilterBySplit(view, split);
        var outputs = model.Outputs(view.Schema, $"manifest '{manifestPath}'");

        var labelled = selected.Count(i => i.ClassLabel is not null);
        var masked = selected.Count(i => i.Mask is not null);
        var missing = new List<string>();
        var scoreClasses = outputs.Classifies && HasTruth(labelled, "label", "the true class", outputs.ClassifierStage!, "classes", where, missing);
        var scoreMasks = outputs.Segments && HasTruth(masked, "mask", "the true mask", outputs.SegmenterStage!, "masks", where, missing);
        if (!scoreClasses && !scoreMasks) throw new CliUserException(string.Join("; and ", missing));
        notes.AddRange(missing.Select(m => m + "; those metrics are skipped"));
        if (scoreClasses)
        {
            var unknown = selected.FirstOrDefault(i => i.ClassLabel is not null && !outputs.ClassNames!.Contains(i.ClassLabel));
            if (unknown is not null)
                throw new CliUserException($"{where}: case '{unknown.Id}' has label '{unknown.ClassLabel}', which is not a class of model '{modelPath}' "
                                           + $"(its classes: {string.Join(", ", outputs.ClassNames!)})");
            if (labelled < selected.Count) notes.Add($"{selected.Count - labelled} of {selected.Count} cases have no label and are left out of the classification metrics");
        }
        if (scoreMasks && masked < selected.Count) notes.Add($"{selected.Count - masked} of {selected.Count} cases have no mask and are left out of the segmentation metrics");

        var pass = new ScoringPass(view, model, outputs, scoreClasses, scoreMasks);
        var segmentation = model.Apply<SegmentationMetrics?>(() =>
        {
            if (scoreMasks) return ml.Segmentation.Evaluate(ml.Data.LoadFromEnumerable(pass.Run()));
            foreach (var _ in pass.Run()) { }
            return null;
        }, () => $"the images of {where}");
        var classification = scoreClasses ? ReportMetrics.Classification(ml, pass.ScoredView(ml, outputs.ClassNames!)) : null;

        return new EvaluationResult
        {
            Model = modelPath, Preprocessing = model.PreprocessingSource, Data = manifestPath, Split = split, Cases = selected.Count,
            ClassifierStage = scoreClasses ? outputs.ClassifierStage : null,
            SegmenterStage = scoreMasks ? outputs.SegmenterStage : null,
            Classification = classification,
            PerClassF1 = classification is null ? null : ReportMetrics.PerClassF1(classification.ConfusionMatrix),
            Segmentation = segmentation is null ? null : ReportMetrics.Segmentation(segmentation),
            Notes = notes,
        };
    }

    /// <summary>The split to score: the one asked for (it must exist), else 'test' when there are test rows, else all rows (null).</summary>
    private static string? ChooseSplit(List<DatasetItem> items, string manifestPath, string? split, List<string> notes)
    {
        var counts = items.GroupBy(i => i.Split).ToDictionary(g => g.Key ?? "", g => g.Count());
        string Available() => items.All(i => i.Split is null)
            ? "the manifest has no 'split' column"
            : "available splits: " + string.Join(", ", counts.Where(c => c.Key.Length > 0).Select(c => $"{c.Key} ({c.Value} cases)"));
        if (split is not null)
        {
            if (split.Length == 0 || !counts.ContainsKey(split)) throw new CliUserException($"manifest '{manifestPath}' has no cases in split '{split}'; {Available()}");
            return split;
        }
        if (counts.ContainsKey("test")) { notes.Add("no --split given: scoring the 'test' split"); return "test"; }
        notes.Add($"no --split given and no 'test' split: scoring all {items.Count} cases");
        return null;
    }

    /// <summary>Whether the rows carry the truth one output is scored against; if not, says so in <paramref name="missing"/>.</summary>
    private static bool HasTruth(int withTruth, string column, string truth, string stage, string what, string where, List<string> missing)
    {
        if (withTruth > 0) return true;
        missing.Add($"{where} has no '{column}' values; model stage {stage} predicts {what}, and scoring them needs {truth} in manifest column '{column}'");
        return false;
    }

    /// <summary>One pass over the scored rows: collects labels and probabilities, and yields (true, predicted) mask pairs.</summary>
    private sealed class ScoringPass(IDataView view, SavedModel model, ModelOutputs outputs, bool scoreClasses, bool scoreMasks)
    {
        public List<int> Labels { get; } = [];
        public List<float[]> Probabilities { get; } = [];

        /// <summary>The collected rows as ML.NET scored data: <c>Label</c> and <c>PredictedLabel</c> keys of the model's classes
        /// (the manifest's label key may list other classes, or the same in another order), <c>Score</c> the probabilities.</summary>
        public IDataView ScoredView(MLContext ml, IReadOnlyList<string> classNames)
        {
            var key = SchemaShapes.ClassKey(classNames).Type;
            var definition = SchemaDefinition.Create(typeof(ScoredRow));
            foreach (var column in new[] { DefaultColumnNames.Label, DefaultColumnNames.PredictedLabel })
            {
                definition[column].ColumnType = key;
                definition[column].AddAnnotation(SchemaShapes.AnnotationKinds.KeyValues, KeyValues(classNames), new VectorDataViewType(TextDataViewType.Instance, classNames.Count));
            }
            definition[DefaultColumnNames.Score].ColumnType = new VectorDataViewType(NumberDataViewType.Single, classNames.Count);
            // ML.NET reads a key property of a row class as the 0-based class index (it stores index + 1; 0 is missing).
            var rows = Labels.Select((label, i) => new ScoredRow
            {
                Label = (uint)label, Score = Probabilities[i], PredictedLabel = (uint)ArgMax(Probabilities[i]),
            }).ToList();
            return ml.Data.LoadFromEnumerable(rows, definition);
        }

        private static VBuffer<ReadOnlyMemory<char>> KeyValues(IReadOnlyList<string> names) =>
            new(names.Count, names.Select(n => n.AsMemory()).ToArray());

        private static int ArgMax(float[] p)
        {
            var best = 0;
            for (var c = 1; c < p.Length; c++) if (p[c] > p[best]) best = c;
            return best;
        }

        public IEnumerable<MaskPair> Run()
        {
            var scored = model.Model.Transform(view);
            var labelNames = view.Schema[DefaultColumnNames.Label].ClassNames();
            var classIndex = outputs.ClassNames?.Select((name, index) => (name, index)).ToDictionary(p => p.name, p => p.index);
            string[] columns = ["Id", .. scoreClasses ? new[] { DefaultColumnNames.Label, DefaultColumnNames.Score } : [],
                .. scoreMasks ? new[] { DefaultColumnNames.Mask, DefaultColumnNames.PredictedMask } : []];
            using var cursor = scored.GetRowCursor(columns.Select(c => scored.Schema[c]));
            var idOf = cursor.TextGetter("Id");
            var labelOf = scoreClasses ? cursor.Getter<uint>(DefaultColumnNames.Label) : () => 0u;
            var scoreOf = scoreClasses ? cursor.VectorGetter(DefaultColumnNames.Score) : null;
            var maskOf = scoreMasks ? cursor.Getter<Volume?>(DefaultColumnNames.Mask) : null;
            var predictedMaskOf = scoreMasks ? cursor.Getter<LabelMap>(DefaultColumnNames.PredictedMask) : null;
            while (cursor.MoveNext())
            {
                var id = idOf();
                var key = labelOf();
                if (key > 0)
                {
                    Labels.Add(classIndex![labelNames[(int)key - 1]]);
                    Probabilities.Add(scoreOf!());
                }
                if (maskOf?.Invoke() is { } truthVolume)
                {
                    LabelMap truth;
                    try { truth = MaskConverters.FromVolume(truthVolume); }
                    catch (ArgumentException e) { throw new CliUserException($"case '{id}': {e.Message}"); }
                    var predicted = predictedMaskOf!();
                    if (!predicted.Shape.SequenceEqual(truth.Shape))
                        throw new CliUserException($"case '{id}': model stage {outputs.SegmenterStage} predicts a mask of shape [{string.Join(", ", predicted.Shape)}] "
                                                   + $"but the true mask has shape [{string.Join(", ", truth.Shape)}]");
                    yield return new MaskPair { Mask = truth, PredictedMask = predicted };
                }
            }
        }
    }

    /// <summary>A scored row in the model's class order, for ML.NET's evaluator (keys as 0-based class indices).</summary>
    private sealed class ScoredRow
    {
        public uint Label { get; set; }
        public float[] Score { get; set; } = [];
        public uint PredictedLabel { get; set; }
    }

    /// <summary>A row for the library's segmentation evaluator.</summary>
    private sealed class MaskPair
    {
        [VolumeColumn(VolumeKind.Mask)] public LabelMap Mask { get; init; } = null!;
        [VolumeColumn(VolumeKind.Mask)] public LabelMap PredictedMask { get; init; } = null!;
    }

    private static void WriteTables(EvaluationResult r, TextWriter output)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Interactive = InteractionSupport.No,
        });
        console.Profile.Width = 120;
        static string F(double v) => double.IsNaN(v) ? "n/a" : double.IsPositiveInfinity(v) ? "inf" : v.ToString("0.000", CultureInfo.InvariantCulture);
        output.WriteLine($"model  {r.Model}{(r.Preprocessing is null ? "" : $", preprocessing {SavedModel.DescribePreprocessing(r.Preprocessing)}")}");
        output.WriteLine($"data   {r.Data}{(r.Split is null ? "" : $", split '{r.Split}'")}: {r.Cases} cases");
        if (r.Classification is { } c)
        {
            output.WriteLine();
            output.WriteLine($"Classification ({r.ClassifierStage}), {c.ConfusionMatrix.Sum(row => row.Sum())} labelled cases");
            var summary = new Table().AddColumn("metric").AddColumn(new TableColumn("value").RightAligned());
            summary.AddRow("accuracy", F(c.Accuracy)).AddRow("balanced accuracy", F(c.BalancedAccuracy)).AddRow("macro-F1", F(c.MacroF1))
                .AddRow("log-loss", F(c.LogLoss)).AddRow("macro AUC (one-vs-rest)", F(c.MacroRocAuc));
            console.Write(summary);
            var perClass = new Table().AddColumn("class");
            foreach (var h in new[] { "precision", "recall", "F1", "AUC", "cases" }) perClass.AddColumn(new TableColumn(h).RightAligned());
            for (var k = 0; k < c.ClassNames.Count; k++)
                perClass.AddRow(Markup.Escape(c.ClassNames[k]), F(c.PerClassPrecision[k]), F(c.PerClassRecall[k]), F(r.PerClassF1![k]), F(c.RocCurves[k].Auc),
                    c.ConfusionMatrix[k].Sum().ToString(CultureInfo.InvariantCulture));
            console.Write(perClass);
            var confusion = new Table { Title = new TableTitle("confusion matrix (rows: true, columns: predicted)") }.AddColumn("true \\ predicted");
            foreach (var name in c.ClassNames) confusion.AddColumn(new TableColumn(Markup.Escape(name)).RightAligned());
            for (var k = 0; k < c.ClassNames.Count; k++)
                confusion.AddRow([Markup.Escape(c.ClassNames[k]), .. c.ConfusionMatrix[k].Select(n => n.ToString(CultureInfo.InvariantCulture))]);
            console.Write(confusion);
        }
        if (r.Segmentation is { } s)
        {
            output.WriteLine();
            output.WriteLine($"Segmentation ({r.SegmenterStage}): mean Dice {F(s.MeanDice)}; distances in mm (from the voxel spacing)");
            var table = new Table().AddColumn("class");
            foreach (var h in new[] { "Dice", "IoU", "HD95", "mean surface distance" }) table.AddColumn(new TableColumn(h).RightAligned());
            for (var k = 0; k < s.ClassNames.Count; k++)
                table.AddRow(Markup.Escape(s.ClassNames[k]), F(s.Dice[k]), F(s.IoU[k]), F(s.Hausdorff95[k]), F(s.MeanSurfaceDistance[k]));
            console.Write(table);
        }
        foreach (var note in r.Notes) output.WriteLine($"note: {note}");
    }
}

/// <summary>What `mlnm evaluate` reports (and writes with --json / --out).</summary>
public sealed class EvaluationResult
{
    public string Model { get; set; } = "";
    /// <summary>Where the preprocessing applied before the model came from: the --preprocessing file, "model" (recorded in the model file), or null for none.</summary>
    public string? Preprocessing { get; set; }
    public string Data { get; set; } = "";
    /// <summary>The split scored; null = every row.</summary>
    public string? Split { get; set; }
    public int Cases { get; set; }
    public string? ClassifierStage { get; set; }
    public string? SegmenterStage { get; set; }
    public ClassificationResult? Classification { get; set; }
    public List<double>? PerClassF1 { get; set; }
    public SegmentationResult? Segmentation { get; set; }
    public List<string> Notes { get; set; } = [];
}
