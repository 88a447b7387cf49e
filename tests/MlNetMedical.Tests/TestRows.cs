using Microsoft.ML;
using Microsoft.ML.Data;

namespace MlNetMedical.Tests;

/// <summary>A small labelled set: two well-separated classes in 2D, several rows per patient.</summary>
public sealed class PatientRow
{
    public string Patient { get; set; } = "";
    public string Diagnosis { get; set; } = "";
    [VectorType(2)] public float[] Features { get; set; } = [];
    public string Split { get; set; } = "train";

    /// <summary>24 patients × 2 rows; patients 0–15 benign near (0,0), 16–23 malignant near (4,4): a 2:1 class ratio.</summary>
    public static List<PatientRow> Make(int patients = 24, int rowsPerPatient = 2)
    {
        var random = new Random(5);
        var rows = new List<PatientRow>();
        for (var p = 0; p < patients; p++)
            for (var r = 0; r < rowsPerPatient; r++)
            {
                var malignant = p >= patients * 2 / 3;
                var centre = malignant ? 4f : 0f;
                rows.Add(new PatientRow
                {
                    Patient = $"P{p:00}",
                    Diagnosis = malignant ? "malignant" : "benign",
                    Features = [centre + (float)random.NextDouble() - 0.5f, centre + (float)random.NextDouble() - 0.5f],
                    Split = p % 4 == 0 ? "test" : "train",
                });
            }
        return rows;
    }

    /// <summary><see cref="Make"/> as an ML.NET view with <c>Label</c> mapped from <c>Diagnosis</c> (keys in order of first
    /// appearance: benign = 1, malignant = 2).</summary>
    public static IDataView Labelled(MLContext ml, List<PatientRow>? rows = null)
    {
        var data = ml.Data.LoadFromEnumerable(rows ?? Make());
        return ml.Transforms.Conversion.MapValueToKey("Label", "Diagnosis").Fit(data).Transform(data);
    }
}
