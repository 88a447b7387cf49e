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

    // Called once, from NativeMethods' static constructor, before the first native call returns.
    internal static void Initialize()
    {
        ApplyThreadSetting();
        WarnIfReferenceBlas();
    }

    private static void ApplyThreadSetting()
    {
        // libtorch 1.13 starts with one thread here, which halves conv speed; use every core unless told otherwise.
        var fromEnv = Environment.GetEnvironmentVariable(ThreadsVariable);
        var threads = Environment.ProcessorCount;
        if (!string.IsNullOrWhiteSpace(fromEnv) && (!int.TryParse(fromEnv, out threads) || threads < 1))
            throw new InvalidOperationException($"{ThreadsVariable}='{fromEnv}' is not a positive integer");
        NumThreads = threads;
    }

    /// <summary>
    /// Intra-op thread count. The getter reads the calling thread's count (see <see cref="CurrentThreadNumThreads"/>).
    /// The setter sets the process-wide default, which a thread copies on its first parallel op, and the calling
    /// thread's own count; threads that already ran a parallel op keep theirs (libtorch's OpenMP backend).
    /// </summary>
    public static int NumThreads
    {
        get { Check(mlnm_get_num_threads(out var n)); return n; }
        set => Check(mlnm_set_num_threads(value));
    }

    /// <summary>
    /// The intra-op thread count ops started from the calling thread use. With libtorch's OpenMP backend (Debian's and
    /// PyTorch's builds) every thread has its own count (OpenMP's nthreads ICV), initialised from <see cref="NumThreads"/>.
    /// </summary>
    public static int CurrentThreadNumThreads
    {
        get { Check(mlnm_get_num_threads(out var n)); return n; }
    }

    /// <summary>
    /// True when each thread can have its own intra-op thread count (<see cref="SetThreadsForCurrentThread"/>,
    /// <see cref="ThreadBudget"/>): libtorch's OpenMP backend. False for the native or TBB backends, whose pool is process-wide.
    /// </summary>
    public static bool SupportsThreadBudget
    {
        get { Check(mlnm_thread_budget_supported(out var v)); return v != 0; }
    }

    /// <summary>
    /// Sets the intra-op thread count of the calling thread only and returns its previous count; other threads and the
    /// process-wide default (<see cref="NumThreads"/>) are unchanged. Covers ATen's parallel loops, oneDNN convolutions
    /// and OpenMP OpenBLAS calls started from this thread, and autograd's backward on CPU (it runs on the calling thread).
    /// The count stays with the OS thread: prefer <see cref="ThreadBudget"/>, which restores it. Throws
    /// <see cref="NotSupportedException"/> when <see cref="SupportsThreadBudget"/> is false.
    /// </summary>
    public static int SetThreadsForCurrentThread(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        if (!SupportsThreadBudget)
            throw new NotSupportedException($"Torch.SetThreadsForCurrentThread: this libtorch's intra-op pool is process-wide; use Torch.NumThreads ({LastBudgetError()})");
        Check(mlnm_set_thread_budget(threads, out var previous));
        return previous;
    }

    /// <summary>
    /// Gives the calling thread its own intra-op thread count until the returned scope is disposed, which restores the
    /// previous count (scopes nest). Parallel work (e.g. AutoML trials on separate threads) can so share the cores
    /// without oversubscribing them: <c>using (Torch.ThreadBudget(1)) { ... }</c>. Per OS thread, like grad mode: dispose
    /// it on the thread that opened it, and do not <c>await</c> inside it. Throws <see cref="NotSupportedException"/>
    /// when <see cref="SupportsThreadBudget"/> is false.
    /// </summary>
    public static ThreadBudgetScope ThreadBudget(int threads) => new(SetThreadsForCurrentThread(threads));

    /// <summary>
    /// Runs an empty parallel loop on the calling thread and returns how many threads took part: the intra-op
    /// parallelism ops started from this thread actually get (a diagnostic).
    /// </summary>
    public static int MeasureIntraOpParallelism()
    {
        Check(mlnm_intra_op_team_size(out var size));
        return size;
    }

    private static string LastBudgetError() => mlnm_set_thread_budget(1, out _) != 0 ? LastError() : "";

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

    /// <summary>
    /// Native tensor handles alive in the process (created and not yet disposed or finalized). A number that
    /// keeps rising across training steps means tensors escape their dispose scopes.
    /// </summary>
    public static long LiveTensorCount => mlnm_live_tensors();

    /// <summary>Opens a scope that frees every tensor created inside it on dispose (see <see cref="DisposeScope"/>).</summary>
    public static DisposeScope NewDisposeScope() => new();

    /// <summary>
    /// Turns gradient recording off on this thread until the returned scope is disposed, which restores the
    /// previous mode (scopes nest). Use for optimizer updates and inference: <c>using (Torch.NoGrad()) { ... }</c>.
    /// </summary>
    public static GradModeScope NoGrad() => new(enabled: false);

    /// <summary>Turns gradient recording on inside a <see cref="NoGrad"/> region, until disposed.</summary>
    public static GradModeScope EnableGrad() => new(enabled: true);

    /// <summary>Whether operations on this thread are recorded for autograd.</summary>
    public static bool IsGradEnabled
    {
        get { Check(mlnm_is_grad_enabled(out var v)); return v != 0; }
    }

    /// <summary>Seeds libtorch's random generators (CPU and every CUDA device).</summary>
    public static void ManualSeed(ulong seed) => Check(mlnm_manual_seed(seed));

    /// <summary>
    /// Deterministic algorithms only (torch.use_deterministic_algorithms; cuDNN deterministic, no benchmarking).
    /// With <paramref name="warnOnly"/>, nondeterministic ops warn instead of failing.
    /// </summary>
    public static void SetDeterministic(bool enabled, bool warnOnly = false) => Check(mlnm_set_deterministic(enabled ? 1 : 0, warnOnly ? 1 : 0));

    public static bool IsDeterministic
    {
        get { Check(mlnm_get_deterministic(out var v)); return v != 0; }
    }

    /// <summary>True only when the linked libtorch has CUDA and sees a device.</summary>
    public static bool CudaAvailable
    {
        get { Check(mlnm_cuda_info(out var available, out _)); return available != 0; }
    }

    /// <summary>CUDA devices visible to the linked libtorch (0 on a CPU build).</summary>
    public static int CudaDeviceCount
    {
        get { Check(mlnm_cuda_info(out _, out var count)); return count; }
    }

    private static BlasInfo? blas;

    /// <summary>The BLAS library actually loaded in this process (not libtorch's build-time setting).</summary>
    public static unsafe BlasInfo Blas
    {
        get
        {
            if (blas is not null) return blas;
            const int Capacity = 1024;
            var path = stackalloc byte[Capacity];
            var config = stackalloc byte[Capacity];
            Check(mlnm_blas_info(out var kind, path, Capacity, config, Capacity));
            return blas = new BlasInfo((BlasKind)kind,
                System.Runtime.InteropServices.Marshal.PtrToStringUTF8((IntPtr)path) ?? "",
                System.Runtime.InteropServices.Marshal.PtrToStringUTF8((IntPtr)config) ?? "");
        }
    }

    private static void WarnIfReferenceBlas()
    {
        var info = Blas;
        if (info.IsSlow)
            Console.Error.WriteLine($"warning: {info.Warning}");
    }
}

