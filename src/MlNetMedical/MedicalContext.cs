using MlNetMedical.Catalogs;
using MlNetMedical.Models;
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

/// <summary>One log message from a <see cref="MedicalContext"/> component.</summary>
public sealed class LoggingEventArgs(LogKind kind, string source, string message) : EventArgs
{
    /// <summary>Severity.</summary>
    public LogKind Kind { get; } = kind;
    /// <summary>The component that wrote it (e.g. "Data", "NearestCentroid").</summary>
    public string Source { get; } = source;
    /// <summary>The text.</summary>
    public string Message { get; } = message;
    /// <inheritdoc/>
    public override string ToString() => $"[{Kind}] {Source}: {Message}";
}

/// <summary>Tells the context which accelerators the engine can use. The engine provides the real probe;
/// tests and hosts may pass their own.</summary>
public interface IComputeDeviceProbe
{
    /// <summary>Number of usable CUDA devices (0 when CUDA is unavailable).</summary>
    int CudaDeviceCount { get; }

    /// <summary>Why CUDA is unavailable, for the error message (null when it is available).</summary>
    string? CudaUnavailableReason { get; }
}

/// <summary>
/// The entry point, as ML.NET's <c>MLContext</c>: holds the seed, device, thread count and log, and exposes the
/// catalogs <see cref="Data"/>, <see cref="Transforms"/>, <see cref="Segmentation"/>, <see cref="Classification"/>,
/// <see cref="MultiTask"/> and <see cref="Model"/>.
/// </summary>
public sealed class MedicalContext
{
    /// <summary>The probe used when none is given: the engine's (the CUDA devices the linked libtorch sees), so asking for
    /// "cuda" where there is none fails with a clear message instead of silently running on the CPU.</summary>
    public static IComputeDeviceProbe DefaultDeviceProbe { get; set; } = new EngineProbe();

    /// <summary>Creates a context.</summary>
    /// <param name="seed">Drives data order, splits, augmentation and weight init. Null picks one from the clock
    /// (as ML.NET does) and logs it; pass a number for reproducible runs.</param>
    /// <param name="device">"cpu", "cuda" or "cuda:N". CUDA must be available.</param>
    /// <param name="threads">CPU threads for training and inference; default: all cores.</param>
    /// <param name="deviceProbe">Which accelerators exist; default <see cref="DefaultDeviceProbe"/>.</param>
    public MedicalContext(int? seed = null, string device = "cpu", int? threads = null, IComputeDeviceProbe? deviceProbe = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        var parsed = ParseDevice(device);
        if (parsed.Type == DeviceType.CUDA)
        {
            var probe = deviceProbe ?? DefaultDeviceProbe;
            if (probe.CudaDeviceCount == 0)
                throw new ArgumentException($"device '{device}' was requested but CUDA is not available ({probe.CudaUnavailableReason ?? "no CUDA devices"}); use device: \"cpu\"", nameof(device));
            if (parsed.Index >= probe.CudaDeviceCount)
                throw new ArgumentException($"device '{device}' was requested but only {probe.CudaDeviceCount} CUDA device(s) exist (cuda:0..cuda:{probe.CudaDeviceCount - 1})", nameof(device));
        }
        if (threads is < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "threads must be at least 1");
        TorchRuntime.Initialize();

        Seed = seed ?? Environment.TickCount;
        SeedWasGiven = seed.HasValue;
        Device = parsed.Type == DeviceType.CUDA ? $"cuda:{parsed.Index}" : "cpu";
        Threads = threads ?? Environment.ProcessorCount;
        Compute = new ComputeResources { Device = Device, Threads = threads };
        Data = new DataOperationsCatalog(this);
        Transforms = new TransformsCatalog(this);
        Classification = new ClassificationCatalog(this);
        Segmentation = new SegmentationCatalog(this);
        MultiTask = new MultiTaskCatalog(this);
        Model = new ModelOperationsCatalog(this);
    }

    /// <summary>The seed every seeded operation defaults to.</summary>
    public int Seed { get; }

    /// <summary>False when the seed was picked from the clock.</summary>
    public bool SeedWasGiven { get; }

    /// <summary>The compute device, normalised ("cpu", "cuda", "cuda:1").</summary>
    public string Device { get; }

    /// <summary>CPU threads for training and inference.</summary>
    public int Threads { get; }

    /// <summary>
    /// The device and thread budget every trainer and network transformer of this context's catalogs runs with. A thread count
    /// given to the constructor becomes a per-thread budget (<see cref="ComputeResources.Threads"/>) applied on the thread that
    /// trains or transforms; without one the engine's process-wide count (all cores, or MLNM_THREADS) applies.
    /// </summary>
    public ComputeResources Compute { get; }

    /// <summary>Messages from every component of this context.</summary>
    public event EventHandler<LoggingEventArgs>? Log;

    /// <summary>Loading, filtering and splitting data.</summary>
    public DataOperationsCatalog Data { get; }

    /// <summary>Data transforms (key mapping, and image preprocessing once the imaging layer is wired in).</summary>
    public TransformsCatalog Transforms { get; }

    /// <summary>Classification trainers, evaluation and cross-validation.</summary>
    public ClassificationCatalog Classification { get; }

    /// <summary>Segmentation trainers, evaluation and cross-validation.</summary>
    public SegmentationCatalog Segmentation { get; }

    /// <summary>Joint segmentation + classification.</summary>
    public MultiTaskCatalog MultiTask { get; }

    /// <summary>Saving and loading models.</summary>
    public ModelOperationsCatalog Model { get; }

    /// <summary>Raises <see cref="Log"/>.</summary>
    public void WriteLog(LogKind kind, string source, string message) => Log?.Invoke(this, new LoggingEventArgs(kind, source, message));

    /// <summary>"cpu", "cuda" (device 0) or "cuda:N", as (type, index); anything else is an <see cref="ArgumentException"/>.</summary>
    private static (DeviceType Type, int Index) ParseDevice(string device)
    {
        var text = device.Trim().ToLowerInvariant();
        if (text == "cpu") return (DeviceType.CPU, 0);
        if (text == "cuda") return (DeviceType.CUDA, 0);
        if (text.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(text[5..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index))
            return (DeviceType.CUDA, index);
        throw new ArgumentException($"device '{device}' is not one of cpu, cuda or cuda:N", nameof(device));
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
