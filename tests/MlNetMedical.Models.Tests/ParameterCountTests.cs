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
}
