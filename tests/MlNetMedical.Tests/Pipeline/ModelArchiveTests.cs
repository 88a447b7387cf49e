using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMedical.Catalogs;
using MlNetMedical.Data;
using MlNetMedical.Imaging.Preprocessing;
using MlNetMedical.Pipeline;
using MlNetMedical.Serialization;
using Xunit;

namespace MlNetMedical.Tests.Pipeline;

/// <summary>
/// The model file (<c>ml.Model.SaveMedical</c> / <c>LoadMedical</c>, format version 2): ML.NET's transformers stored as ML.NET saves
/// them, the framework's beside them, one folder per chain segment, and the manifest that lists and hashes every entry.
/// </summary>
public class ModelArchiveTests
{
    private readonly MLContext _ml = new(seed: 4);

    internal const string Factor = "model/children/1/blobs/factor";

    /// <summary>MapValueToKey (ML.NET) → VectorScaler (ours) → LbfgsMaximumEntropy (ML.NET): three segments.</summary>
    internal static (ITransformer Model, IDataView Data) Trained(MLContext ml)
    {
        var data = ml.Data.LoadFromEnumerable(PatientRow.Make());
        var model = ml.Transforms.Conversion.MapValueToKey("Label", "Diagnosis")
            .Append(new VectorScalerEstimator("Features", 3f))
            .Append(ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy())
            .Fit(data);
        return (model, data);
    }

    private (ITransformer Model, IDataView Data) Trained() => Trained(_ml);

    private byte[] SavedBytes(DataViewSchema? schema = null)
    {
        var (model, data) = Trained();
        using var stream = new MemoryStream();
        _ml.Model.SaveMedical(model, schema ?? data.Schema, stream);
        return stream.ToArray();
    }

