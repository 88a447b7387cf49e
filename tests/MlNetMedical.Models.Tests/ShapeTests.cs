using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace MlNetMedical.Models.Tests;

public sealed class ShapeTests
{
    [Theory]
    [InlineData(2, UpsamplingKind.TransposedConv, NormKind.Batch, BlockKind.Plain, DownsamplingKind.MaxPool)]
    [InlineData(2, UpsamplingKind.Nearest, NormKind.Instance, BlockKind.Residual, DownsamplingKind.StridedConv)]
    [InlineData(2, UpsamplingKind.Linear, NormKind.Group, BlockKind.Residual, DownsamplingKind.MaxPool)]
    [InlineData(2, UpsamplingKind.TransposedConv, NormKind.None, BlockKind.Plain, DownsamplingKind.StridedConv)]
    [InlineData(3, UpsamplingKind.TransposedConv, NormKind.Batch, BlockKind.Plain, DownsamplingKind.MaxPool)]
    [InlineData(3, UpsamplingKind.Linear, NormKind.Instance, BlockKind.Residual, DownsamplingKind.StridedConv)]
    public void UNetOutputMatchesInputSizeIncludingOddSizes(int dims, UpsamplingKind up, NormKind norm, BlockKind block, DownsamplingKind down)
    {
        TestConfigs.Seed();
        using var net = (UNet)TestConfigs.UNet(dims, classes: 3, up: up, norm: norm, block: block, down: down).Build();
        long[][] sizes = dims == 2 ? [[16, 16], [17, 23], [4, 5]] : [[8, 8, 8], [9, 10, 11]];
        foreach (var size in sizes)
        {
            using var scope = torch.NewDisposeScope();
            var x = torch.randn([2, 1, .. size]);
            var y = net.call(x);
            Assert.Equal([2, 3, .. size], y.shape);
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void DeepSupervisionOutputsAreAtHalvedResolutions(int dims)
    {
        TestConfigs.Seed();
        using var net = (UNet)TestConfigs.UNet(dims, depth: 4, classes: 2, deepSupervision: 2).Build();
        using var scope = torch.NewDisposeScope();
        var size = dims == 2 ? 17L : 9L;
        using var output = net.ForwardSegmentation(torch.randn(TestConfigs.InputShape(dims, 2, size)));
        Assert.Equal(TestConfigs.InputShape(dims, 2, size, 2), output.Logits.shape);
        Assert.Equal(2, output.DeepSupervision.Count);
        Assert.Equal(TestConfigs.InputShape(dims, 2, size / 2, 2), output.DeepSupervision[0].shape);
        Assert.Equal(TestConfigs.InputShape(dims, 2, size / 4, 2), output.DeepSupervision[1].shape);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void EncoderReturnsOneFeaturePerLevel(int dims)
    {
        TestConfigs.Seed();
        using var encoder = new UNetEncoder(TestConfigs.Encoder(dims, depth: 4, width: 3) with { ChannelMultiplier = 1.5, MaxChannels = 8 });
        Assert.Equal([3L, 5, 7, 8], encoder.Channels); // round(3·1.5^i) capped at 8
        using var scope = torch.NewDisposeScope();
        var features = encoder.Features(torch.randn(TestConfigs.InputShape(dims, 1, 11)));
        Assert.Equal(4, features.Count);
        long[] sizes = [11, 5, 2, 1];
        for (int level = 0; level < 4; level++)
            Assert.Equal(TestConfigs.InputShape(dims, 1, sizes[level], encoder.Channels[level]), features[level].shape);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void ClassifiersAndJointNetworksGiveLogitsPerImage(int dims)
    {
        foreach (var (name, config) in TestConfigs.All(dims))
        {
            TestConfigs.Seed();
            using var net = config.Build();
            using var scope = torch.NewDisposeScope();
            var x = TestConfigs.RandomInput(dims, batch: 3, size: 9);
            switch (net)
            {
                case IJointNetwork joint:
                    using (var output = joint.ForwardJoint(x))
                    {
                        Assert.Equal(TestConfigs.InputShape(dims, 3, 9, 3), output.SegmentationLogits.shape);
                        Assert.Equal([3L, 2], output.ClassLogits.shape);
                        Assert.Single(output.DeepSupervision);
                        if (net is SimpleJointNet) Assert.Equal(TestConfigs.InputShape(dims, 3, 9, 2), output.LesionTypeLogits!.shape);
                        else Assert.Null(output.LesionTypeLogits);
                    }
                    Assert.Equal([3L, 2], joint.Classify(x).shape);
                    Assert.Equal([3L, 2], net.call(x).shape); // forward of a joint network is its class logits
                    break;
                case IClassificationNetwork classifier:
                    Assert.Equal([3L, 2], classifier.Classify(x).shape);
                    break;
                case UNet unet:
                    Assert.Equal(TestConfigs.InputShape(dims, 3, 9, 3), unet.call(x).shape);
                    break;
                default:
                    Assert.Fail($"{name}: unexpected network type {net.GetType().Name}");
                    break;
            }
        }
    }

    [Fact]
    public void ForwardLeavesOnlyItsOutputsAlive()
    {
        foreach (var (name, config) in TestConfigs.All(2))
        {
            TestConfigs.Seed();
            using var net = config.Build();
            using var x = TestConfigs.RandomInput(2);
            var before = TestConfigs.LiveTensors;
            int expected;
            long alive;
            switch (net)
            {
                case IJointNetwork joint:
                    using (var o = joint.ForwardJoint(x))
                    {
                        expected = 2 + o.DeepSupervision.Count + (o.LesionTypeLogits is null ? 0 : 1);
                        alive = TestConfigs.LiveTensors - before;
                    }
                    break;
                case ISegmentationNetwork seg:
                    using (var o = seg.ForwardSegmentation(x))
                    {
                        expected = 1 + o.DeepSupervision.Count;
                        alive = TestConfigs.LiveTensors - before;
                    }
                    break;
                default:
                    using (((IClassificationNetwork)net).Classify(x))
                    {
                        expected = 1;
                        alive = TestConfigs.LiveTensors - before;
                    }
                    break;
            }
            Assert.True(expected == alive, $"{name}: {alive} tensors outlived the forward pass, expected {expected} outputs");
            Assert.True(TestConfigs.LiveTensors == before, $"{name}: {TestConfigs.LiveTensors - before} tensors alive after disposing the outputs");
        }
    }

    [Fact]
    public void EvalModeIsDeterministicDespiteDropout()
    {
        TestConfigs.Seed();
        using var net = (EncoderClassifier)TestConfigs.Classifier(2).Build(); // head dropout 0.1
        using var x = TestConfigs.RandomInput(2, batch: 3);
        using var scope = torch.NewDisposeScope();
        net.eval();
        using (torch.no_grad())
            Assert.True(TestConfigs.Same(net.Classify(x), net.Classify(x)));
        net.train();
        Assert.False(TestConfigs.Same(net.Classify(x), net.Classify(x))); // training-mode dropout draws a new mask per call
    }

    [Fact]
    public void TooSmallOrWrongInputIsRejectedWithItsShape()
    {
        TestConfigs.Seed();
        using var net = (UNet)TestConfigs.UNet(2, depth: 4).Build();
        using var small = torch.randn([1, 1, 16, 7]);
        var e = Assert.Throws<ArgumentException>(() => net.call(small));
        Assert.Contains(">= 8", e.Message);
        Assert.Contains("[1, 1, 16, 7]", e.Message);
        using var channels = torch.randn([1, 2, 16, 16]);
        Assert.Contains("1 input channel", Assert.Throws<ArgumentException>(() => net.call(channels)).Message);
        using var volume = torch.randn([1, 1, 16, 16, 16]);
        Assert.Contains("2 spatial dims", Assert.Throws<ArgumentException>(() => net.call(volume)).Message);
    }
}
