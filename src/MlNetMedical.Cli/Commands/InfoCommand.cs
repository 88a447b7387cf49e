using System.CommandLine;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using MlNetMedical.Models;
using TorchSharp;

namespace MlNetMedical.Cli.Commands;

/// <summary>`mlnm info [--json]`: versions, threads, engine settings, CUDA.</summary>
public sealed class InfoCommand : ICliCommand
{
    public Command Build(CliContext context)
    {
        var json = new Option<bool>("--json") { Description = "Print one JSON object on stdout instead of text." };
        var command = new Command("info", "Show library, .NET, TorchSharp and libtorch versions, torch threads, the Debian 12 loader fix, the allocator tuning, oneDNN and CUDA.") { json }
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
    string TorchSharp,
    string Libtorch,
    string Backend,
    int TorchThreads,
    string Blas,
    string? LoaderFix,
    bool AllocatorTuned,
    bool OneDnn,
    string OneDnnDecision,
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
        TorchRuntime.Initialize();
        var cuda = torch.cuda.is_available();
        return new EngineInfo(
            Library: $"MlNetMedical {VersionOf(typeof(TorchRuntime).Assembly)}",
            DotNet: RuntimeInformation.FrameworkDescription,
            Os: RuntimeInformation.OSDescription,
            Cores: Environment.ProcessorCount,
            TorchSharp: VersionOf(typeof(torch).Assembly),
            Libtorch: torch.__version__,
            Backend: cuda ? "CUDA" : "CPU",
            TorchThreads: torch.get_num_threads(),
            Blas: "MKL (linked into libtorch)",
            LoaderFix: TorchRuntime.LoaderFix,
            AllocatorTuned: TorchRuntime.AllocatorTuned,
            OneDnn: TorchRuntime.OneDnnEnabled,
            OneDnnDecision: TorchRuntime.OneDnnDecision,
            CudaAvailable: cuda,
            CudaDeviceCount: cuda ? torch.cuda.device_count() : 0);
    }

    private static string VersionOf(Assembly assembly) =>
        (assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
         ?? assembly.GetName().Version?.ToString() ?? "unknown").Split('+')[0];

    public void WriteText(TextWriter w)
    {
        w.WriteLine($"library        {Library}");
        w.WriteLine($".NET           {DotNet}");
        w.WriteLine($"OS             {Os} ({Cores} cores)");
        w.WriteLine($"TorchSharp     {TorchSharp}");
        w.WriteLine($"libtorch       {Libtorch} ({Backend})");
        w.WriteLine($"torch threads  {TorchThreads} (MLNM_THREADS)");
        w.WriteLine($"BLAS           {Blas}");
        w.WriteLine($"loader fix     {(LoaderFix is null ? "not applied (this host's libstdc++ is new enough, or not Linux)" : "applied: " + LoaderFix.ReplaceLineEndings("; "))}");
        w.WriteLine($"allocator      {(AllocatorTuned ? "tuned (32 MiB mmap threshold, 1 GiB trim threshold; MLNM_KEEP_MALLOC_DEFAULTS=1 to opt out)" : "glibc defaults")}");
        w.WriteLine($"oneDNN         {(OneDnn ? "on" : "off")}: {OneDnnDecision}");
        w.WriteLine($"CUDA           {(CudaAvailable ? $"available, {CudaDeviceCount} device(s)" : "not available")}");
    }
}
