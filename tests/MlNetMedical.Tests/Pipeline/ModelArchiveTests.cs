using System.IO.Compression;
using System.Text;
using MlNetMedical.Data;
using MlNetMedical.Pipeline;
using Xunit;

namespace MlNetMedical.Tests.Pipeline;

public class ModelArchiveTests
{
    private readonly MedicalContext _ml = new(seed: 4);

    private (ITransformer Model, IDataView Data) Trained()
    {
        var data = _ml.Data.LoadFromEnumerable(PatientRow.Make());
        var model = _ml.Transforms.Conversion.MapValueToKey("Label", "Diagnosis")
            .Append(new VectorScalerEstimator("Features", 3f))
            .Append(_ml.Classification.Trainers.NearestCentroid())
            .Fit(data);
        return (model, data);
    }

    private byte[] SavedBytes()
    {
        var (model, data) = Trained();
        using var stream = new MemoryStream();
        _ml.Model.Save(model, data.Schema, stream);
        return stream.ToArray();
    }

    [Fact]
    public void SaveLoadGivesIdenticalPredictionsAndSchema()
    {
        var (model, data) = Trained();
        var path = Path.Combine(Path.GetTempPath(), $"mlnm-{Guid.NewGuid():N}.zip");
        try
        {
            _ml.Model.Save(model, data.Schema, path);
            var loaded = _ml.Model.Load(path, out var schema);
            Assert.Contains("does not exist", Assert.Throws<FileNotFoundException>(() => _ml.Model.Load(path + ".missing", out _)).Message);
            Assert.NotNull(schema);
            Assert.Equal(data.Schema.Select(c => (c.Name, c.Type)), schema!.Select(c => (c.Name, c.Type)));
            var before = model.Transform(data).GetColumn<float[]>("Score").ToList();
            var after = loaded.Transform(data).GetColumn<float[]>("Score").ToList();
            Assert.Equal(before.Count, after.Count);
            for (var i = 0; i < before.Count; i++) Assert.Equal(before[i], after[i]);   // bit-identical floats
            Assert.Equal(model.Transform(data).GetColumn<uint>("PredictedLabel"), loaded.Transform(data).GetColumn<uint>("PredictedLabel"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ArchiveLayoutIsManifestPlusOneFolderPerTransformer()
    {
        using var zip = new ZipArchive(new MemoryStream(SavedBytes()));
        var names = zip.Entries.Select(e => e.FullName).ToList();
        Assert.Equal("manifest.json", names[0]);
        Assert.Contains("model/transformer.json", names);
        Assert.Contains("model/children/2/blobs/centroids", names);
        Assert.Contains("model/children/1/blobs/factor", names);
        using var reader = new StreamReader(zip.GetEntry("model/children/2/transformer.json")!.Open());
        Assert.Contains("\"NearestCentroid\"", reader.ReadToEnd());
    }

    private static byte[] Rewrite(byte[] archive, Func<string, byte[], (string Name, byte[] Data)?> change, params (string Name, byte[] Data)[] extra) =>
        UntrustedModelFileTests.Rewrite(archive, change, extra);

    private string LoadError(byte[] archive) =>
        Assert.Throws<InvalidDataException>(() => _ml.Model.Load(new MemoryStream(archive), out _)).Message;

    [Theory]
    [InlineData("../evil.txt")]
    [InlineData("/etc/evil")]
    [InlineData("model/../../evil")]
    [InlineData("model\\evil")]
    [InlineData("C:/evil")]
    [InlineData("other/file")]
    public void EntriesOutsideTheRootAreRejected(string entry)
    {
        var message = LoadError(Rewrite(SavedBytes(), (n, d) => (n, d), (entry, [1, 2, 3])));
        Assert.Contains($"has entry '{entry}' outside its root", message);
    }

    [Fact]
    public void UnknownFormatVersionIsRejected()
    {
        var message = LoadError(Rewrite(SavedBytes(), (n, d) =>
            n == "manifest.json" ? (n, Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(d).Replace("\"formatVersion\": 1", "\"formatVersion\": 2"))) : (n, d)));
        Assert.Contains("has format version 2; this MlNetMedical", message);
        Assert.Contains("reads version 1", message);
    }

    [Fact]
    public void FilesWithoutARecordedPreprocessingChainLoadAndABrokenChainIsNamed()
    {
        // Files written before the chain was recorded have no "preprocessing" key; the manifest is not hashed, so edit it in place.
        static (string, byte[]) EditManifest(string name, byte[] data, Func<System.Text.Json.Nodes.JsonObject, object?> edit)
        {
            if (name != "manifest.json") return (name, data);
            var manifest = System.Text.Json.Nodes.JsonNode.Parse(data)!.AsObject();
            edit(manifest);
            return (name, Encoding.UTF8.GetBytes(manifest.ToJsonString()));
        }
        var older = Rewrite(SavedBytes(), (n, d) => EditManifest(n, d, m => m.Remove("preprocessing")));
        _ml.Model.Load(new MemoryStream(older), out var schema);
        Assert.NotNull(schema);
        Assert.Null(schema!.Preprocessing);

        var broken = Rewrite(SavedBytes(), (n, d) => EditManifest(n, d, m => m["preprocessing"] = System.Text.Json.Nodes.JsonNode.Parse("""{"version":1,"transforms":[{"type":"sharpen"}]}""")));
        var message = LoadError(broken);
        Assert.Contains("preprocessing chain is not valid", message);
    }

    [Fact]
    public void TamperedWeightsAreRejected()
    {
        var message = LoadError(Rewrite(SavedBytes(), (n, d) =>
        {
            if (n.EndsWith("centroids", StringComparison.Ordinal)) d[0] ^= 1;
            return (n, d);
        }));
        Assert.Contains("entry 'model/children/2/blobs/centroids' does not match its manifest", message);
    }

    [Fact]
    public void MissingAndUnlistedEntriesAreRejected()
    {
        Assert.Contains("lacks it", LoadError(Rewrite(SavedBytes(), (n, d) => n.EndsWith("factor", StringComparison.Ordinal) ? null : (n, d))));
        Assert.Contains("does not list", LoadError(Rewrite(SavedBytes(), (n, d) => (n, d), ("model/extra.bin", [0]))));
        Assert.Contains("has no manifest.json", LoadError(Rewrite(SavedBytes(), (n, d) => n == "manifest.json" ? null : (n, d))));
        Assert.Contains("not a readable zip", LoadError([1, 2, 3, 4]));
        var doubled = Rewrite(SavedBytes(), (n, d) =>
        {
            if (n != "manifest.json") return (n, d);
            var manifest = System.Text.Json.Nodes.JsonNode.Parse(d)!;
            var entries = manifest["entries"]!.AsArray();
            entries.Add(entries[0]!.DeepClone());
            return (n, Encoding.UTF8.GetBytes(manifest.ToJsonString()));
        });
        Assert.Contains("twice", LoadError(doubled));
    }

    [Fact]
    public void UnknownTransformerTypeIsNamed()
    {
        // Rename the type in a transformer.json and fix the manifest so only the name is wrong.
        var bytes = SavedBytes();
        string Patch(string s) => s.Replace("\"NearestCentroid\"", "\"Somebody.Unknown\"");
        var renamed = Rewrite(bytes, (n, d) => n == "model/children/2/transformer.json" ? (n, Encoding.UTF8.GetBytes(Patch(Encoding.UTF8.GetString(d)))) : (n, d));
        var fixedManifest = RehashManifest(renamed);
        var message = LoadError(fixedManifest);
        Assert.Contains("unknown transformer type 'Somebody.Unknown'", message);
        Assert.Contains("folder 'model/children/2/'", message);
    }

    [Fact]
    public void NewerConfigVersionIsRejected()
    {
        var bumped = Rewrite(SavedBytes(), (n, d) => n == "model/children/2/transformer.json"
            ? (n, Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(d).Replace("\"version\": 1", "\"version\": 7")))
            : (n, d));
        var message = LoadError(RehashManifest(bumped));
        Assert.Contains("'NearestCentroid' was saved with config version 7, this code reads up to 1", message);
    }

    [Fact]
    public void RegistryRefusesNameClashes()
    {
        var e = Assert.Throws<InvalidOperationException>(() =>
            _ml.Model.RegisterTransformer("NearestCentroid", 1, _ => new VectorScaler("Features", 1f)));
        Assert.Contains("'NearestCentroid' is already registered for MlNetMedical.Trainers.NearestCentroidTransformer", e.Message);
        _ = new VectorScaler("Features", 1f);   // runs its registration
        Assert.Contains("already registered as 'Tests.VectorScaler'", Assert.Throws<InvalidOperationException>(() =>
            _ml.Model.RegisterTransformer("Tests.OtherName", 1, _ => new VectorScaler("Features", 1f))).Message);
    }

    private static byte[] RehashManifest(byte[] archive) => UntrustedModelFileTests.Rehash(archive);

    private sealed class Unregistered : ITransformer
    {
        public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => inputSchema;
        public IDataView Transform(IDataView input) => input;
        public void Save(MlNetMedical.Serialization.ModelSaveContext context) { }
    }

    [Fact]
    public void SavingAnUnregisteredTransformerSaysHowToFixIt()
    {
        var e = Assert.Throws<InvalidOperationException>(() => _ml.Model.Save(new Unregistered(), null, new MemoryStream()));
        Assert.Contains("is not registered; call ModelRegistry.Register", e.Message);
    }

    [Fact]
    public void AFailedSaveLeavesThePreviousFileAndNoTemporaryFile()
    {
        var dir = Directory.CreateTempSubdirectory("mlnm-save-").FullName;
        try
        {
            var path = Path.Combine(dir, "model.zip");
            File.WriteAllText(path, "the previous model");
            Assert.Throws<InvalidOperationException>(() => _ml.Model.Save(new Unregistered(), null, path));
            Assert.Equal("the previous model", File.ReadAllText(path));
            Assert.Equal(["model.zip"], Directory.GetFiles(dir).Select(Path.GetFileName));
        }
        finally { Directory.Delete(dir, true); }
    }
}
