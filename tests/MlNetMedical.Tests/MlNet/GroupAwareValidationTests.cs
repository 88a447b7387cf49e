using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMedical.Catalogs;
using MlNetMedical.Training;
using Xunit;

namespace MlNetMedical.Tests.MlNet;

/// <summary>A patient's slices: near-duplicates of one random pattern; the label belongs to the patient and is unrelated to the pattern.</summary>
public sealed class SliceRow
{
    [VectorType(32)] public float[] Features { get; set; } = [];
    public string Diagnosis { get; set; } = "";
    public string GroupId { get; set; } = "";

    public static List<SliceRow> Make(int patients, int slicesPerPatient, int seed)
    {
        var random = new Random(seed);
        var rows = new List<SliceRow>();
        for (var p = 0; p < patients; p++)
        {
            var pattern = Enumerable.Range(0, 32).Select(_ => (float)random.NextDouble() * 4 - 2).ToArray();
            var diagnosis = random.Next(2) == 0 ? "benign" : "malignant";
            for (var s = 0; s < slicesPerPatient; s++)
                rows.Add(new SliceRow
                {
                    Features = pattern.Select(v => v + (float)(random.NextDouble() - 0.5) * 0.05f).ToArray(),
                    Diagnosis = diagnosis,
                    GroupId = $"P{p:00}",
                });
        }
        return rows;
    }
}

/// <summary>
/// Trainers' internal validation split (early stopping, best epoch, pruning values) is grouped by the GroupId column by default.
/// With near-duplicate slices per patient and labels that carry no signal, a row-level split lets the network recognise
/// validation patients it trained on and report a validation accuracy far above chance; the grouped default does not.
/// </summary>
[Collection("Torch")]
public sealed class GroupAwareValidationTests
{
    private static double BestValidationAccuracy(TrainingOptions options)
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(SliceRow.Make(patients: 40, slicesPerPatient: 4, seed: 7));
        var mlp = ml.MulticlassClassification.Trainers.Mlp(hiddenUnits: [64], training: options);
        ml.Transforms.Conversion.MapValueToKey("Label", "Diagnosis").Append(mlp).Fit(data);
        var history = mlp.LastHistory!;
        return history.Epochs[history.BestEpoch]["accuracy"];
    }

    private static readonly TrainingOptions Options = new() { Epochs = 60, BatchSize = 16, LearningRate = 3e-3, ValidationFraction = 0.25, Seed = 3 };

    [Fact]
    public void TheDefaultSplitKeepsEachPatientOnOneSide()
    {
        Assert.Equal("GroupId", new TrainingOptions().GroupColumnName);
        var grouped = BestValidationAccuracy(Options);
        var rowLevel = BestValidationAccuracy(Options with { GroupColumnName = null });
        // Row-level (the old default): validation slices have near-twins in training, so the labels are "learned".
        Assert.True(rowLevel >= 0.9, $"row-level validation accuracy {rowLevel:F3}");
        // Grouped: nothing to learn, so validation accuracy stays near chance.
        Assert.True(grouped <= 0.75, $"grouped validation accuracy {grouped:F3}");
    }
}
