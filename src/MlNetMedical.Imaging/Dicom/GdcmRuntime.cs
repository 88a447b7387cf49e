using System.Reflection;
using System.Runtime.InteropServices;

namespace MlNetMedical.Imaging.Dicom;

/// <summary>
/// Points GDCM's C# binding at its native glue (libgdcmsharpglue.so) without LD_LIBRARY_PATH: next to
/// gdcm-sharp.dll, then Debian's /usr/lib/cli/gdcm-sharp-3.0, or MLNM_GDCM_GLUE when set. Used by the decoder process
/// (MlNetMedical.Imaging.DicomDecoder, which compiles this file): GDCM never runs in the application's process.
/// Debian's GDCM 3.0 is also not safe to drive from several threads at once (parallel readers corrupted the heap in
/// about 1 of 15 series reads, benchmarks/io); each decoder process serves one request at a time.
/// </summary>
public static class GdcmRuntime
{
    public const string GlueVariable = "MLNM_GDCM_GLUE";
    public const string DebianFolder = "/usr/lib/cli/gdcm-sharp-3.0";
    private const string GlueFile = "libgdcmsharpglue.so";
    private static readonly object Gate = new();

    private static bool registered;

    public static void Ensure()
    {
        if (registered) return;
        lock (Gate)
        {
            if (registered) return;
            Assembly gdcmAssembly;
            try { gdcmAssembly = typeof(gdcm.ImageReader).Assembly; }
            catch (Exception e) when (e is FileNotFoundException or FileLoadException or TypeLoadException)
            {
                throw new DllNotFoundException("GDCM's C# binding (gdcm-sharp.dll) is missing: install Debian's libgdcm-cil (scripts/bootstrap.sh does)", e);
            }
            NativeLibrary.SetDllImportResolver(gdcmAssembly, Resolve);
            // GDCM's own warnings go to stderr and may quote tag values (names included): keep them off.
            gdcm.Trace.WarningOff();
            gdcm.Trace.ErrorOff();
            gdcm.Trace.DebugOff();
            registered = true;
        }
    }

    /// <summary>Folders searched for the glue library, in order.</summary>
    public static IEnumerable<string> Candidates()
    {
        var env = Environment.GetEnvironmentVariable(GlueVariable);
        if (!string.IsNullOrEmpty(env)) yield return env;
        var here = Path.GetDirectoryName(typeof(gdcm.ImageReader).Assembly.Location);
        if (!string.IsNullOrEmpty(here)) yield return Path.Combine(here, GlueFile);
        yield return Path.Combine(AppContext.BaseDirectory, GlueFile);
        yield return Path.Combine(DebianFolder, GlueFile);
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (!name.Contains("gdcmsharpglue", StringComparison.Ordinal)) return IntPtr.Zero;
        foreach (var candidate in Candidates())
            if (File.Exists(candidate)) return NativeLibrary.Load(candidate);
        throw new DllNotFoundException($"GDCM's native glue {GlueFile} was not found (looked in: {string.Join(", ", Candidates())}); install libgdcm-cil or set {GlueVariable}");
    }
}
