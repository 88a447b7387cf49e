namespace MlNetMedical.Tests;

/// <summary>
/// Entry point of the test assembly when it is started as a process (<c>dotnet MlNetMedical.Tests.dll train-seeded SEED</c>): the
/// cross-process determinism test runs a seeded training in child processes and compares what they print.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args is [Training.CrossProcessDeterminismTests.WorkerCommand, var seed])
        {
            Console.Out.Write(Training.CrossProcessDeterminismTests.TrainAndDescribe(int.Parse(seed, System.Globalization.CultureInfo.InvariantCulture)));
            return 0;
        }
        if (args is [MlNet.MixedModelFileTests.WorkerCommand, var path])
        {
            Console.Out.Write(MlNet.MixedModelFileTests.PredictSaved(path));
            return 0;
        }
        if (args is [MlNet.OnnxDeploymentTests.WorkerCommand, var zip])
        {
            Console.Out.Write(MlNet.OnnxDeploymentTests.PredictWithStockMlNet(zip));
            return 0;
        }
        Console.Error.WriteLine($"usage: MlNetMedical.Tests {Training.CrossProcessDeterminismTests.WorkerCommand} SEED | {MlNet.MixedModelFileTests.WorkerCommand} MODEL.zip | {MlNet.OnnxDeploymentTests.WorkerCommand} MLNET_MODEL.zip (the tests run through dotnet test)");
        return 2;
    }
}
