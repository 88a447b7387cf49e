using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMedical.Catalogs;
using MlNetMedical.Data;
using MlNetMedical.Imaging.Preprocessing;
using MlNetMedical.Models;
using MlNetMedical.Pipeline;
using MlNetMedical.Serialization;
using MlNetMedical.Tests.Trainers;
using Xunit;
using Xunit.Abstractions;

namespace MlNetMedical.Tests.Pipeline;

/// <summary>
/// Bounded fuzzing of the model loader with fixed-seed mutations of real model files the library saves (ML.NET's key mapping, a
/// framework scaler and ML.NET's maximum-entropy trainer in one chain; ML.NET's key mapping with a VectorClassifier MLP; a tiny
/// image CNN with volume columns and a preprocessing chain): at least 2,000 cases, each
/// of which must finish within a time limit (a hang detector, not a speed check), either load or throw
/// <see cref="InvalidDataException"/> naming the file (the loader's one documented error for a bad file), and allocate no
/// more than a small multiple of what the case's file and the seed's entries hold (a lying size must not buy an allocation).
/// Mutations: bytes of the zip (flips, overwrites, truncation, insertion and deletion), extreme values in zip header fields
/// (sizes, offsets, counts, name lengths), manifest JSON edits, zip-level edits (entries dropped, doubled, renamed, added,
/// stored uncompressed), and "re-sealed" edits of the entries themselves with the manifest's hashes recomputed, as someone
/// crafting a file would, so the transformers' loaders (ML.NET's, for the nested ML.NET model zips) see the mutated configs and weights.
/// </summary>
[Collection("Torch")]
public sealed class ModelFileFuzzTests(ITestOutputHelper output)
{
    private const int Seed = 20250517;
    private const int Cases = 2400;
    // Generous: a case that hangs is stuck for good; a slow one on a loaded 2-core machine still finishes far below this.
    private static readonly TimeSpan PerCaseLimit = TimeSpan.FromSeconds(20);
    // Allocation budget of one case: this many times what the seed's entries and the case's file hold, plus a constant.
    private const long AllocationFactor = 8;
    private const long AllocationSlack = 16 << 20;

    private sealed record SeedFile(string Name, byte[] Bytes, long Held);

    private static readonly MLContext Ml = new(seed: 7);

    private static List<SeedFile> Seeds()
    {
        var ml = Ml;
        var seeds = new List<SeedFile>();
        void Add(string name, ITransformer model, DataViewSchema schema, TransformChain? chain = null)
        {
            using var stream = new MemoryStream();
            ml.Model.SaveMedical(model, schema, stream, chain);
            var bytes = stream.ToArray();
            using var zip = new ZipArchive(new MemoryStream(bytes));
            seeds.Add(new(name, bytes, bytes.Length + zip.Entries.Sum(e => e.Length)));
        }
        var rows = ml.Data.LoadFromEnumerable(PatientRow.Make());
        Add("maxent-chain", ml.Transforms.Conversion.MapValueToKey("Label", "Diagnosis")
            .Append(new VectorScalerEstimator("Features", 3f)).Append(ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy()).Fit(rows), rows.Schema);
        Add("mlp", ml.Transforms.Conversion.MapValueToKey("Label", "Diagnosis")
            .Append(ml.MulticlassClassification.Trainers.Mlp([4], training: new MlNetMedical.Training.TrainingOptions { Epochs = 2, BatchSize = 16 })).Fit(rows), rows.Schema);
        var dir = Directory.CreateTempSubdirectory("mlnm-fuzz-").FullName;
        try
        {
            var images = ml.Data.LoadFromManifest(SyntheticImages.WriteManifest(dir, 8, _ => "train"), prefetch: 0);
            Add("image-cnn", ml.MulticlassClassification.Trainers.ImageCnn(EncoderClassifierConfig.PlainCnn(2, 1, 2, depth: 3, baseChannels: 4),
                training: SyntheticImages.Quick(1)).Fit(images), images.Schema, new TransformChain(new ZScore { Mask = "nonzero" }));
        }
        finally { Directory.Delete(dir, recursive: true); }
        return seeds;
    }

