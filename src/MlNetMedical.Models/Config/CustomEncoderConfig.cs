using System.Collections.Concurrent;
using System.Text.Json;

namespace MlNetMedical.Models;

/// <summary>
/// A user's own encoder (a <see cref="FeatureEncoder"/> subclass), named in <see cref="EncoderRegistry"/> and rebuilt from
/// its JSON <see cref="Settings"/>, so networks and saved models that use it round-trip like the built-in ones
/// (<c>"kind": "custom"</c>). <see cref="EncoderConfig.SpatialDims"/> and <see cref="EncoderConfig.InChannels"/> must
/// match what the encoder reports; the shared norm and activation settings are the encoder's own business.
/// </summary>
public sealed record CustomEncoderConfig : EncoderConfig
{
    /// <summary>The name the encoder was registered under.</summary>
    public string Name { get; init; } = "";

    /// <summary>The encoder's settings as JSON (whatever its registered settings type serialises to).</summary>
    public JsonElement Settings { get; init; }

    public override FeatureEncoder Build()
    {
        Validate();
        var encoder = EncoderRegistry.Create(Name, Settings);
        if (encoder.SpatialDims != SpatialDims || encoder.InChannels != InChannels)
        {
            encoder.Dispose();
            throw new ArgumentException($"custom encoder '{Name}' has {encoder.SpatialDims} spatial dims and {encoder.InChannels} input channel(s), but its config says {SpatialDims} and {InChannels}", nameof(SpatialDims));
        }
        return encoder;
    }

    /// <summary>The registered encoder's level widths for these settings, found by building it once (then remembered).</summary>
    public override long[] LevelChannels()
    {
        Validate();
        return EncoderRegistry.LevelChannels(Name, Settings, () =>
        {
            // A throw-away encoder, whose initial weights must not use up the caller's generator.
            using var scratch = new TorchSharp.torch.Generator(0);
            using (WeightInit.Use(scratch))
            using (var encoder = Build())
                return encoder.Channels.ToArray();
        });
    }

    public override void Validate()
    {
        base.Validate();
        if (!EncoderRegistry.IsRegistered(Name))
            throw new ArgumentException($"no encoder is registered as '{Name}' (EncoderRegistry.Register; registered: {string.Join(", ", EncoderRegistry.Names)})", nameof(Name));
    }
}

/// <summary>
/// Names for user encoders, so a <see cref="CustomEncoderConfig"/> (and a saved model holding one) can rebuild them:
/// <c>EncoderRegistry.Register&lt;MySettings&gt;("my-encoder", s =&gt; new MyEncoder(s));</c> once at start-up, then
/// <c>EncoderRegistry.Config("my-encoder", settings, spatialDims: 2, inChannels: 1)</c> wherever an encoder config goes.
/// </summary>
public static class EncoderRegistry
{
    // Per name: the factory, and the level widths already found for each settings JSON (configs are validated often, and
    // finding them means building an encoder; registering the name again starts afresh).
    private sealed record Entry(Func<JsonElement, FeatureEncoder> Factory, ConcurrentDictionary<string, long[]> Channels);

    private static readonly ConcurrentDictionary<string, Entry> Factories = new(StringComparer.Ordinal);

    /// <summary>Registers (or replaces) the factory for <paramref name="name"/>; settings travel as JSON of <typeparamref name="TSettings"/>.</summary>
    public static void Register<TSettings>(string name, Func<TSettings, FeatureEncoder> factory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(factory);
        Factories[name] = new Entry(json =>
        {
            var settings = json.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null
                ? throw new ArgumentException($"custom encoder '{name}' needs its settings ({typeof(TSettings).Name})")
                : json.Deserialize<TSettings>(NetworkJson.Options) ?? throw new ArgumentException($"custom encoder '{name}': settings are null");
            return factory(settings);
        }, new ConcurrentDictionary<string, long[]>(StringComparer.Ordinal));
    }

    public static bool IsRegistered(string name) => name != null && Factories.ContainsKey(name);

    public static IReadOnlyCollection<string> Names => Factories.Keys.Order(StringComparer.Ordinal).ToArray();

    /// <summary>A config naming the registered encoder <paramref name="name"/> with <paramref name="settings"/>.</summary>
    public static CustomEncoderConfig Config<TSettings>(string name, TSettings settings, int spatialDims, int inChannels) => new()
    {
        Name = name,
        Settings = JsonSerializer.SerializeToElement(settings, NetworkJson.Options),
        SpatialDims = spatialDims,
        InChannels = inChannels,
    };

    internal static FeatureEncoder Create(string name, JsonElement settings) =>
        Lookup(name).Factory(settings) ?? throw new InvalidOperationException($"the factory of custom encoder '{name}' returned null");

    /// <summary>The level widths of encoder <paramref name="name"/> with <paramref name="settings"/>: <paramref name="find"/>'s
    /// answer the first time, remembered after (a copy each time, so callers cannot change it).</summary>
    internal static long[] LevelChannels(string name, JsonElement settings, Func<long[]> find)
    {
        var key = settings.ValueKind == JsonValueKind.Undefined ? "" : settings.GetRawText();
        return Lookup(name).Channels.GetOrAdd(key, _ => find()).ToArray();
    }

    private static Entry Lookup(string name) =>
        Factories.TryGetValue(name, out var entry) ? entry : throw new ArgumentException($"no encoder is registered as '{name}'", nameof(name));
}
