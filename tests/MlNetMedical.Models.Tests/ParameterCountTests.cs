using Xunit;
using Xunit.Abstractions;

namespace MlNetMedical.Models.Tests;

public sealed class ParameterCountTests(ITestOutputHelper output)
{
    // Expected counts were computed independently with python3-torch (nn.Conv2d/3d, BatchNorm, ConvTranspose layers
    // of the same shapes; see the Models README).
    [Theory]
    [InlineData(2, 7_762_498L)]
    [InlineData(3, 16_544_130L)]
    public void DefaultUNetParameterCount(int dims, long expected)
    {
        TestConfigs.Seed();
        using var net = new UNetConfig { Encoder = new UNetEncoderConfig { SpatialDims = dims } }.Build();
        output.WriteLine($"default {dims}D U-Net: {net.ParameterCount} parameters");
        Assert.Equal(expected, net.ParameterCount);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void DefaultNetworksShareTheUNetEncoderSize(int dims)
    {
        var seg = new UNetConfig { Encoder = new UNetEncoderConfig { SpatialDims = dims } };
        NetworkConfig[] configs =
        [
            seg,
            EncoderClassifierConfig.FromSegmentation(seg, new ClassificationHeadConfig()),
            EncoderClassifierConfig.PlainCnn(dims, 1, 2),
            EncoderClassifierConfig.ResNet(dims, 1, 2),
            new YNetConfig { UNet = seg },
            new SimpleJointConfig { UNet = seg },
        ];
        long? encoderSize = null;
        foreach (var config in configs)
        {
            TestConfigs.Seed();
            using var net = config.Build();
            var encoder = ((EncoderNetwork)net).Encoder.parameters().Sum(p => p.numel());
            output.WriteLine($"{dims}D {net.GetType().Name} ({config.GetType().Name}): {net.ParameterCount:N0} parameters, encoder {encoder:N0}");
            if (config is UNetConfig or YNetConfig or SimpleJointConfig || config == configs[1])
                Assert.Equal(encoderSize ??= encoder, encoder);
        }
    }
}
