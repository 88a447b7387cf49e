using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace MlNetMedical.Models;

/// <summary>
/// Process-wide libtorch settings, applied once by <see cref="Initialize"/> (every trainer and the CLI call it; it is
/// idempotent and thread-safe): intra-op threads (<c>MLNM_THREADS</c>, default all cores), glibc allocator tuning,
/// NNPACK off, and oneDNN checked against the reference convolution (<c>MLNM_ONEDNN</c>). Per-thread thread budgets for
/// parallel work come from <see cref="ThreadBudget"/>.
/// </summary>
public static class TorchRuntime
{
    /// <summary>Torch intra-op threads; default all cores.</summary>
    public const string ThreadsVariable = "MLNM_THREADS";

    /// <summary><c>auto</c> (default: use oneDNN only if its convolutions match the reference here), <c>1</c> (on), <c>0</c> (off).</summary>
    public const string OneDnnVariable = "MLNM_ONEDNN";

    /// <summary>Set to 1 to leave glibc's allocator defaults alone.</summary>
    public const string KeepMallocDefaultsVariable = "MLNM_KEEP_MALLOC_DEFAULTS";

    private static readonly Lock Gate = new();
    private static volatile bool initialized;

    /// <summary>The thread count set at start-up.</summary>
    public static int DefaultThreads { get; private set; }

    /// <summary>True when the allocator tuning was applied (glibc, no opt-out, no MALLOC_*/GLIBC_TUNABLES of the user's).</summary>
    public static bool AllocatorTuned { get; private set; }

    /// <summary>Whether libtorch may use oneDNN (mkldnn) kernels in this process.</summary>
    public static bool OneDnnEnabled { get; private set; }

    /// <summary>How the oneDNN setting was reached, e.g. "auto: convolution mismatch 0.42 (off)".</summary>
    public static string OneDnnDecision { get; private set; } = "not initialised";

