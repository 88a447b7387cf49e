using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace MlNetMedical.Imaging.Preprocessing;

/// <summary>
/// An ordered list of <see cref="VolumeTransform"/>s with a JSON form, saved next to a model so
/// prediction applies exactly the training preprocessing.
/// </summary>
public sealed class TransformChain
{
    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = false,
    };

    public TransformChain(IEnumerable<VolumeTransform> transforms) => Transforms = transforms.ToList();
    public TransformChain(params VolumeTransform[] transforms) => Transforms = transforms.ToList();

    public IReadOnlyList<VolumeTransform> Transforms { get; }

    public Sample Apply(Sample sample)
    {
        if (sample.Label is { } label) Geometry.EnsureSame(sample.Image, label);
        foreach (var t in Transforms) sample = t.Apply(sample);
        return sample;
    }

    public string ToJson() => JsonSerializer.Serialize(new ChainDocument(1, Transforms.ToList()), JsonOptions);

    public static TransformChain FromJson(string json)
    {
        ChainDocument? doc;
        try { doc = JsonSerializer.Deserialize<ChainDocument>(json, JsonOptions); }
        catch (JsonException e) { throw new ArgumentException($"transform chain JSON is invalid at {e.Path}: {e.Message}", nameof(json), e); }
        if (doc is null || doc.Version != 1) throw new ArgumentException($"transform chain JSON has version {doc?.Version}, expected 1", nameof(json));
        return new TransformChain(doc.Transforms);
    }

    public void Save(string path) => File.WriteAllText(path, ToJson());
    public static TransformChain Load(string path) => FromJson(File.ReadAllText(path));

    /// <summary>SHA-256 of the JSON form: equal configurations give equal keys (used by the sample cache).</summary>
    public string Hash() => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(ToJson())));

    private sealed record ChainDocument(int Version, List<VolumeTransform> Transforms);
}
