using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMedical.Data;
using Xunit;

namespace MlNetMedical.Tests.Data;

/// <summary>
/// The framework's internal group-aware, stratified splitter (trainers' validation splits). Users split with ML.NET's
/// <c>ml.Data.TrainTestSplit</c>, which groups by a sampling key but does not stratify.
/// </summary>
public class SplitTests
{
    private readonly MLContext _ml = new(seed: 7);

    private IDataView Labelled() => PatientRow.Labelled(_ml);

    private static HashSet<string> Patients(IDataView view) => [.. view.GetColumn<string>("Patient")];

    private static int Rows(IDataView view) => view.GetColumn<string>("Patient").Count();

    [Fact]
    public void TrainTestSplitKeepsPatientsTogetherAndClassProportions()
    {
        var data = Labelled();
        var split = DataSplitter.TrainTest(data, testFraction: 0.25, samplingKeyColumnName: "Patient", stratifyColumnName: "Label", seed: 7);
        Assert.Empty(Patients(split.TrainSet).Intersect(Patients(split.TestSet)));
        Assert.Equal(48, Rows(split.TrainSet) + Rows(split.TestSet));
        Assert.Equal(12, Rows(split.TestSet));
        Assert.Equal(12, split.TestSet.GetRowCount());
        // 16 benign and 8 malignant patients: a quarter of each stratum is 4 and 2 patients.
        var testDiagnoses = split.TestSet.GetColumn<string>("Diagnosis").ToList();
        Assert.Equal(8, testDiagnoses.Count(d => d == "benign"));
        Assert.Equal(4, testDiagnoses.Count(d => d == "malignant"));
        // Rows keep the source's order on both sides.
        var order = PatientRow.Make().Select(r => r.Patient).ToList();
        var test = split.TestSet.GetColumn<string>("Patient").ToList();
        Assert.Equal(test.OrderBy(order.IndexOf), test);
        // A text column stratifies as well as a key.
        var byText = DataSplitter.TrainTest(data, 0.25, "Patient", "Diagnosis", seed: 7);
        Assert.Equal(test, byText.TestSet.GetColumn<string>("Patient"));
    }

    [Fact]
    public void SameSeedSameSplitOtherSeedOtherSplit()
    {
        var data = Labelled();
        string[] Test(int seed) => [.. DataSplitter.TrainTest(data, 0.25, "Patient", "Label", seed).TestSet.GetColumn<string>("Patient")];
        Assert.Equal(Test(3), Test(3));
        Assert.Equal(Test(3), DataSplitter.TrainTest(PatientRow.Labelled(new MLContext(seed: 99)), 0.25, "Patient", "Label", 3).TestSet.GetColumn<string>("Patient"));
        Assert.NotEqual(Test(3), Test(4));
        string[][] Folds(int seed) => [.. DataSplitter.Folds(data, 3, "Patient", "Label", seed).Select(f => f.TestSet.GetColumn<string>("Patient").ToArray())];
        Assert.Equal(Folds(5), Folds(5));
        Assert.NotEqual(Folds(5), Folds(6));
    }

    [Fact]
    public void CrossValidationFoldsPartitionTheGroups()
    {
        var data = Labelled();
        var folds = DataSplitter.Folds(data, numberOfFolds: 4, samplingKeyColumnName: "Patient", stratifyColumnName: "Label", seed: 7);
        Assert.Equal(4, folds.Count);
        var seen = new HashSet<string>();
        foreach (var fold in folds)
        {
            var test = Patients(fold.TestSet);
            Assert.Empty(test.Intersect(Patients(fold.TrainSet)));
            Assert.Empty(test.Intersect(seen));   // every patient is held out exactly once
            seen.UnionWith(test);
            Assert.Equal(48, Rows(fold.TrainSet) + Rows(fold.TestSet));
            var diagnoses = fold.TestSet.GetColumn<string>("Diagnosis").ToList();
            Assert.Equal(8, diagnoses.Count(d => d == "benign"));     // 16 benign patients / 4 folds × 2 rows
            Assert.Equal(4, diagnoses.Count(d => d == "malignant"));
        }
        Assert.Equal(24, seen.Count);
    }

    [Fact]
    public void SplitErrorsNameTheParameter()
    {
        var data = Labelled();
        Assert.Equal("testFraction", Assert.Throws<ArgumentOutOfRangeException>(() => DataSplitter.TrainTest(data, 1.0, null, null, 1)).ParamName);
        var key = Assert.Throws<ArgumentException>(() => DataSplitter.TrainTest(data, 0.2, "PatientId", null, 1));
        Assert.Equal("samplingKeyColumnName", key.ParamName);
        Assert.Contains("samplingKeyColumnName 'PatientId' is not a column of the data", key.Message);
        var vector = Assert.Throws<ArgumentException>(() => DataSplitter.TrainTest(data, 0.2, "Features", null, 1));
        Assert.Contains("expected a scalar text, boolean, number or key column", vector.Message);
        var label = Assert.Throws<ArgumentException>(() => DataSplitter.TrainTest(data, 0.2, "Patient", "Grade", 1));
        Assert.Contains("'Grade'", label.Message);
        var folds = Assert.Throws<ArgumentException>(() => DataSplitter.Folds(data, 30, "Patient", null, 1));
        Assert.Contains("numberOfFolds 30 is more than the 24 groups of samplingKeyColumnName 'Patient'", folds.Message);
        Assert.Equal("numberOfFolds", Assert.Throws<ArgumentOutOfRangeException>(() => DataSplitter.Folds(data, 1, null, null, 1)).ParamName);
        var tiny = Assert.Throws<ArgumentException>(() => DataSplitter.TrainTest(data, 0.001, "Patient", null, 1));
        Assert.Contains("leaves the test set empty", tiny.Message);
        var none = _ml.Data.LoadFromEnumerable(Array.Empty<PatientRow>());
        Assert.Contains("no rows to split", Assert.Throws<ArgumentException>(() => DataSplitter.TrainTest(none, 0.5, null, null, 1)).Message);
    }

    [Fact]
    public void WithoutKeyEveryRowIsAGroup()
    {
        var split = DataSplitter.TrainTest(Labelled(), 0.25, null, null, 7);
        Assert.Equal(12, Rows(split.TestSet));
        Assert.Equal(36, Rows(split.TrainSet));
    }
}
