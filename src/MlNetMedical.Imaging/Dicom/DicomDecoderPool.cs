using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using static MlNetMedical.Imaging.Dicom.DicomDecoderProtocol;

namespace MlNetMedical.Imaging.Dicom;

/// <summary>
/// Runs GDCM in decoder processes (MlNetMedical.Imaging.DicomDecoder, copied next to every application that references
/// this library), never in this one. Debian's GDCM is built with assertions and aborts on some malformed files; a
/// decoder that dies (abort, SIGSEGV) or does not answer within the time limit is killed, the file is reported with an
/// <see cref="ImageFormatException"/> naming it, and the next request starts a fresh decoder.
/// Decoders are long-lived and serve one request at a time; up to <see cref="MaxDecoders"/> run at once (several
/// threads may read DICOM together), and one left idle for a minute is closed. A decoder exits when its standard input
/// ends, so none outlives this process.
/// </summary>
internal static class DicomDecoderPool
{
    public const string DecoderVariable = "MLNM_DICOM_DECODER";
    public const string TimeoutVariable = "MLNM_DICOM_TIMEOUT";
    public const string DecoderFile = "MlNetMedical.Imaging.DicomDecoder.dll";
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan IdleLifetime = TimeSpan.FromSeconds(60);

    /// <summary>Decoder processes at most: one per core, up to 4.</summary>
    public static readonly int MaxDecoders = Math.Clamp(Environment.ProcessorCount, 1, 4);

    private static readonly SemaphoreSlim Slots = new(MaxDecoders, MaxDecoders);
    private static readonly Stack<DecoderProcess> Idle = new();
    private static Timer? reaper;

    /// <summary>Test hooks and observations, scoped to the calling flow (parallel tests do not see each other's).</summary>
    internal sealed class Probe
    {
        /// <summary>Requests for a path containing this string make the decoder abort (Environment.FailFast).</summary>
        public string? CrashOn { get; init; }
        /// <summary>Requests for a path containing this string make the decoder hang.</summary>
        public string? HangOn { get; init; }
        public TimeSpan? Timeout { get; init; }
        /// <summary>Ask the decoder for its memory growth per request.</summary>
        public bool Measure { get; init; }
        public long LastPeakGrowth { get; set; } = -1;
        public long LastCheckedBytes { get; set; }
        public int Crashes { get; set; }
        public int TimeOuts { get; set; }
        public int Started { get; set; }
    }

    internal static readonly AsyncLocal<Probe?> CurrentProbe = new();

    /// <summary>The per-request time limit: <see cref="TimeoutVariable"/> (seconds) when set, else <see cref="DefaultTimeout"/>.</summary>
    public static TimeSpan Timeout
    {
        get
        {
            var s = Environment.GetEnvironmentVariable(TimeoutVariable);
            return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds > 0
                ? TimeSpan.FromSeconds(seconds) : DefaultTimeout;
        }
    }

    /// <summary>Sends one request; the pixels are null unless decoded pixels came back. <paramref name="displayPath"/> names the file in errors.</summary>
    public static (Response Response, byte[]? Pixels) Decode(Request request, string displayPath)
    {
        var probe = CurrentProbe.Value;
        if (probe != null)
        {
            var flags = request.Flags;
            if (probe.CrashOn != null && request.Path.Contains(probe.CrashOn, StringComparison.Ordinal)) flags |= RequestFlags.TestCrash;
            if (probe.HangOn != null && request.Path.Contains(probe.HangOn, StringComparison.Ordinal)) flags |= RequestFlags.TestHang;
            if (probe.Measure) flags |= RequestFlags.Measure;
            request = request with { Flags = flags };
        }
        var timeout = probe?.Timeout ?? Timeout;
        Slots.Wait();
        DecoderProcess? decoder = null;
        try
        {
            lock (Idle) decoder = Idle.Count > 0 ? Idle.Pop() : null;
            if (decoder == null)
            {
                decoder = DecoderProcess.Start();
                if (probe != null) probe.Started++;
            }
            var result = decoder.Exchange(request, timeout, displayPath, probe);
            if (probe != null) { probe.LastPeakGrowth = result.Response.PeakGrowth; probe.LastCheckedBytes = result.Response.CheckedBytes; }
            return result;
        }
        finally
        {
            if (decoder != null)
            {
                if (decoder.Healthy)
                {
                    decoder.LastUsed = Stopwatch.GetTimestamp();
                    lock (Idle)
                    {
                        Idle.Push(decoder);
                        reaper ??= new Timer(_ => Reap(), null, IdleLifetime, IdleLifetime);
                    }
                }
                else decoder.Dispose();
            }
            Slots.Release();
        }
    }

