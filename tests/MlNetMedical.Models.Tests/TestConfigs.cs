using TorchSharp;
using static TorchSharp.torch;

namespace MlNetMedical.Models.Tests;

/// <summary>Tiny configs so every test runs in well under a second per network.</summary>
internal static class TestConfigs
{
    public static UNetEncoderConfig Encoder(int dims, int depth = 3, int width = 4, NormKind norm = NormKind.Batch, BlockKind block = BlockKind.Plain,
                                            DownsamplingKind down = DownsamplingKind.MaxPool, int inChannels = 1) => new()
    {
        SpatialDims = dims, InChannels = inChannels, Depth = depth, BaseChannels = width, Norm = norm, NormGroups = 2, Block = block, Downsampling = down,
    };

    public static UNetConfig UNet(int dims, int depth = 3, int classes = 3, int deepSupervision = 0, UpsamplingKind up = UpsamplingKind.TransposedConv,
                                  NormKind norm = NormKind.Batch, BlockKind block = BlockKind.Plain, DownsamplingKind down = DownsamplingKind.MaxPool) => new()
    {
        Encoder = Encoder(dims, depth, norm: norm, block: block, down: down), NumClasses = classes, DeepSupervisionOutputs = deepSupervision, Upsampling = up,
    };

    public static EncoderClassifierConfig Classifier(int dims, int classes = 2) =>
        EncoderClassifierConfig.FromSegmentation(UNet(dims), new ClassificationHeadConfig { NumClasses = classes, Levels = [1, -1], Pooling = PoolingKind.AverageMax, Dropout = 0.1, HiddenUnits = [8] });

    public static EncoderClassifierConfig PlainCnn(int dims, int classes = 2) => EncoderClassifierConfig.PlainCnn(dims, 1, classes, depth: 3, baseChannels: 4);

    public static EncoderClassifierConfig ResNet(int dims, int classes = 2) => EncoderClassifierConfig.ResNet(dims, 1, classes, baseChannels: 4, blocksPerStage: [1, 2]);

    public static YNetConfig YNet(int dims, int classes = 2, int deepSupervision = 0) =>
        new() { UNet = UNet(dims, deepSupervision: deepSupervision), NumClasses = classes, HiddenUnits = [16, 8] };

    public static SimpleJointConfig SimpleJoint(int dims, int classes = 2, int deepSupervision = 0) =>
        new() { UNet = UNet(dims, deepSupervision: deepSupervision), NumClasses = classes, HiddenUnits = [8] };

    /// <summary>One of each network config, by name.</summary>
    public static IEnumerable<(string Name, NetworkConfig Config)> All(int dims)
    {
        yield return ("unet", UNet(dims, deepSupervision: 1));
        yield return ("unet-residual-strided-group-linear", UNet(dims, deepSupervision: 1, up: UpsamplingKind.Linear, norm: NormKind.Group, block: BlockKind.Residual, down: DownsamplingKind.StridedConv));
        yield return ("classifier", Classifier(dims));
        yield return ("plain-cnn", PlainCnn(dims));
        yield return ("resnet", ResNet(dims));
        yield return ("ynet", YNet(dims, deepSupervision: 1));
        yield return ("simple-joint", SimpleJoint(dims, deepSupervision: 1));
    }

    public static long[] InputShape(int dims, long batch, long size, long channels = 1) =>
        [batch, channels, .. Enumerable.Repeat(size, dims)];

    /// <summary>Standard normal input from libtorch's default generator (seed it with <see cref="Seed"/>).</summary>
    public static Tensor RandomInput(int dims, long batch = 2, long size = 8) => torch.randn(InputShape(dims, batch, size));

    /// <summary>Seeds libtorch's default generator, which <c>Build()</c> without a generator and the inputs draw from.</summary>
    public static void Seed(long seed = 1) => torch.manual_seed(seed);

    /// <summary>Element-wise equality of two tensors, NaN-free: same shape and every value bit-identical.</summary>
    public static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.dtype == b.dtype && a.eq(b).all().item<bool>();

    /// <summary>‖a − b‖ / ‖b‖ in float64.</summary>
    public static double RelativeError(Tensor a, Tensor b)
    {
        using var scope = torch.NewDisposeScope();
        var x = a.detach().to(ScalarType.Float64);
        var y = b.detach().to(ScalarType.Float64);
        return (x - y).norm().item<double>() / Math.Max(1e-12, y.norm().item<double>());
    }

    /// <summary>max |a − b| in float64.</summary>
    public static double MaxAbsDiff(Tensor a, Tensor b)
    {
        using var scope = torch.NewDisposeScope();
        return (a.detach().to(ScalarType.Float64) - b.detach().to(ScalarType.Float64)).abs().max().item<double>();
    }

    /// <summary>Tensors this thread created and has not disposed (TorchSharp's per-thread lifetime statistics).</summary>
    public static long LiveTensors => DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount;
}
