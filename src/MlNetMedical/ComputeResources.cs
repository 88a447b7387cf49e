using TorchApi = MlNetMedical.Torch.Torch;
using TorchDevice = MlNetMedical.Torch.Device;

namespace MlNetMedical;

/// <summary>
/// Where a trainer or network transformer runs: the device its network and batches live on, and the intra-op CPU threads
/// its work may use. <see cref="MedicalContext.Compute"/> hands the context's settings to every trainer and transformer its
/// catalogs create.
/// </summary>
public sealed record ComputeResources
{
    /// <summary>CPU, with the engine's process-wide thread count.</summary>
    public static ComputeResources Default { get; } = new();

    /// <summary>"cpu", "cuda" or "cuda:N" (CUDA availability is checked by <see cref="MedicalContext"/>).</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>
    /// Intra-op threads for work started from the calling thread (a per-thread budget, <see cref="MlNetMedical.Torch.Torch.ThreadBudget"/>),
    /// so parallel trainings on separate threads can split the cores; null = the engine's process-wide count.
    /// </summary>
    public int? Threads { get; init; }

    /// <summary>The engine device.</summary>
    public TorchDevice TorchDevice => TorchDevice.Parse(Device);

    /// <summary>
    /// Applies <see cref="Threads"/> to the calling thread until disposed. Dispose it on the same thread. Where the engine's
    /// thread pool is process-wide (not libtorch's OpenMP backend, <see cref="MlNetMedical.Torch.Torch.SupportsThreadBudget"/> false)
    /// nothing is changed and the process-wide count applies.
    /// </summary>
    public IDisposable Enter() =>
        Threads is { } n && TorchApi.SupportsThreadBudget ? TorchApi.ThreadBudget(n) : NoScope.Instance;

    private sealed class NoScope : IDisposable
    {
        public static readonly NoScope Instance = new();
        public void Dispose() { }
    }
}
