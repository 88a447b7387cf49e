using MlNetMedical.Models;
using TorchSharp;

namespace MlNetMedical;

/// <summary>
/// Where a trainer or network transformer runs: the device its network and batches live on, and the intra-op CPU threads
/// its work may use. <see cref="MedicalSettings.Compute"/> (<c>ml.Medical().Compute</c>) hands the context's settings to every trainer and transformer its
/// catalogs create.
/// </summary>
public sealed record ComputeResources
{
    /// <summary>CPU, with the engine's process-wide thread count.</summary>
    public static ComputeResources Default { get; } = new();

    /// <summary>"cpu", "cuda" or "cuda:N" (CUDA availability is checked by <see cref="MedicalSettings.Device"/>).</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>
    /// Intra-op threads for work started from the calling thread (a per-thread budget, <see cref="TorchRuntime.ThreadBudget"/>),
    /// so parallel trainings on separate threads can split the cores; null = the engine's process-wide count.
    /// </summary>
    public int? Threads { get; init; }

    /// <summary>The engine device.</summary>
    public torch.Device TorchDevice => torch.device(Device);

    /// <summary>
    /// Initialises the engine (<see cref="TorchRuntime.Initialize"/>) and applies <see cref="Threads"/> to the calling thread
    /// until disposed. Dispose it on the same thread.
    /// </summary>
    public IDisposable Enter()
    {
        TorchRuntime.Initialize();
        return Threads is { } n ? TorchRuntime.ThreadBudget(n) : NoScope.Instance;
    }

    private sealed class NoScope : IDisposable
    {
        public static readonly NoScope Instance = new();
        public void Dispose() { }
    }
}
