using MlNetMedical.Torch;
using Xunit;
using TorchRt = MlNetMedical.Torch.Torch;

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
            using var scope = TorchRt.NewDisposeScope();
            var x = Tensor.Randn([2, 1, .. size]);
            var y = net.Forward(x);
            Assert.Equal([2, 3, .. size], y.Shape);
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void DeepSupervisionOutputsAreAtHalvedResolutions(int dims)
    {
        TestConfigs.Seed();
        using var net = (UNet)TestConfigs.UNet(dims, depth: 4, classes: 2, deepSupervision: 2).Build();
        using var scope = TorchRt.NewDisposeScope();
        var size = dims == 2 ? 17L : 9L;
        using var output = net.ForwardSegmentation(Tensor.Randn(TestConfigs.InputShape(dims, 2, size)));
        Assert.Equal(TestConfigs.InputShape(dims, 2, size, 2), output.Logits.Shape);
        Assert.Equal(2, output.DeepSupervision.Count);
        Assert.Equal(TestConfigs.InputShape(dims, 2, size / 2, 2), output.DeepSupervision[0].Shape);
        Assert.Equal(TestConfigs.InputShape(dims, 2, size / 4, 2), output.DeepSupervision[1].Shape);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void EncoderReturnsOneFeaturePerLevel(int dims)
    {
        TestConfigs.Seed();
        using var encoder = new UNetEncoder(TestConfigs.Encoder(dims, depth: 4, width: 3) with { ChannelMultiplier = 1.5, MaxChannels = 8 });
        Assert.Equal([3L, 5, 7, 8], encoder.Channels); // round(3·1.5^i) capped at 8
        using var scope = TorchRt.NewDisposeScope();
        var features = encoder.Features(Tensor.Randn(TestConfigs.InputShape(dims, 1, 11)));
        Assert.Equal(4, features.Count);
        long[] sizes = [11, 5, 2, 1];
        for (int level = 0; level < 4; level++)
            Assert.Equal(TestConfigs.InputShape(dims, 1, sizes[level], encoder.Channels[level]), features[level].Shape);
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
            using var scope = TorchRt.NewDisposeScope();
            var x = TestConfigs.RandomInput(dims, batch: 3, size: 9);
            switch (net)
            {
                case IJointNetwork joint:
                    using (var output = joint.ForwardJoint(x))
                    {
                        Assert.Equal(TestConfigs.InputShape(dims, 3, 9, 3), output.SegmentationLogits.Shape);
                        Assert.Equal([3L, 2], output.ClassLogits.Shape);
                        Assert.Single(output.DeepSupervision);
                        if (net is SimpleJointNet) Assert.Equal(TestConfigs.InputShape(dims, 3, 9, 2), output.LesionTypeLogits!.Shape);
                        else Assert.Null(output.LesionTypeLogits);
                    }
                    Assert.Equal([3L, 2], joint.Classify(x).Shape);
                    break;
                case IClassificationNetwork classifier:
                    Assert.Equal([3L, 2], classifier.Classify(x).Shape);
                    break;
                case UNet unet:
                    Assert.Equal(TestConfigs.InputShape(dims, 3, 9, 3), unet.Forward(x).Shape);
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
            using var scope = TorchRt.NewDisposeScope();
            int expected;
            switch (net)
            {
                case IJointNetwork joint:
                    using (var o = joint.ForwardJoint(x)) expected = 2 + o.DeepSupervision.Count + (o.LesionTypeLogits == null ? 0 : 1);
                    break;
                case ISegmentationNetwork seg:
                    using (var o = seg.ForwardSegmentation(x)) expected = 1 + o.DeepSupervision.Count;
                    break;
                default:
                    ((IClassificationNetwork)net).Classify(x).Dispose();
                    expected = 1;
                    break;
            }
            Assert.True(expected == scope.Count, $"{name}: {scope.Count} tensors reached the caller's scope, expected {expected} outputs");
        }
    }

    [Fact]
    public void EvalModeIsDeterministicDespiteDropout()
    {
        TestConfigs.Seed();
        using var net = (EncoderClassifier)TestConfigs.Classifier(2).Build(); // head dropout 0.1
        using var x = TestConfigs.RandomInput(2, batch: 3);
        using var scope = TorchRt.NewDisposeScope();
        net.Eval();
        using (TorchRt.NoGrad())
            Assert.True(net.Classify(x).AllClose(net.Classify(x), 0, 0));
        net.Train();
        Assert.False(net.Classify(x).AllClose(net.Classify(x), 0, 0)); // training-mode dropout draws a new mask per call
    }

    [Fact]
    public void TooSmallOrWrongInputIsRejectedWithItsShape()
    {
        TestConfigs.Seed();
        using var net = (UNet)TestConfigs.UNet(2, depth: 4).Build();
        using var small = Tensor.Randn([1, 1, 16, 7]);
        var e = Assert.Throws<ArgumentException>(() => net.Forward(small));
        Assert.Contains(">= 8", e.Message);
        Assert.Contains("[1, 1, 16, 7]", e.Message);
        using var channels = Tensor.Randn([1, 2, 16, 16]);
        Assert.Contains("1 input channel", Assert.Throws<ArgumentException>(() => net.Forward(channels)).Message);
        using var volume = Tensor.Randn([1, 1, 16, 16, 16]);
        Assert.Contains("2 spatial dims", Assert.Throws<ArgumentException>(() => net.Forward(volume)).Message);
    }
}
