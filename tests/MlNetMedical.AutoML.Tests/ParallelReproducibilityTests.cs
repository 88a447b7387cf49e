using Xunit;

namespace MlNetMedical.AutoML.Tests;

/// <summary>Issue 18 point 5: the same seed gives the same trial values whether trials run one at a time or two at a time.</summary>
[Collection("TinyTransfer")]
public sealed class ParallelReproducibilityTests(TinyTransferTask task) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mlnm-repro-").FullName;

    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    [Fact]
    public void SameSeedGivesTheSameTrialValuesAtParallelismOneAndTwo()
    {
        // The random tuner's proposal depends on (seed, trial number) only, and each trial's weights and dropout come from its own
        // seeded generators, so trial n has the same configuration and value whatever ran beside it and however many threads it had.
        IReadOnlyList<(int Number, string Parameters, double? Value)> Run(int parallelism)
        {
            var pipeline = new TransferStrategy(task.Ml, task.Segmentation, task.Train.Schema, TinyTransferTask.Quick);
            var result = new AutoMLExperiment(task.Ml).SetPipeline(pipeline).SetDataset(task.Train, task.Validation, "GroupId")
                .SetMaxTrials(6).SetParallelism(parallelism).SetTuner(new RandomTuner(11)).SetSeed(11)
                .SetStudy(Path.Combine(_dir, $"p{parallelism}.db"), $"p{parallelism}").Run();
            Assert.All(result.Trials, t => Assert.Equal(TrialState.Complete, t.State));
            return result.Trials.OrderBy(t => t.Number).Select(t => (t.Number, t.Parameters.ToString(), t.Value)).ToList();
        }
        var serial = Run(1);
        var parallel = Run(2);
        Assert.Equal(6, serial.Count);
        Assert.True(serial.Select(t => t.Parameters.Split(',')[0]).Distinct().Count() > 1, "the tuner should try several strategies");
        Assert.Equal(serial, parallel);
    }
}
