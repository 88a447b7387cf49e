using static MlNetMedical.Torch.Interop.NativeMethods;

namespace MlNetMedical.Torch;

/// <summary>
/// Process-wide engine settings. Tensor factories live on <see cref="Tensor"/> (e.g. <c>Tensor.Zeros</c>).
/// Inside other MlNetMedical namespaces the name <c>Torch</c> resolves to the namespace first;
/// write <c>global::MlNetMedical.Torch.Torch</c> or alias it there.
/// </summary>
public static class Torch
{
    /// <summary>Environment variable that sets the torch thread count (default: all cores).</summary>
    public const string ThreadsVariable = "MLNM_THREADS";

    internal static void ApplyThreadSetting()
    {
        // libtorch 1.13 starts with one thread here, which halves conv speed; use every core unless told otherwise.
        var fromEnv = Environment.GetEnvironmentVariable(ThreadsVariable);
        var threads = Environment.ProcessorCount;
        if (!string.IsNullOrWhiteSpace(fromEnv) && (!int.TryParse(fromEnv, out threads) || threads < 1))
            throw new InvalidOperationException($"{ThreadsVariable}='{fromEnv}' is not a positive integer");
        NumThreads = threads;
    }

    /// <summary>Intra-op thread count libtorch uses.</summary>
    public static int NumThreads
    {
        get { Check(mlnm_get_num_threads(out var n)); return n; }
        set => Check(mlnm_set_num_threads(value));
    }

    /// <summary>Version of the linked libtorch, e.g. "1.13.0".</summary>
    public static unsafe string Version
    {
        get
        {
            var buffer = stackalloc byte[64];
            Check(mlnm_version(buffer, 64));
            return System.Runtime.InteropServices.Marshal.PtrToStringUTF8((IntPtr)buffer) ?? "";
        }
    }

    /// <summary>Opens a scope that frees every tensor created inside it on dispose (see <see cref="DisposeScope"/>).</summary>
    public static DisposeScope NewDisposeScope() => new();
}
