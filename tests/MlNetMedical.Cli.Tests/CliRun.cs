namespace MlNetMedical.Cli.Tests;

/// <summary>Tests that train in this process run one at a time: libtorch's random generator is process-wide, so two
/// runs side by side would draw from it in turn and lose their seeded results (the codegen test compares them).
/// The tiny models of the evaluate/predict tests are trained once for the collection.</summary>
[Xunit.CollectionDefinition(Name)]
public sealed class TrainingCollection : Xunit.ICollectionFixture<TinyModels>
{
    public const string Name = "training in process";
}

/// <summary>Runs mlnm in-process and captures stdout/stderr; toy-scale overrides for the quickstart pipeline.</summary>
internal static class CliRun
{
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = CliApp.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>--set arguments that shrink pipelines/quickstart.yaml to seconds: 8 cases per split of 32², 1 epoch per stage.</summary>
    public static readonly string[] ToyQuickstart =
    [
        "--set", "data.synthetic.train=9", "--set", "data.synthetic.test=9", "--set", "data.synthetic.pretrain=8",
        "--set", "data.synthetic.size=32", "--set", "network.base_channels=4",
        "--set", "stages.0.pretrain.training.epochs=1", "--set", "stages.1.featurize.training.epochs=20",
        "--set", "stages.2.fine_tune.training.epochs=1", "--set", "stages.4.joint.training.epochs=1", "--set", "stages.5.scratch.training.epochs=1",
        "--set", "evaluation.samples=2",
    ];

    public static string TempDir(string prefix) => Directory.CreateTempSubdirectory(prefix).FullName;
}