    [Fact]
    public void MutatedModelFilesNeverCrashHangOrAllocateBeyondTheirData()
    {
        var seeds = Seeds();
        var rng = new Random(Seed);
        var rejected = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var byStrategy = new SortedDictionary<string, (int Loaded, int Rejected)>(StringComparer.Ordinal);
        int loaded = 0;
        long maxAllocated = 0;
        var bad = new List<string>();
        var clock = Stopwatch.StartNew();
        var loading = new Stopwatch();
        for (int i = 0; i < Cases && bad.Count < 30; i++)
        {
            var seed = seeds[i % seeds.Count];
            int strategy = rng.Next(Strategies.Length);
            byte[] bytes;
            try { bytes = Strategies[strategy](seed.Bytes, rng); }
            catch (Exception e) { throw new InvalidOperationException($"mutation {Strategies[strategy].Method.Name} failed on {seed.Name} case {i}", e); }
            var name = $"fuzz-{seed.Name}-{i}.zip";
            loading.Start();
            var outcome = Run(() => ModelArchive.Load(Ml.Model, new MemoryStream(bytes), name, out _), PerCaseLimit);
            loading.Stop();
            string label = $"{seed.Name} case {i} ({Strategies[strategy].Method.Name})";
            long budget = AllocationFactor * Math.Max(seed.Held, bytes.Length) + AllocationSlack;
            if (outcome.TimedOut) { bad.Add($"{label}: still running after {PerCaseLimit.TotalSeconds} s"); continue; }
            if (outcome.Error is null)
            {
                loaded++;
                var (l, r) = byStrategy.GetValueOrDefault(Strategies[strategy].Method.Name);
                byStrategy[Strategies[strategy].Method.Name] = (l + 1, r);
                Dispose(outcome.Result!);
            }
            else if (outcome.Error is InvalidDataException && outcome.Error.Message.Contains($"model archive '{name}'"))
            {
                var (l, r) = byStrategy.GetValueOrDefault(Strategies[strategy].Method.Name);
                byStrategy[Strategies[strategy].Method.Name] = (l, r + 1);
                var kind = Kind(outcome.Error.Message);
                rejected[kind] = rejected.GetValueOrDefault(kind) + 1;
            }
            else bad.Add($"{label}: {outcome.Error.GetType().Name}: {outcome.Error.Message}\n{outcome.Error.StackTrace}");
            maxAllocated = Math.Max(maxAllocated, outcome.Allocated);
            if (outcome.Allocated > budget) bad.Add($"{label}: allocated {outcome.Allocated:N0} bytes, budget {budget:N0}");
        }
        clock.Stop();
        output.WriteLine($"{loaded + rejected.Values.Sum() + bad.Count} mutated cases from {seeds.Count} seeds ({string.Join(", ", seeds.Select(s => $"{s.Name} {s.Bytes.Length:N0} B"))}) " +
                         $"in {clock.Elapsed.TotalSeconds:F1} s ({loading.Elapsed.TotalSeconds:F1} s loading): {loaded} loaded, {rejected.Values.Sum()} rejected with InvalidDataException, {bad.Count} bad; " +
                         $"largest allocation {maxAllocated:N0} bytes");
        foreach (var (strategyName, (l, r)) in byStrategy) output.WriteLine($"  {strategyName,-16} {l,5} loaded {r,5} rejected");
        output.WriteLine("rejections by kind:");
        foreach (var (kind, count) in rejected.OrderByDescending(k => k.Value)) output.WriteLine($"  {count,5}  {kind}");
        Assert.True(bad.Count == 0, string.Join("\n", bad.Take(30)));
        Assert.True(loaded > 0 && rejected.Count > 5, "the mutations should both keep some files loadable and break others in several ways");
    }

