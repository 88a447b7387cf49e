using MlNetMedical.Data;
using Xunit;

namespace MlNetMedical.Tests.Data;

public class SplitTests
{
    private readonly MedicalContext _ml = new(seed: 7);

    private IDataView Labelled(List<PatientRow>? rows = null) =>
        _ml.Transforms.Conversion.MapValueToKey("Label", "Diagnosis").Fit(_ml.Data.LoadFromEnumerable(rows ?? PatientRow.Make()))
            .Transform(_ml.Data.LoadFromEnumerable(rows ?? PatientRow.Make()));

    private static HashSet<string> Patients(IDataView view) => [.. view.GetColumn<string>("Patient")];

    [Fact]
    public void TrainTestSplitKeepsPatientsTogetherAndClassProportions()
    {
        var data = Labelled();
        var split = _ml.Data.TrainTestSplit(data, testFraction: 0.25, samplingKeyColumnName: "Patient", stratify: true);
        Assert.Empty(Patients(split.TrainSet).Intersect(Patients(split.TestSet)));
        Assert.Equal(48, split.TrainSet.CountRows() + split.TestSet.CountRows());
        Assert.Equal(12, split.TestSet.CountRows());
        // 16 benign and 8 malignant patients: a quarter of each stratum is 4 and 2 patients.
        var testDiagnoses = split.TestSet.GetColumn<string>("Diagnosis").ToList();
        Assert.Equal(8, testDiagnoses.Count(d => d == "benign"));
        Assert.Equal(4, testDiagnoses.Count(d => d == "malignant"));
    }

    [Fact]
    public void SameSeedSameSplitOtherSeedOtherSplit()
    {
        var data = Labelled();
        string[] Test(int seed) => [.. _ml.Data.TrainTestSplit(data, 0.25, "Patient", stratify: true, seed: seed).TestSet.GetColumn<string>("Patient")];
        Assert.Equal(Test(3), Test(3));
        Assert.Equal(Test(3), new MedicalContext(seed: 3).Data.TrainTestSplit(data, 0.25, "Patient", stratify: true).TestSet.GetColumn<string>("Patient"));
        Assert.NotEqual(Test(3), Test(4));
        string[][] Folds(int seed) => [.. _ml.Data.CrossValidationSplit(data, 3, "Patient", stratify: true, seed: seed).Select(f => f.TestSet.GetColumn<string>("Patient").ToArray())];
        Assert.Equal(Folds(5), Folds(5));
        Assert.NotEqual(Folds(5), Folds(6));
    }

    [Fact]
    public void CrossValidationFoldsPartitionTheGroups()
    {
        var data = Labelled();
        var folds = _ml.Data.CrossValidationSplit(data, numberOfFolds: 4, samplingKeyColumnName: "Patient", stratify: true);
        Assert.Equal(4, folds.Count);
        var seen = new HashSet<string>();
        foreach (var fold in folds)
        {
            var test = Patients(fold.TestSet);
            Assert.Empty(test.Intersect(Patients(fold.TrainSet)));
            Assert.Empty(test.Intersect(seen));   // every patient is held out exactly once
            seen.UnionWith(test);
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
        Assert.Equal("testFraction", Assert.Throws<ArgumentOutOfRangeException>(() => _ml.Data.TrainTestSplit(data, 1.0)).ParamName);
        var key = Assert.Throws<ArgumentException>(() => _ml.Data.TrainTestSplit(data, 0.2, samplingKeyColumnName: "PatientId"));
        Assert.Equal("samplingKeyColumnName", key.ParamName);
        Assert.Contains("'PatientId'", key.Message);
        var vector = Assert.Throws<ArgumentException>(() => _ml.Data.TrainTestSplit(data, 0.2, samplingKeyColumnName: "Features"));
        Assert.Contains("to be a scalar text, boolean, number or key column", vector.Message);
        var folds = Assert.Throws<ArgumentException>(() => _ml.Data.CrossValidationSplit(data, 30, "Patient"));
        Assert.Contains("numberOfFolds 30 is more than the 24 groups", folds.Message);
        var tiny = Assert.Throws<ArgumentException>(() => _ml.Data.TrainTestSplit(data, 0.001, "Patient"));
        Assert.Contains("leaves the test set empty", tiny.Message);
    }

    [Fact]
    public void WithoutKeyEveryRowIsAGroup()
    {
        var split = _ml.Data.TrainTestSplit(Labelled(), 0.25);
        Assert.Equal(12, split.TestSet.CountRows());
    }
}
