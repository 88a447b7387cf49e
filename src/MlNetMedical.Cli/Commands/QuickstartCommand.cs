using System.CommandLine;
using MlNetMedical.Cli.Pipelines;

namespace MlNetMedical.Cli.Commands;

/// <summary>`mlnm quickstart [--out DIR] [--set k=v] [--seed N] [--threads N] [--force] [--record-machine] [--quiet] [--json]`: the embedded pipelines/quickstart.yaml, end to end.</summary>
public sealed class QuickstartCommand : ICliCommand
{
    /// <summary>The embedded copy of pipelines/quickstart.yaml.</summary>
    public static string PipelineText()
    {
        using var stream = typeof(QuickstartCommand).Assembly.GetManifestResourceStream("quickstart.yaml")
            ?? throw new InvalidOperationException("the quickstart pipeline is not embedded in mlnm");
        return new StreamReader(stream).ReadToEnd();
    }

    public Command Build(CliContext context)
    {
        var options = new RunOptions("runs/quickstart", "data.synthetic.train=96", "stage summaries", "the run's metrics (metrics.json)");
        var command = options.AddTo(new Command("quickstart", """
            Generate a small synthetic 2D task (cardiac slice level), pretrain a U-Net on its masks, train five classifiers
            (frozen encoder features, fine-tuned encoder, ImageNet ResNet18 features, simple joint segmentation + classification,
            the same network from scratch), print a comparison table with each method's accuracy difference to scratch and write
            OUT/metrics.json, OUT/models/*.zip and OUT/report.html. The last line printed is the report's path.
            About a minute on 2 idle cores. The pipeline is pipelines/quickstart.yaml (`mlnm run` takes the same file).
            """ + Interruptible.Help))
            .WithExamples(
                "mlnm quickstart",
                "mlnm quickstart --out runs/first --quiet",
                "mlnm quickstart --set data.synthetic.train=96");
        command.SetInterruptibleAction((parse, cancellation) =>
        {
            var config = PipelineExecution.Read(PipelineText(), "quickstart.yaml (embedded)", options.Overrides(parse));
            var outcome = PipelineExecution.Execute(context, config, Directory.GetCurrentDirectory(), options.OutDir(parse, Path.Combine("runs", "quickstart")),
                options.Choices(parse), cancellation);
            return Interruptible.ExitCode(outcome.Interrupted);
        });
        return command;
    }
}