    [Fact]
    public void AVectorClassifierConfigCannotAskForMoreWeightsThanItsBlobHolds()
    {
        var mlp = Seeds().Single(s => s.Name == "mlp").Bytes;
        var huge = UntrustedModelFileTests.Rehash(UntrustedModelFileTests.Rewrite(mlp, (n, d) =>
        {
            if (n != "model/children/1/config.json") return (n, d);
            var config = JsonNode.Parse(d)!;
            config["inputs"] = 1 << 30;
            config["hiddenUnits"] = new JsonArray(1 << 20);
            return (n, Encoding.UTF8.GetBytes(config.ToJsonString()));
        }));
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => ModelArchive.Load(Ml.Model, new MemoryStream(huge), "m.zip", out _));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 16 << 20);
        Assert.Contains("folder 'model/children/1/': config asks for 1,125,902,057,472,002 weights, but weights.safetensors holds", e.Message);
    }

    /// <summary>The message with the file name, numbers and quoted names blanked, so alike rejections count together.</summary>
    private static string Kind(string message)
    {
        var m = System.Text.RegularExpressions.Regex.Replace(message, "model archive '[^']*'", "model archive F");
        m = System.Text.RegularExpressions.Regex.Replace(m, "'[^']*'", "'…'");
        m = System.Text.RegularExpressions.Regex.Replace(m, "[0-9][0-9,.]*", "N");
        return (m.Length > 110 ? m[..110] : m).ReplaceLineEndings(" ");
    }

    /// <summary>Frees the networks' tensors of a loaded model (a chain's stages included).</summary>
    private static void Dispose(ITransformer model)
    {
        if (model is IEnumerable<ITransformer> stages)
            foreach (var stage in stages) Dispose(stage);
        (model as IDisposable)?.Dispose();
    }

    private sealed record Outcome(ITransformer? Result, Exception? Error, long Allocated, bool TimedOut);

    private static Outcome Run(Func<ITransformer> load, TimeSpan limit)
    {
        long allocated = -1;
        var task = Task.Run(() =>
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            try { return load(); }
            finally { allocated = GC.GetAllocatedBytesForCurrentThread() - before; }
        });
        try
        {
            if (!task.Wait(limit)) return new Outcome(null, null, -1, true);
            return new Outcome(task.Result, null, allocated, false);
        }
        catch (AggregateException e) { return new Outcome(null, e.InnerException, allocated, false); }
    }

    private static readonly Func<byte[], Random, byte[]>[] Strategies =
        [FlipBits, OverwriteBytes, Truncate, InsertOrDelete, ZipField, ZipField, ManifestEdit, ManifestEdit, ZipEdit, ResealedJson, ResealedJson, ResealedBlob, ResealedNetwork];

    private static readonly long[] Extremes = [0, 1, 2, 0x7F, 0xFF, 0xFFFF, 0x7FFF_FFFF, 0xFFFF_FFFF, 0x8000_0000, 1 << 20, 30, 46, long.MaxValue, -1];

    private static byte[] FlipBits(byte[] src, Random rng)
    {
        var b = (byte[])src.Clone();
        for (int k = rng.Next(1, 9); k > 0; k--) b[rng.Next(b.Length)] ^= (byte)(1 << rng.Next(8));
        return b;
    }

    private static byte[] OverwriteBytes(byte[] src, Random rng)
    {
        var b = (byte[])src.Clone();
        for (int k = rng.Next(1, 33); k > 0; k--) b[rng.Next(b.Length)] = (byte)rng.Next(256);
        return b;
    }

    private static byte[] Truncate(byte[] src, Random rng) => src[..rng.Next(src.Length)];

    private static byte[] InsertOrDelete(byte[] b, Random rng)
    {
        int at = rng.Next(b.Length), n = rng.Next(1, 64);
        if (rng.Next(2) == 0) return [.. b[..at], .. b[Math.Min(b.Length, at + n)..]];
        var noise = new byte[n];
        rng.NextBytes(noise);
        return [.. b[..at], .. noise, .. b[at..]];
    }

    /// <summary>An extreme value over a field of a local header, central directory header or the end-of-central-directory record.</summary>
    private static byte[] ZipField(byte[] src, Random rng)
    {
        var b = (byte[])src.Clone();
        var fields = new List<(int Offset, int Size)>();
        for (int at = 0; at + 4 <= b.Length; at++)
            switch (BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(at)))
            {
                case 0x04034b50 when at + 30 <= b.Length: // local: method, crc, sizes, name and extra lengths
                    fields.AddRange([(at + 8, 2), (at + 14, 4), (at + 18, 4), (at + 22, 4), (at + 26, 2), (at + 28, 2)]);
                    break;
                case 0x02014b50 when at + 46 <= b.Length: // central: method, crc, sizes, lengths, disk, offset
                    fields.AddRange([(at + 10, 2), (at + 16, 4), (at + 20, 4), (at + 24, 4), (at + 28, 2), (at + 30, 2), (at + 32, 2), (at + 34, 2), (at + 42, 4)]);
                    break;
                case 0x06054b50 when at + 22 <= b.Length: // end of central directory: disks, counts, size, offset, comment length
                    fields.AddRange([(at + 4, 2), (at + 8, 2), (at + 10, 2), (at + 12, 4), (at + 16, 4), (at + 20, 2)]);
                    break;
            }
        Span<byte> v = stackalloc byte[8];
        for (int k = rng.Next(1, 3); k > 0 && fields.Count > 0; k--)
        {
            var (offset, size) = fields[rng.Next(fields.Count)];
            long value = rng.Next(3) == 0 ? rng.Next(-3, 1 << rng.Next(1, 20)) : Extremes[rng.Next(Extremes.Length)];
            BinaryPrimitives.WriteInt64LittleEndian(v, value);
            v[..size].CopyTo(b.AsSpan(offset));
        }
        return b;
    }

    private static readonly string[] JsonValues =
    [
        "null", "0", "-1", "1", "2", "2147483647", "-2147483648", "9223372036854775807", "1e308", "-1e308", "0.5", "\"\"", "\"x\"", "true", "[]", "{}",
        "[null]", "[\"a\",\"a\"]", "[-1]", "[2147483647]", "\"../../etc/passwd\"", "\"model/../x\"", "\"manifest.json\"", "\"TransformerChain\"", "\"Tests.VectorScaler\"", "\"MlNet\"",
        "\"System.Diagnostics.Process, System.Diagnostics.Process\"", "\"MlNetMedical.Imaging.Volume, MlNetMedical.Imaging\"", "\"ImageVolume\"", "\"Vector\"", "\"Key\"",
        "\"mlnm-model\"", "\"Single\"", "\"classification\"", "\"segmentation\"", "\"0000\"", "{\"version\":1,\"transforms\":[{\"type\":\"zscore\"}]}",
    ];

    /// <summary>One random change to a JSON document: a value replaced, a property or element removed, an element doubled.</summary>
    private static byte[] MutateJson(byte[] json, Random rng)
    {
        JsonNode? root;
        try { root = JsonNode.Parse(json); }
        catch (System.Text.Json.JsonException) { return FlipBits(json, rng); }
        if (root is null) return json;
        var nodes = new List<JsonNode>();
        void Walk(JsonNode? n)
        {
            if (n is null) return;
            nodes.Add(n);
            if (n is JsonObject o) foreach (var (_, v) in o) Walk(v);
            else if (n is JsonArray a) foreach (var v in a) Walk(v);
        }
        Walk(root);
        for (int k = rng.Next(1, 3); k > 0; k--)
        {
            var node = nodes[rng.Next(nodes.Count)];
            var parent = node.Parent;
            if (parent is null) continue;
            int action = rng.Next(5);
            if (parent is JsonObject po)
            {
                var key = node.GetPropertyName();
                if (action == 0) po.Remove(key);
                else po[key] = JsonNode.Parse(JsonValues[rng.Next(JsonValues.Length)]);
            }
            else if (parent is JsonArray pa)
            {
                int index = node.GetElementIndex();
                if (action == 0) pa.RemoveAt(index);
                else if (action == 1) pa.Add(node.DeepClone());
                else pa[index] = JsonNode.Parse(JsonValues[rng.Next(JsonValues.Length)]);
            }
            nodes.Clear();
            Walk(root);
        }
        return Encoding.UTF8.GetBytes(root.ToJsonString());
    }

    private static byte[] ManifestEdit(byte[] src, Random rng) =>
        UntrustedModelFileTests.Rewrite(src, (n, d) => n == ModelArchive.ManifestEntry ? (n, MutateJson(d, rng)) : (n, d));

    private static List<string> Names(byte[] zip)
    {
        using var archive = new ZipArchive(new MemoryStream(zip));
        return archive.Entries.Select(e => e.FullName).ToList();
    }

    /// <summary>Entries dropped, doubled, renamed, added, or all stored uncompressed (which must still load).</summary>
    private static byte[] ZipEdit(byte[] src, Random rng)
    {
        var names = Names(src);
        var pick = names[rng.Next(names.Count)];
        switch (rng.Next(6))
        {
            case 0: return UntrustedModelFileTests.Rewrite(src, (n, d) => n == pick ? null : (n, d));
            case 1: return UntrustedModelFileTests.Rewrite(src, (n, d) => (n, d), (pick, new byte[rng.Next(64)]));
            case 2:
                var renamed = new[] { "model/x", "model/", "model//a", "Manifest.json", "model/children/0/../0/config.json", pick + "/", "model/children/9/transformer.json" }[rng.Next(7)];
                return UntrustedModelFileTests.Rewrite(src, (n, d) => n == pick ? (renamed, d) : (n, d));
            case 3: return UntrustedModelFileTests.Rewrite(src, (n, d) => (n, d), ("model/", []));
            case 4:
            {
                using var output = new MemoryStream();
                using (var source = new ZipArchive(new MemoryStream(src)))
                using (var target = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
                    foreach (var entry in source.Entries)
                    {
                        using var s = entry.Open();
                        using var w = target.CreateEntry(entry.FullName, CompressionLevel.NoCompression).Open();
                        s.CopyTo(w);
                    }
                return output.ToArray();
            }
            default: return UntrustedModelFileTests.Rewrite(src, (n, d) => n == pick ? (n, d[..rng.Next(d.Length + 1)]) : (n, d));
        }
    }

    /// <summary>A transformer.json or config.json changed and the manifest's hashes recomputed: the loaders see the change.</summary>
    private static byte[] ResealedJson(byte[] src, Random rng)
    {
        var names = Names(src).Where(n => n.EndsWith(".json", StringComparison.Ordinal) && n != ModelArchive.ManifestEntry).ToList();
        var pick = names[rng.Next(names.Count)];
        return UntrustedModelFileTests.Rehash(UntrustedModelFileTests.Rewrite(src, (n, d) => n == pick ? (n, MutateJson(d, rng)) : (n, d)));
    }

    /// <summary>An image network's config (the JSON inside its config.json: widths, depth, levels, ...) changed and resealed,
    /// so the network is built from it: the weight cap must refuse what the weights file cannot back.</summary>
    private static byte[] ResealedNetwork(byte[] src, Random rng)
    {
        bool changed = false;
        var result = UntrustedModelFileTests.Rehash(UntrustedModelFileTests.Rewrite(src, (n, d) =>
        {
            if (!n.EndsWith("config.json", StringComparison.Ordinal)) return (n, d);
            var config = JsonNode.Parse(d);
            if (config?["network"]?.GetValue<string>() is not { } network) return (n, d);
            config["network"] = Encoding.UTF8.GetString(MutateJson(Encoding.UTF8.GetBytes(network), rng));
            changed = true;
            return (n, Encoding.UTF8.GetBytes(config.ToJsonString()));
        }));
        return changed ? result : ResealedJson(src, rng);
    }

    /// <summary>A weights blob changed (bits, bytes of its header, truncation) and the manifest's hashes recomputed.</summary>
    private static byte[] ResealedBlob(byte[] src, Random rng)
    {
        var names = Names(src).Where(n => n.Contains("/blobs/", StringComparison.Ordinal)).ToList();
        var pick = names[rng.Next(names.Count)];
        return UntrustedModelFileTests.Rehash(UntrustedModelFileTests.Rewrite(src, (n, d) =>
        {
            if (n != pick || d.Length == 0) return (n, d);
            switch (rng.Next(4))
            {
                case 0: return (n, d[..rng.Next(d.Length)]);
                case 1:
                    var header = (byte[])d.Clone();   // safetensors: an 8-byte header length, then the JSON header
                    for (int k = rng.Next(1, 5); k > 0; k--) header[rng.Next(Math.Min(d.Length, 200))] = (byte)rng.Next(256);
                    return (n, header);
                case 2:
                    var length = (byte[])d.Clone();
                    if (length.Length >= 8) BinaryPrimitives.WriteInt64LittleEndian(length, Extremes[rng.Next(Extremes.Length)]);
                    return (n, length);
                default: return (n, FlipBits(d, rng));
            }
        }));
    }
}
