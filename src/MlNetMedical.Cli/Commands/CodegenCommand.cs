using System.CommandLine;
using MlNetMedical.Cli.Codegen;
using MlNetMedical.Cli.Pipelines;

namespace MlNetMedical.Cli.Commands;

/// <summary>`mlnm codegen --from RUN_DIR --out DIR`: a C# console project that repeats a run with the library API.</summary>
public sealed class CodegenCommand : ICliCommand
{
    public Command Build(CliContext context)
    {
        var from = new Option<string>("--from") { Description = "A finished run's output folder (its config.resolved.yaml is read).", Required = true };
        var output = CommonOptions.OutFolder("the project (NAME.csproj, Program.cs, README.md)", fallback: null);
        var command = new Command("codegen", """
            Write a small C# console project that reproduces a run with the MlNetMedical API (like the mlnet CLI's codegen).
            It references the MlNetMedical assemblies next to this mlnm by absolute path, so it builds offline.
            """) { from, output }
            .WithExamples(
                "mlnm codegen --from runs/quickstart --out quickstart-code && dotnet run -c Release --project quickstart-code -- out",
                "mlnm codegen --from runs/cardiac --out cardiac-code");
        command.SetAction(parse =>
        {
            var runDir = parse.GetValue(from)!;
            var configPath = Path.Combine(runDir, "config.resolved.yaml");
            if (!File.Exists(configPath)) throw new CliUserException($"'{configPath}' does not exist; --from takes the output folder of `mlnm run` or `mlnm quickstart`");
            var config = PipelineExecution.Read(PipelineExecution.ReadText(configPath), configPath, []);
            var outDir = parse.GetValue(output)!;
            var files = ProjectWriter.Write(config, outDir, AppContext.BaseDirectory);
            context.Output.WriteLine($"wrote {string.Join(", ", files)} to {Path.GetFullPath(outDir)}");
            context.Output.WriteLine($"run it: dotnet run -c Release --project {outDir} -- OUTPUT_FOLDER");
            return ExitCodes.Success;
        });
        return command;
    }
}
