using System.Buffers.Binary;
using System.Text;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace MlNetMedical.Models.Tests.Engine;

/// <summary>Models' own safetensors reader and writer: round trips, atomic saves, strict rejection of malformed files.</summary>
public sealed class SafetensorsTests
{
    private static string TempPath() => Path.Combine(Path.GetTempPath(), "mlnm-st-" + Guid.NewGuid().ToString("N") + ".safetensors");

    private static byte[] File(string header, int dataBytes)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)h.Length);
        h.CopyTo(bytes, 8);
        return bytes;
    }

    [Fact]
    public void RoundTripsDtypesShapesAndMetadata()
    {
        var path = TempPath();
        try
        {
            using var a = torch.tensor(new float[] { 1.5f, -2, 3, 4, 5, 6 }, [2, 3]);
            using var b = torch.tensor(new long[] { 7, -8 });
            using var c = torch.tensor(new double[] { Math.PI });
            using var d = torch.tensor(new byte[] { 1, 2, 3, 4 }, [2, 1, 2]);
            using var e = torch.zeros([0, 3]);
            using var f = torch.tensor(new[] { true, false, true });
            using var g = torch.tensor(new float[] { 1, 2, 3, 4, 5, 6 }, [2, 3]).t(); // not contiguous: written row-major
            Safetensors.Save(path, new Dictionary<string, Tensor> { ["w.a"] = a, ["b"] = b, ["c"] = c, ["d"] = d, ["empty"] = e, ["f"] = f, ["g"] = g },
                new Dictionary<string, string> { ["format"] = "pt" });
            var loaded = Safetensors.Load(path, out var meta);
            try
            {
                Assert.Equal("pt", meta["format"]);
                Assert.Equal(new[] { "b", "c", "d", "empty", "f", "g", "w.a" }, loaded.Keys.OrderBy(k => k, StringComparer.Ordinal));
                Assert.Equal(new long[] { 2, 3 }, loaded["w.a"].shape);
                Assert.Equal(a.data<float>().ToArray(), loaded["w.a"].data<float>().ToArray());
                Assert.Equal(new long[] { 7, -8 }, loaded["b"].data<long>().ToArray());
                Assert.Equal(Math.PI, loaded["c"].data<double>()[0]);
                Assert.Equal(ScalarType.Byte, loaded["d"].dtype);
                Assert.Equal(new byte[] { 1, 2, 3, 4 }, loaded["d"].data<byte>().ToArray());
                Assert.Equal(new long[] { 2, 1, 2 }, loaded["d"].shape);
                Assert.Equal(new long[] { 0, 3 }, loaded["empty"].shape);
                Assert.Equal(new[] { true, false, true }, loaded["f"].data<bool>().ToArray());
                Assert.Equal(new long[] { 3, 2 }, loaded["g"].shape);
                Assert.Equal(new float[] { 1, 4, 2, 5, 3, 6 }, loaded["g"].data<float>().ToArray());
                var header = Safetensors.ReadHeader(path);
                Assert.Equal(0, header.DataStart % 8);
            }
            finally { foreach (var t in loaded.Values) t.Dispose(); }
        }
        finally { System.IO.File.Delete(path); }
    }

    [Fact]
    public void SaveReplacesAtomicallyAndLeavesNoTempFiles()
    {
        var dir = Directory.CreateTempSubdirectory("mlnm-st-");
        try
        {
            var path = Path.Combine(dir.FullName, "w.safetensors");
            using var a = torch.tensor(new float[] { 1 });
            Safetensors.Save(path, new Dictionary<string, Tensor> { ["a"] = a });
            Safetensors.Save(path, new Dictionary<string, Tensor> { ["b"] = a });
            Assert.Equal(new[] { "w.safetensors" }, dir.GetFiles().Select(f => f.Name));
            Assert.Equal("b", Safetensors.ReadHeader(path).Entries.Single().Name);
            // A failing write (reserved name) leaves the previous file intact and no temp file behind.
            Assert.Throws<ArgumentException>(() => Safetensors.Save(path, new Dictionary<string, Tensor> { ["__metadata__"] = a }));
            Assert.Equal(new[] { "w.safetensors" }, dir.GetFiles().Select(f => f.Name));
            Assert.Equal("b", Safetensors.ReadHeader(path).Entries.Single().Name);
        }
        finally { dir.Delete(true); }
    }

    [Theory]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, "beyond the data section")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 12, "overlap")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "gap")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, "cover only 4")]
    [InlineData("{\"a\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "unknown or unsupported dtype 'Q7'")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "needs 12 bytes")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4],\"data_offsets\":[0,8]}}", 8, "overflows")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "non-negative")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "more than once")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "missing field")]
    [InlineData("{\"__metadata__\":{\"k\":1}}", 0, "must be a string")]
    [InlineData("[1,2]", 0, "must be a JSON object")]
    [InlineData("{\"a\":", 0, "not valid UTF-8 JSON")]
    public void RejectsMalformedHeadersWithClearMessages(string header, int dataBytes, string expected)
    {
        var e = Assert.Throws<SafetensorsFormatException>(() => Safetensors.ReadHeader(File(header, dataBytes)));
        Assert.Contains(expected, e.Message);
        Assert.Equal("<memory>", e.FileName);
    }

    [Fact]
    public void RejectsHeaderLengthBeyondFile()
    {
        var bytes = File("{}", 0);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 1000);
        Assert.Contains("beyond the end of the file", Assert.Throws<SafetensorsFormatException>(() => Safetensors.ReadHeader(bytes)).Message);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, ulong.MaxValue);
        Assert.Contains("exceeds the limit", Assert.Throws<SafetensorsFormatException>(() => Safetensors.ReadHeader(bytes)).Message);
        Assert.Contains("fewer than the 8-byte", Assert.Throws<SafetensorsFormatException>(() => Safetensors.ReadHeader(new byte[5])).Message);
    }

    [Fact]
    public void FuzzedHeadersAlwaysFailWithFormatException()
    {
        var rng = new Random(20261121);
        const string valid = "{\"__metadata__\":{\"format\":\"pt\"},\"a.w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},\"b\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[16,24]}}";
        Assert.Equal(2, Safetensors.ReadHeader(File(valid, 24)).Entries.Count);
        string[] dtypes = ["F32", "I64", "Q8", "f32", "", "U64", "F8_E4M3"];
        int malformed = 0, mutatedValid = 0;
        for (int i = 0; i < 1500; i++)
        {
            byte[] bytes;
            bool mustFail = true;
            switch (rng.Next(8))
            {
                case 0: // random garbage header
                    var junk = new byte[rng.Next(1, 64)];
                    rng.NextBytes(junk);
                    junk[0] = (byte)"[x1\"t@ "[rng.Next(7)];
                    bytes = File(Encoding.Latin1.GetString(junk), rng.Next(0, 32));
                    break;
                case 1: // truncated header text
                    bytes = File(valid[..rng.Next(0, valid.Length - 1)], 24);
                    break;
                case 2: // wrong header length field
                    bytes = File(valid, 24);
                    var n = (ulong)(valid.Length + rng.Next(1, 10_000)) * (rng.Next(2) == 0 ? 1UL : 1UL << rng.Next(20, 63));
                    BinaryPrimitives.WriteUInt64LittleEndian(bytes, n);
                    break;
                case 3: // random dtype / shape / offsets in a single-tensor header
                    var dt = dtypes[rng.Next(dtypes.Length)];
                    var shape = string.Join(",", Enumerable.Range(0, rng.Next(0, 4)).Select(_ => rng.Next(-2, 5) * (rng.Next(10) == 0 ? 1L << 40 : 1)));
                    long b0 = rng.Next(-1, 10), b1 = rng.Next(-1, 40);
                    var h = $"{{\"t\":{{\"dtype\":\"{dt}\",\"shape\":[{shape}],\"data_offsets\":[{b0},{b1}]}}}}";
                    bytes = File(h, rng.Next(0, 40));
                    mustFail = false; // a random draw can be valid; it is then loaded to show it is usable
                    break;
                case 4: // data section shortened or lengthened
                    var delta = rng.Next(1, 9) * (rng.Next(2) == 0 ? -1 : 1);
                    bytes = File(valid, 24 + delta);
                    break;
                case 5: // structural type confusion
                    string[] variants =
                    [
                        "{\"a\":1}", "{\"a\":[]}", "{\"a\":{\"dtype\":3,\"shape\":[],\"data_offsets\":[0,0]}}",
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":{},\"data_offsets\":[0,4]}}",
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}",
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}",
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}",
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"extra\":1}}",
                        "{\"__metadata__\":[]}", "{\"__metadata__\":{\"a\":null}}", "null", "\"s\"", "{\"\":{}}",
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,99999999999999999999]}}",
                    ];
                    bytes = File(variants[rng.Next(variants.Length)], rng.Next(0, 8));
                    break;
                case 6: // deep nesting
                    var depth = rng.Next(9, 200);
                    bytes = File("{\"a\":" + new string('[', depth) + new string(']', depth) + "}", 0);
                    break;
                default: // single byte flipped inside the JSON: may or may not stay valid
                    bytes = File(valid, 24);
                    bytes[8 + rng.Next(valid.Length)] ^= (byte)(1 << rng.Next(8));
                    mustFail = false;
                    break;
            }
            try
            {
                var header = Safetensors.ReadHeader(bytes);
                Assert.False(mustFail, $"case {i} should have failed: {Encoding.Latin1.GetString(bytes, 8, Math.Max(0, bytes.Length - 8))}");
                using var s = new MemoryStream(bytes);
                foreach (var t in Safetensors.Load(s, "<memory>", out _).Values) t.Dispose();
                mutatedValid++;
            }
            catch (SafetensorsFormatException)
            {
                malformed++;
            }
        }
        Assert.True(malformed >= 1000, $"only {malformed} malformed cases were generated");
        Assert.Equal(1500, malformed + mutatedValid);
    }

    [TorchPythonFact]
    public void PythonReadsOurFileAndWeReadPythons()
    {
        var dir = Directory.CreateTempSubdirectory("mlnm-st-py-");
        try
        {
            var ours = Path.Combine(dir.FullName, "ours.safetensors");
            var theirs = Path.Combine(dir.FullName, "theirs.safetensors");
            using var a = torch.tensor(new float[] { 1, 2, 3, 4, 5, 6 }, [3, 2]);
            using var b = torch.tensor(new long[] { -1, 1L << 40 });
            Safetensors.Save(ours, new Dictionary<string, Tensor> { ["enc.w"] = a, ["n"] = b }, new Dictionary<string, string> { ["k"] = "v" });
            // An independent reader/writer built from struct + json + numpy only.
            const string script = """
import json, struct, sys, numpy as np
codes = {'F32': '<f4', 'I64': '<i8', 'F64': '<f8'}
def read(p):
    raw = open(p, 'rb').read()
    n = struct.unpack('<Q', raw[:8])[0]
    h = json.loads(raw[8:8 + n])
    meta = h.pop('__metadata__', {})
    data = raw[8 + n:]
    return meta, {k: np.frombuffer(data[v['data_offsets'][0]:v['data_offsets'][1]], codes[v['dtype']]).reshape(v['shape']) for k, v in h.items()}
meta, t = read(sys.argv[1])
assert meta == {'k': 'v'}, meta
assert t['enc.w'].tolist() == [[1, 2], [3, 4], [5, 6]], t['enc.w']
assert t['n'].tolist() == [-1, 1 << 40]
x = np.arange(12, dtype='<f8').reshape(2, 3, 2) / 7
y = np.array([[True, False]], dtype=bool)
hdr = {'x': {'dtype': 'F64', 'shape': [2, 3, 2], 'data_offsets': [0, 96]}, 'y': {'dtype': 'BOOL', 'shape': [1, 2], 'data_offsets': [96, 98]}}
hb = json.dumps(hdr).encode()
open(sys.argv[2], 'wb').write(struct.pack('<Q', len(hb)) + hb + x.tobytes() + y.tobytes())
print('ok')
""";
            Assert.Contains("ok", PythonReference.RunChecked(script, ours, theirs));
            var loaded = Safetensors.Load(theirs);
            try
            {
                Assert.Equal(Enumerable.Range(0, 12).Select(i => i / 7.0), loaded["x"].data<double>().ToArray());
                Assert.Equal(new long[] { 2, 3, 2 }, loaded["x"].shape);
                Assert.Equal(new[] { true, false }, loaded["y"].data<bool>().ToArray());
            }
            finally { foreach (var t in loaded.Values) t.Dispose(); }
        }
        finally { dir.Delete(true); }
    }
}
