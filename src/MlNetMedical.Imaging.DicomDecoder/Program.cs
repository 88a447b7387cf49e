using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using MlNetMedical.Imaging.Dicom;
using static MlNetMedical.Imaging.Dicom.DicomDecoderProtocol;

namespace MlNetMedical.Imaging.DicomDecoder;

/// <summary>
/// Serves decode requests from MlNetMedical.Imaging over standard input and output (see DicomDecoderProtocol) until
/// standard input ends or the parent process goes away. Debian's GDCM aborts the process on some malformed files;
/// here that ends only this process, and the parent reports the file as unreadable.
/// </summary>
internal static class Program
{
    [DllImport("libc", SetLastError = true)] private static extern int dup(int fd);
    [DllImport("libc", SetLastError = true)] private static extern int dup2(int from, int to);
    [DllImport("libc")] private static extern int getppid();
    [DllImport("libc")] private static extern void _exit(int status);
    [DllImport("libc", SetLastError = true)] private static extern int getrlimit(int resource, out RLimit limit);
    [DllImport("libc", SetLastError = true)] private static extern int setrlimit(int resource, in RLimit limit);

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit { public ulong Current, Maximum; }

    private const int RlimitData = 2; // RLIMIT_DATA on Linux
    /// <summary>Memory a request may map beyond its budget: the runtime's and GDCM's own working space.</summary>
    public const long Allowance = 64 << 20;
    private static ulong dataHardLimit;
    /// <summary>Mapped private writable memory (VmData) when the current request began.</summary>
    private static long dataAtStart = -1;

    private static int Main()
    {
        // The protocol gets its own copy of the standard output descriptor, and descriptor 1 then points at standard
        // error: whatever GDCM's native code prints cannot corrupt a response.
        Stream output;
        if (OperatingSystem.IsWindows()) output = Console.OpenStandardOutput();
        else
        {
            int fd = dup(1);
            if (fd < 0 || dup2(2, 1) < 0) { Console.Error.WriteLine($"dup failed: errno {Marshal.GetLastPInvokeError()}"); return 2; }
            output = new FileStream(new SafeFileHandle(fd, ownsHandle: true), FileAccess.Write, 1);
            WatchParent();
        }
        // Ctrl+C in a terminal signals the whole process group: the application decides what an interrupt means, and
        // this process ends with its input.
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => context.Cancel = true);
        using var quit = PosixSignalRegistration.Create(PosixSignal.SIGQUIT, context => context.Cancel = true);
        using var input = Console.OpenStandardInput();
        GdcmRuntime.Ensure();
        using (var hello = new gdcm.Tag(0x0028, 0x0010)) { } // load the glue now: a missing library fails before the handshake

        Span<byte> greeting = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(greeting, Hello);
        BinaryPrimitives.WriteInt32LittleEndian(greeting[4..], DicomDecoderProtocol.Version);
        output.Write(greeting);
        output.Flush();

        Span<byte> length = stackalloc byte[8];
        while (ReadMessage(input) is { } body)
        {
            var request = DecodeRequest(body);
            if (request.Flags.HasFlag(RequestFlags.TestCrash)) Environment.FailFast("test hook: simulated GDCM abort");
            if (request.Flags.HasFlag(RequestFlags.TestHang)) Thread.Sleep(Timeout.Infinite);
            bool measure = request.Flags.HasFlag(RequestFlags.Measure);
            long before = measure ? ResetPeak() : -1;
            byte[]? pixels = null;
            Response response;
            long fileLength = File.Exists(request.Path) ? new FileInfo(request.Path).Length : 0;
            try
            {
                // Reading the header may map a few times the file (GDCM holds the whole file); decompressing, a few times the
                // decoded size the header implies, once that size has passed the limits.
                dataAtStart = OperatingSystem.IsLinux() ? Status("VmData:") : -1;
                LimitData(4 * fileLength);
                (response, pixels) = Decoder.Decode(request, decoded => LimitData(4 * fileLength + 4 * decoded));
            }
            catch (Exception e) { response = new Response { Error = $"the DICOM decoder failed: {e.GetType().Name}: {e.Message}" }; }
            finally { LimitData(-1); }
            if (measure && before >= 0) response.PeakGrowth = Math.Max(0, Status("VmHWM:") - before);
            output.Write(Encode(response));
            long pixelLength = response.Error == null && response.PixelOffset < 0 ? response.CheckedBytes : 0;
            BinaryPrimitives.WriteInt64LittleEndian(length, pixelLength);
            output.Write(length);
            if (pixelLength > 0) output.Write(pixels.AsSpan(0, checked((int)pixelLength)));
            output.Flush();
            if (pixelLength > 16 << 20) { pixels = null; GC.Collect(); } // large buffers go back to the system between requests
        }
        return 0;
    }

    /// <summary>
    /// Caps what this process may map (RLIMIT_DATA: private writable memory, which is what malloc and the GC commit) at
    /// its size when the request began (<see cref="dataAtStart"/>) plus <paramref name="budget"/> and <see cref="Allowance"/>; -1 lifts the cap. A
    /// lying length field in a file then makes GDCM's allocation fail (and the decoder end, contained) instead of
    /// committing gigabytes. Linux only; elsewhere nothing is capped.
    /// </summary>
    private static void LimitData(long budget)
    {
        if (!OperatingSystem.IsLinux()) return;
        if (dataHardLimit == 0)
        {
            if (getrlimit(RlimitData, out var current) != 0) return;
            dataHardLimit = current.Maximum;
        }
        if (budget < 0) { setrlimit(RlimitData, new RLimit { Current = dataHardLimit, Maximum = dataHardLimit }); return; }
        if (dataAtStart < 0) return;
        ulong cap = (ulong)Math.Min(long.MaxValue / 2, dataAtStart + budget + Allowance);
        setrlimit(RlimitData, new RLimit { Current = Math.Min(cap, dataHardLimit), Maximum = dataHardLimit });
    }

    /// <summary>Exits when the parent process is gone (this process is re-parented), in case standard input stays open.</summary>
    private static void WatchParent()
    {
        int parent = getppid();
        new Thread(() =>
        {
            while (true)
            {
                Thread.Sleep(1000);
                if (getppid() != parent) _exit(0);
            }
        }) { IsBackground = true, Name = "parent watch" }.Start();
    }

    /// <summary>Resets the peak resident size (Linux: clear_refs 5) and returns the resident size now, or -1.</summary>
    private static long ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return Status("VmRSS:");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return -1; }
    }

    private static long Status(string key)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(key, StringComparison.Ordinal))
                return long.Parse(line[key.Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        return -1;
    }
}
