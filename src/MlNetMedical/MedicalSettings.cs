using System.Runtime.CompilerServices;
using Microsoft.ML.Runtime;
using MlNetMedical.Models;
using MlNetMedical.Training;
using TorchSharp;

namespace MlNetMedical;

/// <summary>Severity of a log message.</summary>
public enum LogKind
{
    /// <summary>Fine-grained progress.</summary>
    Trace,
    /// <summary>Normal progress.</summary>
    Info,
    /// <summary>Something the user should look at.</summary>
    Warning,
    /// <summary>A failure.</summary>
    Error,
}

/// <summary>One log message from a framework component.</summary>
public sealed class MedicalLogEventArgs(LogKind kind, string source, string message) : EventArgs
{
    /// <summary>Severity.</summary>
    public LogKind Kind { get; } = kind;
    /// <summary>The component that wrote it (e.g. "Data", "FineTunedEncoder").</summary>
    public string Source { get; } = source;
    /// <summary>The text.</summary>
    public string Message { get; } = message;
    /// <inheritdoc/>
    public override string ToString() => $"[{Kind}] {Source}: {Message}";
}

/// <summary>Tells the framework which accelerators the engine can use. The engine provides the real probe; tests may pass their own.</summary>
public interface IComputeDeviceProbe
{
    /// <summary>Number of usable CUDA devices (0 when CUDA is unavailable).</summary>
    int CudaDeviceCount { get; }

    /// <summary>Why CUDA is unavailable, for the error message (null when it is available).</summary>
    string? CudaUnavailableReason { get; }
}

/// <summary>
/// What the framework adds to an <see cref="MLContext"/>, reached with <c>ml.Medical()</c>: the default seed of its trainers,
/// the CPU thread budget, the training progress hook and the log. The device comes from ML.NET's own
/// <see cref="MLContext.GpuDeviceId"/> and <see cref="MLContext.FallbackToCpu"/>, as for ML.NET's TorchSharp trainers.
/// </summary>
public sealed class MedicalSettings
{
    private static readonly ConditionalWeakTable<MLContext, MedicalSettings> Table = new();
    private readonly MLContext _ml;
    private int? _threads;

    private MedicalSettings(MLContext ml)
    {
        _ml = ml;
        TorchRuntime.Initialize();
        // One host per context, registered once: its random sequence follows the context's seed, as ML.NET's trainers' do.
        Seed = ((IHostEnvironment)ml).Register("MlNetMedical").Rand.Next();
        Catalogs.CatalogContexts.Register(ml);
    }

    /// <summary>The settings of <paramref name="ml"/> (created on first use).</summary>
    public static MedicalSettings For(MLContext ml) => Table.GetValue(ml ?? throw new ArgumentNullException(nameof(ml)), m => new MedicalSettings(m));

    /// <summary>The probe used to check <see cref="MLContext.GpuDeviceId"/>: the engine's (the CUDA devices the linked libtorch sees).</summary>
    public static IComputeDeviceProbe DeviceProbe { get; set; } = new EngineProbe();

    /// <summary>The seed of the framework's trainers and transforms that are not given one (<see cref="TrainingOptions.Seed"/>):
    /// drawn once from the context's random source, so <c>new MLContext(seed: 1)</c> gives reproducible runs. Set it to pin it.</summary>
    public int Seed { get; set; }

    /// <summary>CPU threads for training and inference of this context's components: a per-thread budget; null (default) uses the
    /// engine's process-wide count (all cores, or MLNM_THREADS).</summary>
    public int? Threads
    {
        get => _threads;
        set => _threads = value is < 1 ? throw new ArgumentOutOfRangeException(nameof(value), value, "threads must be at least 1") : value;
    }

    /// <summary>Where training reports epochs, losses and time left when a trainer's options give no
    /// <see cref="TrainingOptions.Progress"/>. Default: one line per epoch on the console's error stream when that is a terminal
    /// (<see cref="ConsoleTrainingProgress"/>), nothing otherwise. Set null to silence it.</summary>
    public IProgress<TrainingProgress>? Progress { get; set; } = ConsoleTrainingProgress.WhenInteractive();

    /// <summary>Messages from the framework's components.</summary>
    public event EventHandler<MedicalLogEventArgs>? Log;

    /// <summary>Raises <see cref="Log"/>.</summary>
    public void WriteLog(LogKind kind, string source, string message) => Log?.Invoke(this, new MedicalLogEventArgs(kind, source, message));

    /// <summary>The device (from <see cref="MLContext.GpuDeviceId"/>; CUDA must be available unless <see cref="MLContext.FallbackToCpu"/>)
    /// and the thread budget every trainer and network transformer made through this context runs with.</summary>
    public ComputeResources Compute => new() { Device = Device, Threads = Threads };

    /// <summary>"cpu" or "cuda:N".</summary>
    public string Device
    {
        get
        {
            if (_ml.GpuDeviceId is not { } id) return "cpu";
            var probe = DeviceProbe;
            var reason = probe.CudaDeviceCount == 0 ? $"CUDA is not available ({probe.CudaUnavailableReason ?? "no CUDA devices"})"
                : id >= probe.CudaDeviceCount ? $"only {probe.CudaDeviceCount} CUDA device(s) exist (0..{probe.CudaDeviceCount - 1})"
                : id < 0 ? "a device id must be ≥ 0" : null;
            if (reason is null) return $"cuda:{id}";
            if (_ml.FallbackToCpu) return "cpu";
            throw new InvalidOperationException($"MLContext.GpuDeviceId is {id}, but {reason}; set GpuDeviceId = null, or FallbackToCpu = true");
        }
    }

    private sealed class EngineProbe : IComputeDeviceProbe
    {
        public int CudaDeviceCount
        {
            get
            {
                TorchRuntime.Initialize();
                return torch.cuda.is_available() ? torch.cuda.device_count() : 0;
            }
        }

        public string? CudaUnavailableReason => CudaDeviceCount > 0 ? null
            : "libtorch sees no CUDA device (the CPU backend package, or no GPU/driver); build with -p:MlnmTorchBackend=TorchSharp-cuda-linux on a machine with a GPU";
    }
}

/// <summary>The framework's additions to <see cref="MLContext"/>.</summary>
public static class MLContextMedicalExtensions
{
    /// <summary>The framework's settings of this context: seed, threads, progress, log (<see cref="MedicalSettings"/>).</summary>
    public static MedicalSettings Medical(this MLContext ml) => MedicalSettings.For(ml);

    extension(MLContext ml)
    {
        /// <summary>Segmentation, the catalog ML.NET lacks: U-Net trainers, evaluation (Dice, IoU, HD95, ASSD) and cross-validation. One per context.</summary>
        public Catalogs.SegmentationCatalog Segmentation => Catalogs.SegmentationCatalog.For(ml);
    }
}