    /// <summary>Closes decoders left idle for longer than <see cref="IdleLifetime"/>.</summary>
    private static void Reap()
    {
        List<DecoderProcess> old;
        lock (Idle)
        {
            var all = Idle.ToList();
            old = all.Where(d => Stopwatch.GetElapsedTime(d.LastUsed) > IdleLifetime).ToList();
            if (old.Count == 0) return;
            Idle.Clear();
            foreach (var d in all.Except(old).Reverse()) Idle.Push(d);
        }
        foreach (var d in old) d.Dispose();
    }

    /// <summary>The decoder assembly: <see cref="DecoderVariable"/>, else next to the application or to this library.</summary>
    public static IEnumerable<string> DecoderCandidates()
    {
        var env = Environment.GetEnvironmentVariable(DecoderVariable);
        if (!string.IsNullOrEmpty(env)) yield return env;
        yield return Path.Combine(AppContext.BaseDirectory, DecoderFile);
        var here = Path.GetDirectoryName(typeof(DicomDecoderPool).Assembly.Location);
        if (!string.IsNullOrEmpty(here)) yield return Path.Combine(here, DecoderFile);
    }

    /// <summary>The dotnet host that runs this process's runtime (the decoder uses the same runtime).</summary>
    private static string DotnetHost()
    {
        string exe = OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet";
        if (Environment.ProcessPath is { } self && Path.GetFileName(self) == exe) return self;
        // .../shared/Microsoft.NETCore.App/<version>/ -> the dotnet root.
        var runtimeDir = RuntimeEnvironment.GetRuntimeDirectory();
        var root = Path.GetFullPath(Path.Combine(runtimeDir, "..", "..", ".."));
        if (File.Exists(Path.Combine(root, exe))) return Path.Combine(root, exe);
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)) return host;
        return exe;
    }

    private sealed class DecoderProcess : IDisposable
    {
        private readonly Process process;
        private readonly Stream input, output;
        private readonly StringBuilder stderrTail = new();
        private int killed;
        public bool Healthy { get; private set; } = true;
        public long LastUsed { get; set; }

        private DecoderProcess(Process process)
        {
            this.process = process;
            input = process.StandardInput.BaseStream;
            output = process.StandardOutput.BaseStream;
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data == null) return;
                lock (stderrTail)
                {
                    stderrTail.AppendLine(e.Data);
                    if (stderrTail.Length > 4096) stderrTail.Remove(0, stderrTail.Length - 4096);
                }
            };
            process.BeginErrorReadLine();
        }

        public static DecoderProcess Start()
        {
            var dll = DecoderCandidates().FirstOrDefault(File.Exists)
                ?? throw new InvalidOperationException($"the DICOM decoder {DecoderFile} was not found (looked in: {string.Join(", ", DecoderCandidates())}); " +
                                                       $"build the solution (MlNetMedical.Imaging copies it next to the application) or set {DecoderVariable}");
            var host = DotnetHost();
            var psi = new ProcessStartInfo(host)
            {
                UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, CreateNoWindow = true,
            };
            psi.ArgumentList.Add("exec");
            psi.ArgumentList.Add(dll);
            Process p;
            try { p = Process.Start(psi) ?? throw new InvalidOperationException("Process.Start returned null"); }
            catch (System.ComponentModel.Win32Exception e) { throw new InvalidOperationException($"cannot start the DICOM decoder ({host} exec {dll}): {e.Message}", e); }
            var d = new DecoderProcess(p);
            bool timedOut = false;
            using (new Timer(_ => { timedOut = true; d.Kill(); }, null, StartTimeout, System.Threading.Timeout.InfiniteTimeSpan))
            {
                Span<byte> hello = stackalloc byte[8];
                int got;
                try { got = d.output.ReadAtLeast(hello, 8, throwOnEndOfStream: false); }
                catch (IOException) { got = 0; }
                if (got == 8 && BinaryPrimitives.ReadUInt32LittleEndian(hello) == Hello && BinaryPrimitives.ReadInt32LittleEndian(hello[4..]) == DicomDecoderProtocol.Version)
                    return d;
            }
            d.Kill();
            p.WaitForExit(5000);
            string tail;
            lock (d.stderrTail) tail = d.stderrTail.ToString().Trim();
            d.Dispose();
            throw new InvalidOperationException($"the DICOM decoder ({host} exec {dll}) did not start" +
                (timedOut ? $" within {StartTimeout.TotalSeconds:0} s" : "") + (tail.Length > 0 ? $": {tail}" : ""));
        }

        public (Response Response, byte[]? Pixels) Exchange(Request request, TimeSpan timeout, string displayPath, Probe? probe)
        {
            int timedOut = 0;
            using var timer = new Timer(_ => { if (Interlocked.Exchange(ref timedOut, 1) == 0) Kill(); }, null, timeout, System.Threading.Timeout.InfiniteTimeSpan);
            try
            {
                input.Write(Encode(request));
                input.Flush();
                var body = ReadMessage(output) ?? throw new EndOfStreamException();
                var response = DecodeResponse(body);
                Span<byte> prefix = stackalloc byte[8];
                output.ReadExactly(prefix);
                long length = BinaryPrimitives.ReadInt64LittleEndian(prefix);
                // What the decoder may send: exactly the decoded size it checked against the limits, within the limits.
                long allowed = response.Error == null && response.PixelOffset < 0 && request.Flags.HasFlag(RequestFlags.Decode) ? response.CheckedBytes : 0;
                if (length != allowed || length < 0 || length > request.MaxBytes || length > Array.MaxLength)
                    throw new InvalidDataException($"{length} pixel bytes announced, {allowed} expected");
                byte[]? pixels = null;
                if (length > 0)
                {
                    pixels = GC.AllocateUninitializedArray<byte>((int)length);
                    output.ReadExactly(pixels);
                }
                if (Interlocked.Exchange(ref timedOut, -1) == 1) throw new EndOfStreamException(); // the timer won the race
                return (response, pixels);
            }
            catch (Exception e) when (e is IOException or InvalidDataException or ObjectDisposedException)
            {
                Healthy = false;
                bool wasTimeout = Volatile.Read(ref timedOut) == 1;
                Kill();
                process.WaitForExit(5000);
                if (wasTimeout)
                {
                    if (probe != null) probe.TimeOuts++;
                    throw new ImageFormatException(displayPath, $"GDCM timed out decoding the file (no answer within {timeout.TotalSeconds:0.#} s, {TimeoutVariable}); the decoder process was stopped", e);
                }
                if (probe != null) probe.Crashes++;
                if (e is InvalidDataException)
                    throw new ImageFormatException(displayPath, $"the DICOM decoder sent a malformed answer ({e.Message}); it was stopped", e);
                throw new ImageFormatException(displayPath, $"GDCM crashed decoding the file ({ExitDescription()}): the file is corrupt or not supported", e);
            }
        }

        private string ExitDescription()
        {
            if (!process.HasExited) return "the decoder process stopped answering";
            int code = process.ExitCode;
            if (code > 128 && code < 128 + 65)
            {
                var name = (code - 128) switch { 6 => " SIGABRT", 11 => " SIGSEGV", 7 => " SIGBUS", 8 => " SIGFPE", 9 => " SIGKILL", 4 => " SIGILL", _ => "" };
                return $"the decoder process died on signal {code - 128}{name}";
            }
            return $"the decoder process exited with code {code}";
        }

        private void Kill()
        {
            if (Interlocked.Exchange(ref killed, 1) == 1) return;
            try { process.Kill(); } catch (InvalidOperationException) { } catch (System.ComponentModel.Win32Exception) { }
        }

        public void Dispose()
        {
            Healthy = false;
            try { input.Dispose(); } catch (IOException) { } // the decoder exits at the end of its input
            try { if (!process.WaitForExit(2000)) Kill(); } catch (InvalidOperationException) { }
            process.Dispose();
        }
    }
}
