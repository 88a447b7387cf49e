using System.CommandLine;
using MlNetMedical.Cli.Pipelines;

namespace MlNetMedical.Cli.Commands;

/// <summary>`mlnm run PIPELINE.yaml [--out DIR] [--set key=value ...] [--seed N] [--threads N] [--force] [--record-machine] [--quiet] [--json]`.</summary>
public sealed class RunCommand : ICliCommand
{
    public Command Build(CliContext context)
    {
        var pipeline = new Argument<string>("PIPELINE.yaml") { Description = "The pipeline file (schema: pipelines/README.md)." };
        var options = new RunOptions("runs/NAME under the current folder", "stages.1.fine_tune.training.epochs=3",
            "stage summaries", "the run's metrics (metrics.json)");
        var command = options.AddTo(new Command("run", """
            Run a YAML pipeline: data, preprocessing, augmentation, stages (pretrain, featurize, imagenet_features, fine_tune, imagenet_fine_tune, scratch, joint), evaluation.
            Writes OUT/config.resolved.yaml, run.log, models/STAGE.zip, metrics.json and report.html; the last line printed is the report's path.
            """ + Interruptible.Help) { pipeline })
            .WithExamples(
                "mlnm run pipelines/cardiac-2d.yaml --out runs/cardiac",
                "mlnm run pipelines/quickstart.yaml --set data.synthetic.train=12 --set stages.0.pretrain.training.epochs=2",
                "mlnm run pipelines/liver-joint.yaml --out runs/liver --quiet");
        command.SetInterruptibleAction((parse, cancellation) =>
        {
            var path = parse.GetValue(pipeline)!;
            if (!File.Exists(path)) throw new CliUserException($"pipeline file '{path}' does not exist");
            var config = PipelineExecution.Read(PipelineExecution.ReadText(path), path, options.Overrides(parse));
            var outDir = options.OutDir(parse, Path.Combine("runs", config.Name));
            var outcome = PipelineExecution.Execute(context, config, Path.GetDirectoryName(Path.GetFullPath(path))!, outDir,
                options.Choices(parse), cancellation);
            return Interruptible.ExitCode(outcome.Interrupted);
        });
        return command;
    }
}
