using System.CommandLine;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using TorchRuntime = MlNetMedical.Torch.Torch;

namespace MlNetMedical.Cli.Commands;

/// <summary>`mlnm info [--json]`: versions, threads, the BLAS actually loaded, CUDA.</summary>
public sealed class InfoCommand : ICliCommand
{
    public Command Build(CliContext context)
    {
        var json = new Option<bool>("--json") { Description = "Print one JSON object on stdout instead of text." };
        var command = new Command("info", "Show library, .NET and libtorch versions, torch threads, the loaded BLAS and CUDA.") { json }
            .WithExamples("mlnm info", "mlnm info --json");
        command.SetAction(parse =>
        {
            var info = EngineInfo.Collect();
            if (parse.GetValue(json)) context.Output.WriteLine(JsonSerializer.Serialize(info, EngineInfo.JsonOptions));
            else info.WriteText(context.Output);
            return ExitCodes.Success;
        });
        return command;
    }
}

/// <summary>What `mlnm info` reports.</summary>
public sealed record EngineInfo(
    string Library,
    string DotNet,
    string Os,
    int Cores,
    string Libtorch,
    int TorchThreads,
    string Blas,
    string BlasPath,
    string BlasConfig,
    string? BlasWarning,
    bool CudaAvailable,
    int CudaDeviceCount)
{
    internal static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public static EngineInfo Collect()
    {
        var blas = TorchRuntime.Blas;
        var assembly = typeof(TorchRuntime).Assembly;
        var version = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
                      ?? assembly.GetName().Version?.ToString() ?? "unknown";
        return new EngineInfo(
            Library: $"MlNetMedical {version.Split('+')[0]}",
            DotNet: RuntimeInformation.FrameworkDescription,
            Os: RuntimeInformation.OSDescription,
            Cores: Environment.ProcessorCount,
            Libtorch: TorchRuntime.Version,
            TorchThreads: TorchRuntime.NumThreads,
            Blas: blas.Kind.ToString(),
            BlasPath: blas.Path,
            BlasConfig: blas.Config,
            BlasWarning: blas.Warning,
            CudaAvailable: TorchRuntime.CudaAvailable,
            CudaDeviceCount: TorchRuntime.CudaDeviceCount);
    }

    public void WriteText(TextWriter w)
    {
        w.WriteLine($"library        {Library}");
        w.WriteLine($".NET           {DotNet}");
        w.WriteLine($"OS             {Os} ({Cores} cores)");
        w.WriteLine($"libtorch       {Libtorch}");
        w.WriteLine($"torch threads  {TorchThreads}");
        w.WriteLine($"BLAS           {Blas} {BlasPath}{(BlasConfig.Length > 0 ? $" ({BlasConfig})" : "")}");
        if (BlasWarning is not null) w.WriteLine($"               warning: {BlasWarning}");
        w.WriteLine($"CUDA           {(CudaAvailable ? $"available, {CudaDeviceCount} device(s)" : "not available")}");
    }
}