/// <summary>Which BLAS implementation is loaded.</summary>
public enum BlasKind
{
    Unknown = 0,
    /// <summary>Netlib's reference BLAS: correct but about 45x slower for matmul here.</summary>
    Reference = 1,
    OpenBlas = 2,
    Mkl = 3,
    Blis = 4,
}

/// <summary>The BLAS library mapped into the process: its kind, file and (for OpenBLAS) build configuration.</summary>
public sealed record BlasInfo(BlasKind Kind, string Path, string Config)
{
    /// <summary>True for the slow reference BLAS.</summary>
    public bool IsSlow => Kind == BlasKind.Reference;

    /// <summary>What to do about a slow BLAS, or null when it is fine.</summary>
    public string? Warning => IsSlow
        ? $"libtorch is using the reference BLAS ({Path}), which makes matmul and linear layers about 45x slower; " +
          "install libopenblas0-openmp (scripts/bootstrap.sh does) or select OpenBLAS with update-alternatives --config libblas.so.3-x86_64-linux-gnu"
        : null;

    public override string ToString() => Kind switch
    {
        BlasKind.OpenBlas when Config.Length > 0 => $"OpenBLAS ({Config}) at {Path}",
        _ => $"{Kind} at {(Path.Length > 0 ? Path : "(not found in /proc/self/maps)")}",
    };
}

/// <summary>
/// Restores the calling thread's previous intra-op thread count on dispose (see <see cref="Torch.ThreadBudget"/>).
/// </summary>
public sealed class ThreadBudgetScope : IDisposable
{
    private readonly int previous;
    private readonly int threadId = Environment.CurrentManagedThreadId;
    private bool disposed;

    internal ThreadBudgetScope(int previous) => this.previous = previous;

    /// <summary>The calling thread's count before the scope opened.</summary>
    public int Previous => previous;

    public void Dispose()
    {
        if (disposed) return;
        if (Environment.CurrentManagedThreadId != threadId)
            throw new InvalidOperationException("a thread-budget scope must be disposed on the thread that opened it (the budget is per thread); avoid await inside Torch.ThreadBudget()");
        disposed = true;
        Check(mlnm_set_thread_budget(previous, out _));
    }
}

/// <summary>
/// Restores this thread's previous grad mode on dispose (see <see cref="Torch.NoGrad"/>). Grad mode is per
/// thread in libtorch, so the scope must be disposed on the thread that opened it.
/// </summary>
public sealed class GradModeScope : IDisposable
{
    private readonly bool previous;
    private readonly int threadId = Environment.CurrentManagedThreadId;
    private bool disposed;

    internal GradModeScope(bool enabled)
    {
        Check(mlnm_set_grad_enabled(enabled ? 1 : 0, out var prev));
        previous = prev != 0;
    }

    public void Dispose()
    {
        if (disposed) return;
        if (Environment.CurrentManagedThreadId != threadId)
            throw new InvalidOperationException("a grad-mode scope must be disposed on the thread that opened it (grad mode is per thread); avoid await inside Torch.NoGrad()");
        disposed = true;
        Check(mlnm_set_grad_enabled(previous ? 1 : 0, out _));
    }
}
