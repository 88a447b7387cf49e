using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMedical.Catalogs;
using MlNetMedical.Data;
using MlNetMedical.Pipeline;
using MlNetMedical.Serialization;
using Xunit;

namespace MlNetMedical.Tests.Pipeline;

/// <summary>
/// A model file is untrusted input: limits checked from the zip's central directory before anything is decompressed, bounded
/// reads, hashes verified before any loader sees the bytes, and column types from an allow-list, never resolved by reflection.
/// </summary>
public class UntrustedModelFileTests
{
    private readonly MLContext _ml = new(seed: 4);
    private const string Factor = ModelArchiveTests.Factor;
    private const string MlNetZip = "model/children/2/blobs/mlnet.zip";

    internal static byte[] SavedBytes(MLContext ml, DataViewSchema? schema = null)
    {
        var (model, data) = ModelArchiveTests.Trained(ml);
        using var stream = new MemoryStream();
        ml.Model.SaveMedical(model, schema ?? data.Schema, stream);
        return stream.ToArray();
    }

    private byte[] SavedBytes() => SavedBytes(_ml);

    private InvalidDataException LoadError(byte[] archive, ModelFileLimits? limits = null) =>
        Assert.Throws<InvalidDataException>(() => ModelArchive.Load(_ml.Model, new MemoryStream(archive), "m.zip", out _, limits));

