using MlNetMedical.Cli.Terminal;
using MlNetMedical.Training;
using Xunit;

namespace MlNetMedical.Cli.Tests;

public sealed class ProgressViewTests
{
    private static TrainingProgress Step(int epoch, int step, bool end) =>
        new("t", epoch, 2, step, 4, 0.5, end ? new Dictionary<string, double> { ["train_loss"] = 0.4, ["accuracy"] = 0.75 } : new Dictionary<string, double>(),
            1e-3, TimeSpan.FromSeconds(1), null, end);

    private static (string Screen, string Log, List<Reporting.EpochRecord> History) Train(ProgressMode mode)
    {
        var screen = new StringWriter();
        var log = new StringWriter();
        var view = new ProgressView(new CliContext(TextWriter.Null, screen), mode, log);
        var reporter = new TrainingProgressReporter(view, "fine-tune");
        view.Run(() =>
        {
            for (int epoch = 1; epoch <= 2; epoch++)
            {
                for (int step = 1; step <= 4; step++) reporter.Report(Step(epoch, step, false));
                reporter.Report(Step(epoch, 4, true));
            }
            reporter.Complete("done");
        });
        return (screen.ToString(), log.ToString(), reporter.History);
    }

    [Fact]
    public void LogLinesShowEpochEndsAndTheEndWithElapsedTime()
    {
        var (screen, log, history) = Train(ProgressMode.LogLines);
        Assert.Contains("fine-tune: epoch 1/2 train_loss 0.4000 val_accuracy 0.7500", screen);
        Assert.Contains("fine-tune: epoch 2/2", screen);
        Assert.Contains("fine-tune: 8/8 steps done", screen);
        Assert.Contains("fine-tune: epoch 2/2", log);
        Assert.Equal([1, 2], history.Select(h => h.Epoch));
        Assert.Equal(0.4, history[0].TrainLoss);
        Assert.Equal(0.75, history[0].Validation["accuracy"]);
        Assert.DoesNotContain("train_loss", history[0].Validation.Keys);
    }

    [Fact]
    public void QuietShowsOnlyTheEndButTheLogFileKeepsEpochs()
    {
        var (screen, log, _) = Train(ProgressMode.Quiet);
        Assert.DoesNotContain("epoch 1/2", screen);
        Assert.Contains("fine-tune: 8/8 steps done", screen);
        Assert.Contains("fine-tune: epoch 1/2", log);
    }
}
