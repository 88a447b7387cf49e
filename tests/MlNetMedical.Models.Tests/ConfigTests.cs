using System.Text.Json;
using Xunit;

namespace MlNetMedical.Models.Tests;

public sealed class ConfigTests
{
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void JsonRoundTripRebuildsIdenticalStateDictKeysAndShapes(int dims)
    {
        foreach (var (name, config) in TestConfigs.All(dims))
        {
            var json = config.ToJson();
            var back = NetworkConfig.FromJson(json);
            Assert.Equal(config.GetType(), back.GetType());
            Assert.Equal(json, back.ToJson());
            using var original = NetworkFactory.Create(config);
            using var rebuilt = NetworkFactory.FromJson(json);
            var a = original.state_dict();
            var b = rebuilt.state_dict();
            Assert.Equal(a.Keys, b.Keys); // same order too
            foreach (var key in a.Keys) Assert.True(a[key].shape.SequenceEqual(b[key].shape), $"{name}: {key}");
        }
    }

    [Fact]
    public void JsonNamesTheNetworkAndItsOptions()
    {
        var json = TestConfigs.Classifier(3).ToJson();
        Assert.Contains("\"network\": \"encoder-classifier\"", json);
        Assert.Contains("\"kind\": \"unet\"", json);
        Assert.Contains("\"pooling\": \"averageMax\"", json);
        Assert.Contains("\"spatialDims\": 3", json);
        Assert.DoesNotContain("effectiveMaxChannels", json);
    }

    [Fact]
    public void BadJsonAndBadSettingsAreRejectedWithTheirNames()
    {
        Assert.Throws<JsonException>(() => NetworkConfig.FromJson("""{"network": "vnet"}"""));
        Assert.Throws<JsonException>(() => NetworkConfig.FromJson("""{"network": "unet", "numClases": 3}"""));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => NetworkConfig.FromJson("""{"network": "unet", "deepSupervisionOutputs": 4}"""));
        Assert.Equal("DeepSupervisionOutputs", e.ParamName);
        e = Assert.Throws<ArgumentOutOfRangeException>(() => new UNetConfig { Encoder = new UNetEncoderConfig { SpatialDims = 4 } }.Build());
        Assert.Equal("SpatialDims", e.ParamName);
        e = Assert.Throws<ArgumentOutOfRangeException>(() => new YNetConfig { ExtraDownBlocks = -1 }.Build());
        Assert.Equal("ExtraDownBlocks", e.ParamName);
        Assert.Throws<ArgumentNullException>(() => new YNet(null!));
        var levels = Assert.Throws<ArgumentOutOfRangeException>(() => new EncoderClassifierConfig { Head = new ClassificationHeadConfig { Levels = [5] } }.Build());
        Assert.Contains("levels 0..4", levels.Message);
    }

    [Fact]
    public void DefaultConfigsHaveTheDocumentedWidths()
    {
        Assert.Equal([32L, 64, 128, 256, 512], new UNetEncoderConfig().LevelChannels());
        Assert.Equal([32L, 64, 128, 256, 320], new UNetEncoderConfig { SpatialDims = 3 }.LevelChannels());
        Assert.Equal([32L, 64, 128, 256, 512], new ResNetEncoderConfig().LevelChannels());
    }
}