    /// <summary>The offset of <paramref name="entry"/>'s central directory header.</summary>
    internal static int CentralHeader(byte[] zip, string entry)
    {
        for (var at = zip.Length - 46; at >= 0; at--)
            if (BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(at)) == 0x02014b50)
            {
                int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(zip.AsSpan(at + 28));
                if (at + 46 + nameLength <= zip.Length && Encoding.UTF8.GetString(zip, at + 46, nameLength) == entry) return at;
            }
        throw new ArgumentException($"no central directory header for {entry}");
    }

    /// <summary>The offset of <paramref name="entry"/>'s compressed data (after its local header).</summary>
    private static int DataOffset(byte[] zip, string entry)
    {
        var local = (int)BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(CentralHeader(zip, entry) + 42));
        return local + 30 + BinaryPrimitives.ReadUInt16LittleEndian(zip.AsSpan(local + 26)) + BinaryPrimitives.ReadUInt16LittleEndian(zip.AsSpan(local + 28));
    }

    /// <summary>A copy of <paramref name="zip"/> whose central directory declares <paramref name="length"/> bytes for <paramref name="entry"/>.</summary>
    private static byte[] DeclareLength(byte[] zip, string entry, uint length)
    {
        var copy = (byte[])zip.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(CentralHeader(copy, entry) + 24), length);
        return copy;
    }

    internal static byte[] Rewrite(byte[] archive, Func<string, byte[], (string Name, byte[] Data)?> change, params (string Name, byte[] Data)[] extra)
    {
        using var output = new MemoryStream();
        using (var source = new ZipArchive(new MemoryStream(archive)))
        using (var target = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var entry in source.Entries)
            {
                using var s = entry.Open();
                using var copy = new MemoryStream();
                s.CopyTo(copy);
                if (change(entry.FullName, copy.ToArray()) is not { } kept) continue;
                using var w = target.CreateEntry(kept.Name).Open();
                w.Write(kept.Data);
            }
            foreach (var (name, data) in extra)
            {
                using var w = target.CreateEntry(name).Open();
                w.Write(data);
            }
        }
        return output.ToArray();
    }

    private static byte[] EditManifest(byte[] archive, Action<JsonNode> edit) => Rewrite(archive, (n, d) =>
    {
        if (n != ModelArchive.ManifestEntry) return (n, d);
        var manifest = JsonNode.Parse(d)!;
        edit(manifest);
        return (n, Encoding.UTF8.GetBytes(manifest.ToJsonString()));
    });

    [Fact]
    public void DefaultsAreDocumentedValues()
    {
        var d = ModelFileLimits.Default;
        Assert.Equal((4096, 1L << 30, 2L << 30, 16L << 20), (d.MaxEntries, d.MaxEntryBytes, d.MaxTotalBytes, d.MaxManifestBytes));
        Assert.Throws<ArgumentOutOfRangeException>(() => ModelArchive.Load(_ml.Model, new MemoryStream(SavedBytes()), "m.zip", out _, new ModelFileLimits(MaxEntries: 0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ml.Model.LoadMedical(new MemoryStream(SavedBytes()), out _, new ModelFileLimits(MaxEntryBytes: (long)Array.MaxLength + 1)));
    }

    [Fact]
    public void OversizedEntryIsRejectedFromTheCentralDirectoryBeforeDecompressing()
    {
        // The central directory claims ~2 GiB for the factor and its compressed bytes are garbage: a loader that
        // decompressed first would fail on the garbage (or allocate); this one must refuse from the declared size alone.
        var zip = DeclareLength(SavedBytes(), Factor, 0x7FFF_FFF0);
        var data = DataOffset(zip, Factor);
        for (var i = 0; i < 4; i++) zip[data + i] = 0xFF;
        var message = LoadError(zip).Message;
        Assert.Contains($"model archive 'm.zip': entry '{Factor}' declares 2,147,483,632 bytes, more than the limit of 1,073,741,824 (ModelFileLimits.MaxEntryBytes)", message);

        // A real entry over a small limit passed in, the manifest's own limit, and the total.
        Assert.Contains("more than the limit of 16 (ModelFileLimits.MaxEntryBytes)", LoadError(SavedBytes(), new ModelFileLimits(MaxEntryBytes: 16)).Message);
        Assert.Contains("entry 'manifest.json' declares", LoadError(SavedBytes(), new ModelFileLimits(MaxManifestBytes: 100)).Message);
        Assert.Contains("more than 200 bytes in all (ModelFileLimits.MaxTotalBytes)", LoadError(SavedBytes(), new ModelFileLimits(MaxTotalBytes: 200)).Message);
    }

    [Fact]
    public void TooManyEntriesAreRejected()
    {
        var padding = Enumerable.Range(0, ModelFileLimits.DefaultMaxEntries).Select(i => ($"model/pad/{i}", Array.Empty<byte>())).ToArray();
        var message = LoadError(Rewrite(SavedBytes(), (n, d) => (n, d), padding)).Message;
        Assert.Contains("more than the limit of 4,096 (ModelFileLimits.MaxEntries)", message);
        Assert.Contains("more than the limit of 5 (ModelFileLimits.MaxEntries)", LoadError(SavedBytes(), new ModelFileLimits(MaxEntries: 5)).Message);
    }

    [Fact]
    public void ALyingCentralDirectoryBuysNoAllocation()
    {
        // Manifest and central directory agree on 500 MB for an entry that holds 4 bytes: the bounded read stops at the data.
        const uint claimed = 500_000_000;
        var zip = DeclareLength(EditManifest(SavedBytes(), m =>
        {
            foreach (var e in m["entries"]!.AsArray())
                if (e!["path"]!.GetValue<string>() == Factor) e["length"] = claimed;
        }), Factor, claimed);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var message = LoadError(zip).Message;
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains($"entry '{Factor}'", message);
        Assert.True(allocated < 16 << 20, $"allocated {allocated:N0} bytes for a 500 MB claim");
    }

    private static byte[] Entry(byte[] zip, string name)
    {
        using var archive = new ZipArchive(new MemoryStream(zip));
        using var s = archive.GetEntry(name)!.Open();
        using var m = new MemoryStream();
        s.CopyTo(m);
        return m.ToArray();
    }

    /// <summary>The file with its nested ML.NET zip replaced, resealed (manifest hashes recomputed) as someone crafting a file would.</summary>
    private static byte[] WithNestedZip(byte[] archive, Func<byte[], byte[]> change) =>
        Rehash(Rewrite(archive, (n, d) => n == MlNetZip ? (n, change(d)) : (n, d)));

    [Fact]
    public void NestedMLNetZipsCountAgainstTheLimitsAndAreCheckedBeforeMLNetReadsThem()
    {
        var bytes = SavedBytes();
        int outerEntries;
        long outerBytes;
        using (var zip = new ZipArchive(new MemoryStream(bytes)))
            (outerEntries, outerBytes) = (zip.Entries.Count, zip.Entries.Sum(e => e.Length));
        // The outer file alone is within these limits; its nested zips' entries push it over.
        var entries = LoadError(bytes, new ModelFileLimits(MaxEntries: outerEntries + 1)).Message;
        Assert.Contains("model archive 'm.zip', entry 'model/children/0/blobs/mlnet.zip': with its", entries);
        Assert.Contains($"more than the limit of {outerEntries + 1:N0} (ModelFileLimits.MaxEntries)", entries);
        var total = LoadError(bytes, new ModelFileLimits(MaxTotalBytes: outerBytes + 1)).Message;
        Assert.Contains("the model file declares more than", total);
        Assert.Contains("(ModelFileLimits.MaxTotalBytes)", total);

        // A nested entry outside its root, and one whose size lies, never reach ML.NET.
        var evil = WithNestedZip(bytes, z => Rewrite(z, (n, d) => (n, d), ("../evil", [1])));
        Assert.Contains($"entry '{MlNetZip}' has entry '../evil' outside its root", LoadError(evil).Message);
        var nestedName = new ZipArchive(new MemoryStream(Entry(bytes, MlNetZip))).Entries.First(e => e.Length > 0).FullName;
        var lying = WithNestedZip(bytes, z => DeclareLength(z, nestedName, 500_000_000));
        long before = GC.GetAllocatedBytesForCurrentThread();
        var message = LoadError(lying).Message;
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 16 << 20);
        Assert.Contains($"entry '{MlNetZip}'", message);
        Assert.Contains("500,000,000", message);
        // A well-formed zip that ML.NET cannot load is named with ML.NET's reason.
        var empty = WithNestedZip(bytes, _ =>
        {
            using var m = new MemoryStream();
            using (var z = new ZipArchive(m, ZipArchiveMode.Create, leaveOpen: true)) z.CreateEntry("Readme.txt");
            return m.ToArray();
        });
        Assert.Contains($"entry '{MlNetZip}': ML.NET cannot load it", LoadError(empty).Message);
    }

    [Fact]
    public void LengthAndHashAreCheckedAgainstTheManifestBeforeAnyLoader()
    {
        // Lengths are compared from the central directory, before decompressing.
        var longer = Rewrite(SavedBytes(), (n, d) => n == Factor ? (n, [.. d, 0, 0, 0, 0]) : (n, d));
        Assert.Contains($"entry '{Factor}' does not match its manifest (the zip declares 8 bytes, the manifest 4)", LoadError(longer).Message);
        // Same length, other bytes: the hash; the VectorScaler loader would have accepted this float.
        var flipped = Rewrite(SavedBytes(), (n, d) =>
        {
            if (n == Factor) d[3] ^= 0x40;
            return (n, d);
        });
        Assert.Contains($"entry '{Factor}' does not match its manifest (SHA-256 differs)", LoadError(flipped).Message);
    }

    [Fact]
    public void EntriesAndManifestMustListTheSameFiles()
    {
        Assert.Contains("has entry 'model/extra.bin' that its manifest does not list", LoadError(Rewrite(SavedBytes(), (n, d) => (n, d), ("model/extra.bin", [0]))).Message);
        Assert.Contains($"manifest lists '{Factor}' but the archive lacks it", LoadError(Rewrite(SavedBytes(), (n, d) => n == Factor ? null : (n, d))).Message);
        Assert.Contains($"has entry '{Factor}' twice", LoadError(Rewrite(SavedBytes(), (n, d) => (n, d), (Factor, new byte[16]))).Message);
        Assert.Contains("has an entry without a path", LoadError(EditManifest(SavedBytes(), m => m["entries"]!.AsArray().Add(null))).Message);
    }

    [Fact]
    public void TruncatedOrCutFilesAreInvalidDataNamingTheFile()
    {
        var bytes = SavedBytes();
        var cuts = Enumerable.Range(0, 40).Select(i => bytes.Length * i / 40).Append(bytes.Length - 1).Append(bytes.Length - 22);
        foreach (var cut in cuts)
            Assert.Contains("model archive 'm.zip'", LoadError(bytes[..cut]).Message);
        // A run cut out of the middle keeps the central directory (its offsets now point at the wrong bytes).
        foreach (var at in new[] { 10, 100, bytes.Length / 3, bytes.Length / 2 })
            Assert.Contains("model archive 'm.zip'", LoadError([.. bytes[..at], .. bytes[(at + 7)..]]).Message);
    }

    public sealed class ScanStub { }

    [Fact]
    public void VolumeTypeNamesComeFromAnAllowListNotReflection()
    {
        // A type that exists and Type.GetType would resolve, but is no volume type of ours.
        var planted = EditManifest(SavedBytes(), m => m["inputSchema"]!.AsArray().Add(JsonNode.Parse(
            """{"name":"Image","type":{"kind":"ImageVolume","clrType":"System.Diagnostics.Process, System.Diagnostics.Process"}}""")));
        var message = LoadError(planted).Message;
        Assert.Contains("column 'Image': volume type 'System.Diagnostics.Process, System.Diagnostics.Process' is not allowed", message);
        Assert.Contains("'MlNetMedical.Imaging.Volume'", message);
        Assert.Contains("VolumeTypes.Register<T>()", message);

        // The library's own types load; a user's own type loads once registered.
        var builder = new DataViewSchema.Builder();
        builder.AddColumn("Image", new VolumeDataViewType(VolumeKind.Image, typeof(Imaging.Volume)));
        builder.AddColumn("Mask", new VolumeDataViewType(VolumeKind.Mask, typeof(LabelMap)));
        builder.AddColumn("Scan", new VolumeDataViewType(VolumeKind.Image, typeof(ScanStub)));
        var ours = builder.ToSchema();
        var saved = SavedBytes(_ml, ours);
        if (VolumeTypes.Find(typeof(ScanStub).FullName!) is null)
        {
            var unknown = LoadError(saved).Message;
            Assert.Contains($"volume type '{typeof(ScanStub).FullName}' is not allowed", unknown);
            Assert.Contains("VolumeTypes.Register", unknown);
        }
        VolumeTypes.Register<ScanStub>();
        ModelArchive.Load(_ml.Model, new MemoryStream(saved), "m.zip", out var schema);
        Assert.Equal(ours.Select(c => c.Type), schema!.Select(c => c.Type));
    }

    [Fact]
    public void TransformerHeadersNeedANameAndAVersionFromOne()
    {
        byte[] Header(string json) => UntrustedModelFileTests.Rehash(Rewrite(SavedBytes(), (n, d) =>
            n == "model/children/1/transformer.json" ? (n, Encoding.UTF8.GetBytes(json)) : (n, d)));
        Assert.Contains("folder 'model/children/1/': transformer.json has config version 0; versions start at 1", LoadError(Header("""{"type":"Tests.VectorScaler","version":0}""")).Message);
        Assert.Contains("transformer.json names no transformer type", LoadError(Header("""{"type":"","version":1}""")).Message);
        Assert.Contains("transformer.json is not valid JSON: JSON deserialization for type 'MlNetMedical.Serialization.TransformerHeader' was missing required properties including: 'type'",
            LoadError(Header("""{"version":1}""")).Message);
        Assert.Contains("unknown transformer type 'Nope'", LoadError(Header("""{"type":"Nope","version":1}""")).Message);
    }

    [Fact]
    public void AChainCountFromTheFileSizesNothing()
    {
        var huge = Rehash(Rewrite(SavedBytes(), (n, d) => n == "model/config.json" ? (n, """{"segments":2147483647,"stages":2147483647}"""u8.ToArray()) : (n, d)));
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Contains("folder 'model/children/3/': missing transformer.json", LoadError(huge).Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 16 << 20);
    }

    [Fact]
    public void ANullOrMissingConfigValueIsAClearError()
    {
        byte[] Config(string json) => Rehash(Rewrite(SavedBytes(), (n, d) => n == "model/children/1/config.json" ? (n, Encoding.UTF8.GetBytes(json)) : (n, d)));
        Assert.Contains("folder 'model/children/1/': config is not a valid Config", LoadError(Config("""{"column":null}""")).Message);
        Assert.Contains("missing required properties including: 'column'", LoadError(Config("""{}""")).Message);
    }

    /// <summary>Recomputes the manifest's lengths and hashes, as someone crafting a file would.</summary>
    internal static byte[] Rehash(byte[] archive)
    {
        var entries = new Dictionary<string, byte[]>();
        using (var zip = new ZipArchive(new MemoryStream(archive)))
            foreach (var e in zip.Entries)
            {
                using var s = e.Open();
                using var m = new MemoryStream();
                s.CopyTo(m);
                entries[e.FullName] = m.ToArray();
            }
        var manifest = JsonNode.Parse(entries[ModelArchive.ManifestEntry])!;
        foreach (var entry in manifest["entries"]!.AsArray())
            if (entry?["path"]?.GetValue<string>() is { } path && entries.TryGetValue(path, out var data))
            {
                entry["length"] = data.Length;
                entry["sha256"] = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(data));
            }
        var text = Encoding.UTF8.GetBytes(manifest.ToJsonString());
        return Rewrite(archive, (n, d) => n == ModelArchive.ManifestEntry ? (n, text) : (n, d));
    }

    [Fact]
    public void ANetworkConfigAskingForMoreWeightsThanItsFileHoldsIsRefusedBeforeBuilding()
    {
        var dir = Directory.CreateTempSubdirectory("mlnm-untrusted-").FullName;
        byte[] saved;
        try
        {
            var images = _ml.Data.LoadFromManifest(MlNetMedical.Tests.Trainers.SyntheticImages.WriteManifest(dir, 8, _ => "train"), prefetch: 0);
            using var model = _ml.MulticlassClassification.Trainers.ImageCnn(MlNetMedical.Models.EncoderClassifierConfig.PlainCnn(2, 1, 2, depth: 2, baseChannels: 4),
                training: MlNetMedical.Tests.Trainers.SyntheticImages.Quick(1)).Fit(images);
            using var stream = new MemoryStream();
            _ml.Model.SaveMedical(model, images.Schema, stream);
            saved = stream.ToArray();
        }
        finally { Directory.Delete(dir, recursive: true); }
        using (var untouched = (IDisposable)_ml.Model.LoadMedical(new MemoryStream(saved), out _)) Assert.NotNull(untouched); // the untouched file loads

        // Someone re-hashes a file whose network config asks for 8,192-channel layers: hundreds of millions of weights.
        var crafted = Rehash(Rewrite(saved, (n, d) =>
        {
            if (n != "model/config.json") return (n, d);
            var config = JsonNode.Parse(d)!;
            var network = JsonNode.Parse(config["network"]!.GetValue<string>())!;
            network["encoder"]!["baseChannels"] = 4096;
            network["encoder"]!["maxChannels"] = 8192;
            config["network"] = network.ToJsonString();
            return (n, Encoding.UTF8.GetBytes(config.ToJsonString()));
        }));
        long before = GC.GetAllocatedBytesForCurrentThread();
        var error = Assert.Throws<InvalidDataException>(() => _ml.Model.LoadMedical(new MemoryStream(crafted), out _));
        // The cap stops the first oversized layer before TorchSharp allocates it (the message names that layer).
        Assert.Contains("asks for more weights than weights.safetensors", error.Message);
        Assert.Contains("conv 4096->8192", error.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 16 << 20);
    }
}
