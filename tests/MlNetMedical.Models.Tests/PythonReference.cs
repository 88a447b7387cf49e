using System.Diagnostics;
using Xunit;

namespace MlNetMedical.Models.Tests;

/// <summary>A fact that runs only when Debian's /usr/bin/python3 imports torch and numpy; otherwise it is reported skipped.</summary>
public sealed class TorchPythonFactAttribute : FactAttribute
{
    public TorchPythonFactAttribute()
    {
        if (PythonReference.Unavailable is { } reason) Skip = reason;
    }
}

/// <summary>Runs reference scripts with Debian's python3-torch (the pyenv python on PATH has no torch).</summary>
internal static class PythonReference
{
    private const string Python = "/usr/bin/python3";
    private static readonly Lazy<string?> Probe = new(() =>
    {
        if (!File.Exists(Python)) return $"{Python} not found";
        var (code, _, err) = Run("import torch, numpy", []);
        return code == 0 ? null : $"{Python} cannot import torch and numpy: {err.Trim().Split('\n')[^1]}";
    });

    public static string? Unavailable => Probe.Value;

    /// <summary>
    /// A safetensors reader and writer made of struct + json + numpy (Debian has no python3-safetensors): the format by
    /// hand, an 8-byte little-endian header length, the JSON header, then the raw little-endian data.
    /// </summary>
    public const string SafetensorsPy = """
import json, struct, numpy as np, torch
CODES = {'F32': np.float32, 'F64': np.float64, 'I64': np.int64, 'I32': np.int32, 'U8': np.uint8, 'BOOL': np.bool_}
def load(path):
    raw = open(path, 'rb').read(); n = struct.unpack('<Q', raw[:8])[0]
    header = json.loads(raw[8:8 + n]); header.pop('__metadata__', None); data = raw[8 + n:]
    return {k: torch.from_numpy(np.frombuffer(data[v['data_offsets'][0]:v['data_offsets'][1]], CODES[v['dtype']]).reshape(v['shape']).copy()) for k, v in header.items()}
def save(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    if metadata: header['__metadata__'] = metadata
    for k in sorted(tensors):
        a = tensors[k].detach().contiguous().numpy()
        code = {np.dtype('float32'): 'F32', np.dtype('float64'): 'F64', np.dtype('int64'): 'I64'}[a.dtype]
        b = a.tobytes(); header[k] = {'dtype': code, 'shape': list(a.shape), 'data_offsets': [offset, offset + len(b)]}
        blobs.append(b); offset += len(b)
    h = json.dumps(header).encode(); h += b' ' * (-len(h) % 8)
    open(path, 'wb').write(struct.pack('<Q', len(h)) + h + b''.join(blobs))
""";

    /// <summary>Runs the script and returns its stdout; throws with python's stderr unless it exits 0.</summary>
    public static string RunChecked(string script, params string[] args)
    {
        var (code, stdout, stderr) = Run(script, args);
        if (code != 0) throw new InvalidOperationException($"reference script exited {code}:\n{stderr}");
        return stdout;
    }

    public static (int Code, string Out, string Err) Run(string script, string[] args)
    {
        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])["-c", script, .. args]) start.ArgumentList.Add(a);
        start.Environment["OMP_NUM_THREADS"] = "1";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3))) { process.Kill(true); throw new TimeoutException("reference script ran past 3 minutes"); }
        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}