    [Fact]
    public void SaveLoadGivesIdenticalPredictionsAndSchema()
    {
        var (model, data) = Trained();
        var path = Path.Combine(Path.GetTempPath(), $"mlnm-{Guid.NewGuid():N}.zip");
        try
        {
            _ml.Model.SaveMedical(model, data.Schema, path);
            var loaded = _ml.Model.LoadMedical(path, out var schema);
            Assert.Contains("does not exist", Assert.Throws<FileNotFoundException>(() => _ml.Model.LoadMedical(path + ".missing", out _)).Message);
            Assert.NotNull(schema);
            Assert.Equal(data.Schema.Select(c => (c.Name, c.Type)), schema!.Select(c => (c.Name, c.Type)));
            var stages = ((IEnumerable<ITransformer>)loaded).ToList();
            Assert.Equal(3, stages.Count);
            Assert.Equal(3f, Assert.IsType<VectorScaler>(stages[1]).Factor);
            var before = model.Transform(data).GetColumn<float[]>("Score").ToList();
            var after = loaded.Transform(data).GetColumn<float[]>("Score").ToList();
            Assert.Equal(before.Count, after.Count);
            for (var i = 0; i < before.Count; i++) Assert.Equal(before[i], after[i]);   // bit-identical floats
            Assert.Equal(model.Transform(data).GetColumn<uint>("PredictedLabel"), loaded.Transform(data).GetColumn<uint>("PredictedLabel"));
            Assert.Equal(["benign", "malignant"], loaded.Transform(data).Schema["PredictedLabel"].ClassNames());
            // A context never passed to ml.Medical() loads it too (its catalog's context is found by reflection).
            Assert.NotNull(new MLContext(seed: 1).Model.LoadMedical(path, out _));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ArchiveLayoutIsManifestPlusOneFolderPerSegment()
    {
        using var zip = new ZipArchive(new MemoryStream(SavedBytes()));
        var names = zip.Entries.Select(e => e.FullName).ToList();
        Assert.Equal("manifest.json", names[0]);
        Assert.Contains("model/transformer.json", names);
        Assert.Contains("model/children/0/blobs/mlnet.zip", names);   // MapValueToKey, as ML.NET saves it
        Assert.Contains(Factor, names);                                // ours
        Assert.Contains("model/children/2/blobs/mlnet.zip", names);   // the trainer's transformer
        string Read(string entry)
        {
            using var reader = new StreamReader(zip.GetEntry(entry)!.Open());
            return reader.ReadToEnd();
        }
        Assert.Contains("\"TransformerChain\"", Read("model/transformer.json"));
        Assert.Equal(3, JsonNode.Parse(Read("model/config.json"))!["stages"]!.GetValue<int>());
        Assert.Contains("\"MlNet\"", Read("model/children/0/transformer.json"));
        Assert.Contains("ValueToKeyMappingTransformer", Read("model/children/0/config.json"));
        Assert.Contains($"\"{VectorScaler.RegisteredName}\"", Read("model/children/1/transformer.json"));
        var manifest = JsonNode.Parse(Read("manifest.json"))!;
        Assert.Equal("mlnm-model", manifest["format"]!.GetValue<string>());
        Assert.Equal(2, manifest["formatVersion"]!.GetValue<int>());
        Assert.Equal(ModelArchive.FormatVersion, manifest["formatVersion"]!.GetValue<int>());
        Assert.Equal(names.Count - 1, manifest["entries"]!.AsArray().Count);
    }

    [Fact]
    public void NestedChainsAreFlattenedAndSingleTransformersComeBackAsThemselves()
    {
        var (model, data) = Trained();
        var outer = new TransformerChain<ITransformer>(model, new VectorScaler("Features", 0.5f));
        ITransformer RoundTrip(ITransformer m)
        {
            using var stream = new MemoryStream();
            _ml.Model.SaveMedical(m, data.Schema, stream);
            stream.Position = 0;
            return _ml.Model.LoadMedical(stream, out _);
        }
        Assert.Equal(4, ((IEnumerable<ITransformer>)RoundTrip(outer)).Count());
        Assert.Equal(model.Transform(data).GetColumn<float[]>("Score"), RoundTrip(outer).Transform(data).GetColumn<float[]>("Score"));
        Assert.IsType<VectorScaler>(RoundTrip(new VectorScaler("Features", 2f)));
        var key = _ml.Transforms.Conversion.MapValueToKey("Label", "Diagnosis").Fit(data);
        Assert.IsType(key.GetType(), RoundTrip(key));
    }

    private static byte[] Rewrite(byte[] archive, Func<string, byte[], (string Name, byte[] Data)?> change, params (string Name, byte[] Data)[] extra) =>
        UntrustedModelFileTests.Rewrite(archive, change, extra);

    private string LoadError(byte[] archive) =>
        Assert.Throws<InvalidDataException>(() => _ml.Model.LoadMedical(new MemoryStream(archive), out _)).Message;

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
    public void OtherFormatVersionsAreRejected()
    {
        byte[] Version(int v) => Rewrite(SavedBytes(), (n, d) =>
            n == "manifest.json" ? (n, Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(d).Replace("\"formatVersion\": 2", $"\"formatVersion\": {v}"))) : (n, d));
        var newer = LoadError(Version(3));
        Assert.Contains("has format version 3; this MlNetMedical", newer);
        Assert.Contains("reads version 2", newer);
        // Version 1 (the look-alike's own components) is not read.
        Assert.Contains("has format version 1;", LoadError(Version(1)));
    }

    [Fact]
    public void ThePreprocessingChainOnAColumnRecordIsCheckedAndMayBeAbsent()
    {
        var (_, data) = Trained();
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(data.Schema);
        var chain = new TransformChain(new ZScore());
        builder.AddColumn("Image", new VolumeDataViewType(VolumeKind.Image, typeof(MlNetMedical.Imaging.Volume)), PreprocessingAnnotation.Create(chain));
        var saved = SavedBytes(builder.ToSchema());
        _ml.Model.LoadMedical(new MemoryStream(saved), out var schema);
        Assert.Equal(chain.ToJson(), PreprocessingAnnotation.Read(schema!)?.ToJson());

        // The manifest is not hashed: edit the Image column's record in place.
        byte[] EditImageRecord(Action<JsonObject> edit) => Rewrite(saved, (n, d) =>
        {
            if (n != "manifest.json") return (n, d);
            var manifest = JsonNode.Parse(d)!;
            edit(manifest["inputSchema"]!.AsArray().Single(c => c!["name"]!.GetValue<string>() == "Image")!.AsObject());
            return (n, Encoding.UTF8.GetBytes(manifest.ToJsonString()));
        });
        _ml.Model.LoadMedical(new MemoryStream(EditImageRecord(c => c.Remove("preprocessing"))), out var without);
        Assert.Null(PreprocessingAnnotation.Read(without!));
        var message = LoadError(EditImageRecord(c => c["preprocessing"] = JsonNode.Parse("""{"version":1,"transforms":[{"type":"sharpen"}]}""")));
        Assert.Contains("column 'Image'", message);
        Assert.Contains("the preprocessing chain is not valid", message);
    }

    [Fact]
    public void TamperedWeightsAreRejected()
    {
        var message = LoadError(Rewrite(SavedBytes(), (n, d) =>
        {
            if (n == Factor) d[0] ^= 1;
            return (n, d);
        }));
        Assert.Contains($"entry '{Factor}' does not match its manifest", message);
        var mlnet = LoadError(Rewrite(SavedBytes(), (n, d) =>
        {
            if (n == "model/children/2/blobs/mlnet.zip") d[d.Length / 2] ^= 1;
            return (n, d);
        }));
        Assert.Contains("entry 'model/children/2/blobs/mlnet.zip' does not match its manifest", mlnet);
    }

    [Fact]
    public void MissingAndUnlistedEntriesAreRejected()
    {
        Assert.Contains("lacks it", LoadError(Rewrite(SavedBytes(), (n, d) => n == Factor ? null : (n, d))));
        Assert.Contains("does not list", LoadError(Rewrite(SavedBytes(), (n, d) => (n, d), ("model/extra.bin", [0]))));
        Assert.Contains("has no manifest.json", LoadError(Rewrite(SavedBytes(), (n, d) => n == "manifest.json" ? null : (n, d))));
        Assert.Contains("not a readable zip", LoadError([1, 2, 3, 4]));
        var doubled = Rewrite(SavedBytes(), (n, d) =>
        {
            if (n != "manifest.json") return (n, d);
            var manifest = JsonNode.Parse(d)!;
            var entries = manifest["entries"]!.AsArray();
            entries.Add(entries[0]!.DeepClone());
            return (n, Encoding.UTF8.GetBytes(manifest.ToJsonString()));
        });
        Assert.Contains("twice", LoadError(doubled));
    }

    private static byte[] Resealed(byte[] archive, string entry, Func<string, string> edit) =>
        UntrustedModelFileTests.Rehash(Rewrite(archive, (n, d) => n == entry ? (n, Encoding.UTF8.GetBytes(edit(Encoding.UTF8.GetString(d)))) : (n, d)));

    [Fact]
    public void UnknownTransformerTypeIsNamed()
    {
        // Rename the type in a transformer.json and fix the manifest so only the name is wrong.
        var message = LoadError(Resealed(SavedBytes(), "model/children/1/transformer.json", s => s.Replace($"\"{VectorScaler.RegisteredName}\"", "\"Somebody.Unknown\"")));
        Assert.Contains("unknown transformer type 'Somebody.Unknown'", message);
        Assert.Contains("folder 'model/children/1/'", message);
        Assert.Contains("register it with ModelRegistry.Register", message);
    }

    [Fact]
    public void NewerConfigVersionIsRejected()
    {
        var message = LoadError(Resealed(SavedBytes(), "model/children/1/transformer.json", s => s.Replace("\"version\": 1", "\"version\": 7")));
        Assert.Contains($"'{VectorScaler.RegisteredName}' was saved with config version 7, this code reads up to 1", message);
        var chain = LoadError(Resealed(SavedBytes(), "model/transformer.json", s => s.Replace("\"version\": 1", "\"version\": 2")));
        Assert.Contains("'TransformerChain' was saved with version 2, this code reads version 1", chain);
        var mlnet = LoadError(Resealed(SavedBytes(), "model/children/0/transformer.json", s => s.Replace("\"version\": 1", "\"version\": 2")));
        Assert.Contains("'MlNet' was saved with version 2", mlnet);
    }

    [Fact]
    public void StageCountsMustAgreeWithTheSegments()
    {
        var chain = LoadError(Resealed(SavedBytes(), "model/config.json", s => s.Replace("\"stages\": 3", "\"stages\": 4")));
        Assert.Contains("chain config has 4 stages, its segments hold 3", chain);
        var mlnet = LoadError(Resealed(SavedBytes(), "model/children/0/config.json", s =>
        {
            var config = JsonNode.Parse(s)!;
            config["stages"]!.AsArray().Add("Extra");
            return config.ToJsonString();
        }));
        Assert.Contains("entry 'model/children/0/blobs/mlnet.zip': holds 1 transformers, its config lists 2", mlnet);
        var notZip = LoadError(UntrustedModelFileTests.Rehash(Rewrite(SavedBytes(), (n, d) => n == "model/children/0/blobs/mlnet.zip" ? (n, [1, 2, 3]) : (n, d))));
        Assert.Contains("entry 'model/children/0/blobs/mlnet.zip' is not a readable zip file", notZip);
    }

    [Fact]
    public void RegistryRefusesNameClashesAndReservedNames()
    {
        var e = Assert.Throws<InvalidOperationException>(() =>
            ModelRegistry.Register(MlNetMedical.Transforms.MedicalImageLoadingTransformer.RegisteredName, 1, _ => new VectorScaler("Features", 1f)));
        Assert.Contains("'LoadMedicalImages' is already registered for MlNetMedical.Transforms.MedicalImageLoadingTransformer", e.Message);
        VectorScaler.EnsureRegistered();
        Assert.Contains($"already registered as '{VectorScaler.RegisteredName}'", Assert.Throws<InvalidOperationException>(() =>
            ModelRegistry.Register("Tests.OtherName", 1, _ => new VectorScaler("Features", 1f))).Message);
        Assert.Contains("reserved", Assert.Throws<ArgumentException>(() => ModelRegistry.Register("MlNet", 1, _ => new VectorScaler("Features", 1f))).Message);
        Assert.Contains("reserved", Assert.Throws<ArgumentException>(() => ModelRegistry.Register("TransformerChain", 1, _ => new VectorScaler("Features", 1f))).Message);
        Assert.True(ModelRegistry.IsRegistered(typeof(VectorScaler)));
    }

    /// <summary>A framework transformer nobody registered.</summary>
    private sealed class Unregistered : RowMappingTransformer
    {
        protected override IReadOnlyList<ColumnRequirement> RequiredColumns => [];
        protected override IReadOnlyList<DataViewSchema.DetachedColumn> GetOutputColumns(DataViewSchema inputSchema) => [];
        protected override void MapRow(DataViewRow input, object?[] outputs) { }
        public override void SaveToArchive(ArchiveSaveContext context) { }
    }

    /// <summary>A transformer that is neither ML.NET's nor the framework's: ML.NET cannot save it.</summary>
    private sealed class Foreign : ITransformer
    {
        public bool IsRowToRowMapper => false;
        public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => inputSchema;
        public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => throw new NotSupportedException();
        public IDataView Transform(IDataView input) => input;
        public void Save(ModelSaveContext ctx) { }
    }

    [Fact]
    public void SavingWhatCannotBeSavedSaysWhy()
    {
        var e = Assert.Throws<InvalidOperationException>(() => _ml.Model.SaveMedical(new Unregistered(), null, new MemoryStream()));
        Assert.Contains("is not registered; call ModelRegistry.Register", e.Message);
        var foreign = Assert.Throws<InvalidOperationException>(() => _ml.Model.SaveMedical(new Foreign(), null, new MemoryStream()));
        Assert.Contains("ml.Model.SaveMedical: ML.NET could not save Foreign", foreign.Message);
    }

    [Fact]
    public void AFailedSaveLeavesThePreviousFileAndNoTemporaryFile()
    {
        var dir = Directory.CreateTempSubdirectory("mlnm-save-").FullName;
        try
        {
            var path = Path.Combine(dir, "model.zip");
            File.WriteAllText(path, "the previous model");
            Assert.Throws<InvalidOperationException>(() => _ml.Model.SaveMedical(new Unregistered(), null, path));
            Assert.Equal("the previous model", File.ReadAllText(path));
            Assert.Equal(["model.zip"], Directory.GetFiles(dir).Select(Path.GetFileName));
        }
        finally { Directory.Delete(dir, true); }
    }
}
