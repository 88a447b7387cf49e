using System.Reflection;
using System.Runtime.InteropServices;

namespace MlNetMedical.Torch.Interop;

/// <summary>
/// Resolves the shim from the folder this assembly was loaded from, never from the current
/// directory. MLNM_NATIVE_LIBRARY overrides the path (e.g. a shim built against CUDA libtorch).
/// </summary>
internal static class NativeLibraryLoader
{
    internal const string FileName = "libmlnm_torch.so";

    internal static void Register() =>
        NativeLibrary.SetDllImportResolver(typeof(NativeLibraryLoader).Assembly, Resolve);

    internal static string LibraryPath
    {
        get
        {
            var overridePath = Environment.GetEnvironmentVariable("MLNM_NATIVE_LIBRARY");
            if (!string.IsNullOrEmpty(overridePath)) return overridePath;
            var location = typeof(NativeLibraryLoader).Assembly.Location;
            var folder = string.IsNullOrEmpty(location) ? AppContext.BaseDirectory : Path.GetDirectoryName(location)!;
            return Path.Combine(folder, FileName);
        }
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != NativeMethods.Library) return IntPtr.Zero;
        var path = LibraryPath;
        if (!File.Exists(path))
            throw new DllNotFoundException(
                $"The libtorch shim was not found at '{path}'. Build the solution (scripts/bootstrap.sh) so " +
                "src/MlNetMedical.Torch/native is compiled and copied next to the assemblies, or set MLNM_NATIVE_LIBRARY.");
        return NativeLibrary.Load(path);
    }
}