    /// <summary>
    /// The Debian 12 loader fix applied to this build's libLibTorchSharp.so (build/libtorchsharp-debian12), read from its
    /// marker file; null when the library was not patched (a host whose libstdc++ is new enough).
    /// </summary>
    public static string? LoaderFix
    {
        get
        {
            var marker = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "mlnm-libstdcxx-fix.txt");
            return File.Exists(marker) ? File.ReadAllText(marker).Trim() : null;
        }
    }

    /// <summary>Applies the settings once. Throws <see cref="EngineSettingException"/> on a malformed variable.</summary>
    public static void Initialize()
    {
        if (initialized) return;
        lock (Gate)
        {
            if (initialized) return;
            var threads = ReadThreads();
            AllocatorTuned = TuneAllocator();
            torch.InitializeDeviceType(DeviceType.CPU);
            torch.set_num_threads(threads);
            DefaultThreads = threads;
            AtenContext.SetNnpack(false);
            ApplyOneDnn(Environment.GetEnvironmentVariable(OneDnnVariable));
            initialized = true;
        }
    }

    private static int ReadThreads()
    {
        var text = Environment.GetEnvironmentVariable(ThreadsVariable);
        if (string.IsNullOrWhiteSpace(text)) return Environment.ProcessorCount;
        if (!int.TryParse(text, out var n) || n < 1)
            throw new EngineSettingException($"{ThreadsVariable}='{text}' is not a positive integer");
        return n;
    }

    // Freed activations up to 32 MiB stay in the heap and memory goes back to the kernel only past 1 GiB free: with
    // glibc's defaults every training step maps its activations afresh (benchmarks/torch-step/README.md).
    private static bool TuneAllocator()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable(KeepMallocDefaultsVariable) == "1") return false;
        if (Environment.GetEnvironmentVariable("GLIBC_TUNABLES") != null) return false;
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
            if (((string)e.Key).StartsWith("MALLOC_", StringComparison.Ordinal)) return false;
        try
        {
            const int M_TRIM_THRESHOLD = -1, M_MMAP_THRESHOLD = -3;
            return mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1 & mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false; // not glibc
        }
    }

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int mallopt(int param, int value);

    private static void ApplyOneDnn(string? setting)
    {
        switch (setting?.Trim().ToLowerInvariant())
        {
            case null or "" or "auto":
                var mismatch = OneDnnConvolutionMismatch();
                var ok = mismatch <= 1e-3;
                SetOneDnn(ok);
                OneDnnDecision = FormattableString.Invariant($"auto: largest relative convolution difference to the reference {mismatch:G3} ({(ok ? "on" : "off")})");
                break;
            case "1" or "on" or "true":
                SetOneDnn(true);
                OneDnnDecision = $"{OneDnnVariable}=1 (on)";
                break;
            case "0" or "off" or "false":
                SetOneDnn(false);
                OneDnnDecision = $"{OneDnnVariable}=0 (off)";
                break;
            default:
                throw new EngineSettingException($"{OneDnnVariable}='{setting}' must be auto, 1 or 0");
        }
    }

    private static void SetOneDnn(bool on)
    {
        AtenContext.SetMkldnn(on);
        OneDnnEnabled = on;
    }

    /// <summary>
    /// Largest relative difference between oneDNN's and libtorch's reference convolution: forward output, input gradient and
    /// weight gradient, 2D and 3D, channel counts that are and are not multiples of 16. libtorch 2.10's oneDNN was seen to
    /// return results 40-100% off on an AVX-512 AMD EPYC host; on a healthy host the difference is about 1e-6.
    /// </summary>
    public static double OneDnnConvolutionMismatch()
    {
        double worst = 0;
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(12345);
        foreach (var (dims, batch, cin, cout, size) in new[] { (2, 2, 3, 5, 20), (2, 2, 16, 32, 16), (3, 1, 3, 5, 10), (3, 2, 32, 64, 8) })
        {
            long[] shape = [batch, cin, .. Enumerable.Repeat((long)size, dims)];
            long[] wshape = [cout, cin, .. Enumerable.Repeat(3L, dims)];
            var x = torch.randn(shape, generator: g);
            var w = torch.randn(wshape, generator: g);
            Tensor[] Run(bool oneDnn)
            {
                AtenContext.SetMkldnn(oneDnn);
                var xi = x.detach().requires_grad_(true);
                var wi = w.detach().requires_grad_(true);
                long[] padding = [.. Enumerable.Repeat(1L, dims)];
                var y = dims == 2 ? nn.functional.conv2d(xi, wi, padding: padding) : nn.functional.conv3d(xi, wi, padding: padding);
                (y * y).sum().backward();
                return [y.detach(), xi.grad!.clone(), wi.grad!.clone()];
            }
            var reference = Run(false);
            var fast = Run(true);
            for (int i = 0; i < reference.Length; i++)
            {
                var diff = (fast[i] - reference[i]).abs().max().item<float>();
                var scale = reference[i].abs().max().item<float>() + 1e-6f;
                worst = Math.Max(worst, float.IsFinite(diff) ? diff / scale : double.PositiveInfinity);
            }
        }
        AtenContext.SetMkldnn(OneDnnEnabled);
        return worst;
    }

    /// <summary>
    /// Gives the calling thread its own intra-op thread count until disposed (libtorch's OpenMP pool and MKL keep one
    /// count per OS thread), so parallel trials on separate threads share the cores without oversubscribing them:
    /// <c>using (TorchRuntime.ThreadBudget(1)) { ... }</c>. Budgets nest; dispose on the thread that created them.
    /// </summary>
    public static IDisposable ThreadBudget(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        Initialize();
        // ATen sets a thread's count from the process default on its first parallel op: make that happen first.
        var previous = torch.get_num_threads();
        ThreadLocalCounts.Set(threads);
        return new Budget(previous);
    }

    /// <summary>The intra-op thread count of ops started from the calling thread.</summary>
    public static int CurrentThreads => torch.get_num_threads();

    private sealed class Budget(int previous) : IDisposable
    {
        private readonly int thread = Environment.CurrentManagedThreadId;
        private bool disposed;

        public void Dispose()
        {
            if (disposed) return;
            disposed = true;
            if (Environment.CurrentManagedThreadId != thread)
                throw new InvalidOperationException("a thread budget must be disposed on the thread that created it");
            ThreadLocalCounts.Set(previous);
        }
    }

    /// <summary>Per-thread counts of libtorch's OpenMP runtime (its bundled libgomp) and of MKL, which libtorch links statically.</summary>
    private static unsafe class ThreadLocalCounts
    {
        private static readonly delegate* unmanaged<int, void> OmpSetNumThreads;
        private static readonly delegate* unmanaged<int, int> MklSetNumThreadsLocal;

        static ThreadLocalCounts()
        {
            var gomp = LoadedLibrary("libgomp") ?? throw new InvalidOperationException("libtorch's OpenMP runtime (libgomp) is not loaded: per-thread budgets need libtorch's OpenMP backend");
            OmpSetNumThreads = (delegate* unmanaged<int, void>)NativeLibrary.GetExport(gomp, "omp_set_num_threads");
            if (NativeLibrary.TryGetExport(AtenContext.TorchCpu, "MKL_Set_Num_Threads_Local", out var mkl))
                MklSetNumThreadsLocal = (delegate* unmanaged<int, int>)mkl;
        }

        public static void Set(int threads)
        {
            OmpSetNumThreads(threads);
            if (MklSetNumThreadsLocal != null) MklSetNumThreadsLocal(threads);
        }
    }

    /// <summary>Handle of an already loaded library whose file name starts with <paramref name="prefix"/> (from /proc/self/maps).</summary>
    internal static IntPtr? LoadedLibrary(string prefix)
    {
        foreach (var line in File.ReadLines("/proc/self/maps"))
        {
            var slash = line.IndexOf('/');
            if (slash < 0) continue;
            var path = line[slash..];
            if (Path.GetFileName(path).StartsWith(prefix, StringComparison.Ordinal) && NativeLibrary.TryLoad(path, out var handle))
                return handle;
        }
        return null;
    }

    /// <summary>at::globalContext()'s switches that TorchSharp does not expose, reached through libtorch_cpu's exports.</summary>
    private static unsafe class AtenContext
    {
        public static readonly IntPtr TorchCpu;
        private static readonly IntPtr Context;
        private static readonly delegate* unmanaged<IntPtr, byte, void> SetUserEnabledMkldnn;
        private static readonly delegate* unmanaged<IntPtr, byte, void> SetUserEnabledNnpack;

        static AtenContext()
        {
            torch.InitializeDeviceType(DeviceType.CPU);
            TorchCpu = LoadedLibrary("libtorch_cpu.so") ?? throw new InvalidOperationException("libtorch_cpu.so is not loaded");
            var globalContext = (delegate* unmanaged<IntPtr>)NativeLibrary.GetExport(TorchCpu, "_ZN2at13globalContextEv");
            Context = globalContext();
            SetUserEnabledMkldnn = (delegate* unmanaged<IntPtr, byte, void>)NativeLibrary.GetExport(TorchCpu, "_ZN2at7Context20setUserEnabledMkldnnEb");
            SetUserEnabledNnpack = (delegate* unmanaged<IntPtr, byte, void>)NativeLibrary.GetExport(TorchCpu, "_ZN2at7Context20setUserEnabledNNPACKEb");
        }

        public static void SetMkldnn(bool on) => SetUserEnabledMkldnn(Context, on ? (byte)1 : (byte)0);

        // NNPACK cannot initialise on this CPU and says so on stderr at every convolution; libtorch falls back anyway.
        public static void SetNnpack(bool on) => SetUserEnabledNnpack(Context, on ? (byte)1 : (byte)0);
    }
}

/// <summary>An environment variable that sets up the engine (<c>MLNM_THREADS</c>, <c>MLNM_ONEDNN</c>) has a value it cannot take.</summary>
public sealed class EngineSettingException(string message) : InvalidOperationException(message);
