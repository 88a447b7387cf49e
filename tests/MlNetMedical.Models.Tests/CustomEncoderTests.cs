using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace MlNetMedical.Models.Tests;

/// <summary>Settings of <see cref="TinyEncoder"/>, as they travel in a network config's JSON.</summary>
public sealed record TinySettings
{
    public int Width { get; init; } = 4;
    public int InChannels { get; init; } = 1;
}

/// <summary>
/// A user's own encoder, as the README's "Bring your own encoder" describes: two levels of conv + ReLU (the second at
/// half resolution) under <c>blocks.0</c> and <c>blocks.1</c>, weights from <see cref="Layers"/> (so from the generator
/// given to <see cref="NetworkConfig.Build"/>). Submodules are held in a field registered by name: TorchSharp registers
/// fields again under their own names, so the field is called what it is registered as.
/// </summary>
public sealed class TinyEncoder : FeatureEncoder
{
    public const string Name = "tiny";

    private readonly ModuleList<Sequential> blocks = new();

    public TinyEncoder(TinySettings settings) : base(nameof(TinyEncoder), 2, settings.InChannels, [settings.Width, 2L * settings.Width])
    {
        blocks.Add(nn.Sequential(("conv", Layers.Conv(2, settings.InChannels, settings.Width, 3)), ("relu", nn.ReLU())));
        blocks.Add(nn.Sequential(("conv", Layers.Conv(2, settings.Width, 2L * settings.Width, 3, stride: 2)), ("relu", nn.ReLU())));
        register_module("blocks", blocks);
    }

    public static void Register() => EncoderRegistry.Register<TinySettings>(Name, s => new TinyEncoder(s));

    protected override string LevelNameOf(int level) => $"blocks.{level}";

    public override IReadOnlyList<Tensor> Features(Tensor input)
    {
        CheckInput(input);
        var first = blocks[0].call(input);
        return [first, blocks[1].call(first)];
    }
}

public sealed class CustomEncoderTests
{
    public CustomEncoderTests() => TinyEncoder.Register();

    private static EncoderClassifierConfig Config(int width = 3, int dims = 2) => new()
    {
        Encoder = EncoderRegistry.Config(TinyEncoder.Name, new TinySettings { Width = width }, spatialDims: dims, inChannels: 1),
        Head = new ClassificationHeadConfig { NumClasses = 2, Levels = [0, 1] },
    };

    private static string[] ExpectedKeys =>
    [
        "encoder.blocks.0.conv.weight", "encoder.blocks.0.conv.bias", "encoder.blocks.1.conv.weight", "encoder.blocks.1.conv.bias",
        "head.output.weight", "head.output.bias",
    ];

    [Fact]
    public void ConfigRoundTripsThroughJsonAndRebuildsTheSameNetwork()
    {
        var config = Config();
        var json = config.ToJson();
        Assert.Contains("\"kind\": \"custom\"", json);
        Assert.Contains("\"name\": \"tiny\"", json);
        Assert.Contains("\"width\": 3", json);
        var back = NetworkConfig.FromJson(json);
        Assert.Equal(json, back.ToJson());

        using var g1 = new Generator(5);
        using var g2 = new Generator(5);
        using var a = (EncoderClassifier)config.Build(g1);
        using var b = (EncoderClassifier)back.Build(g2);
        Assert.IsType<TinyEncoder>(a.Encoder);
        Assert.Equal([3L, 6], a.Encoder.Channels);
        // The user's encoder adds no aliases: its submodules sit in a field named as registered (StateDictNameTests).
        Assert.DoesNotContain(a.Encoder.state_dict().Keys, k => k.Contains("k__BackingField", StringComparison.Ordinal));
        var keys = a.state_dict().Keys.ToList();
        Assert.Equal(ExpectedKeys.Order(StringComparer.Ordinal), keys.Order(StringComparer.Ordinal));
        Assert.Equal(keys, b.state_dict().Keys);
        foreach (var key in keys)
        {
            Assert.Equal(a.state_dict()[key].shape, b.state_dict()[key].shape);
            Assert.True(TestConfigs.Same(a.state_dict()[key], b.state_dict()[key]), $"{key}: same seed, different weights");
        }
        using var x = torch.randn([3, 1, 8, 8]);
        using var logits = a.call(x);
        Assert.Equal([3L, 2], logits.shape);
    }

    [Fact]
    public void FreezingTheFirstLevelFreezesBlocksZeroOnly()
    {
        using var g = new Generator(6);
        using var net = (EncoderClassifier)Config().Build(g);
        Assert.Equal(["encoder.blocks.0", "encoder.blocks.1"], net.EncoderLevelPrefixes);
        Assert.Equal(2, net.FreezeEncoderLevels(1));
        Assert.True(net.IsFrozen("encoder.blocks.0"));
        Assert.False(net.IsFrozen("encoder.blocks.1"));
        foreach (var (name, p) in net.named_parameters())
            Assert.True(p.requires_grad == !name.StartsWith("encoder.blocks.0.", StringComparison.Ordinal), $"{name}: requires_grad {p.requires_grad}");

        var before = net.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        using var opt = torch.optim.Adam(net.parameters(), 1e-2);
        using (var scope = torch.NewDisposeScope())
        {
            opt.zero_grad();
            nn.functional.cross_entropy(net.call(torch.randn([4, 1, 8, 8], generator: g)), torch.tensor(new long[] { 0, 1, 0, 1 })).backward();
            opt.step();
        }
        foreach (var (key, old) in before)
        {
            var same = TestConfigs.Same(old, net.state_dict()[key]);
            Assert.True(same == key.StartsWith("encoder.blocks.0.", StringComparison.Ordinal), $"{key}: {(same ? "unchanged" : "changed")}");
            old.Dispose();
        }
        Assert.Equal(0, net.FreezeEncoderLevels(0));
        Assert.All(net.parameters(), p => Assert.True(p.requires_grad));
    }

    [Fact]
    public void LevelParameterGroupsCoverEveryParameterExactlyOnce()
    {
        using var g = new Generator(7);
        using var net = (EncoderClassifier)Config().Build(g);
        var groups = net.LevelParameterGroups(encoderLearningRate: 1e-4, otherLearningRate: 1e-3);
        Assert.Equal(["encoder.blocks.0", "encoder.blocks.1", "rest"], groups.Select(gr => gr.Name));
        Assert.Equal([1e-4, 1e-4, 1e-3], groups.Select(gr => gr.LearningRate!.Value));
        var grouped = groups.SelectMany(gr => gr.Parameters).ToList();
        var all = net.parameters().ToList();
        Assert.Equal(all.Count, grouped.Count);
        Assert.Equal(all.Count, grouped.Distinct(ReferenceEqualityComparer.Instance).Count());
        Assert.All(all, p => Assert.Contains(p, grouped, ReferenceEqualityComparer.Instance));
        Assert.Equal(2, groups[0].Parameters.Count);
        Assert.Equal(2, groups[1].Parameters.Count);
        Assert.Equal(2, groups[2].Parameters.Count); // head.output
    }

    [Fact]
    public void FewTrainingStepsLearnASeparableToyTask()
    {
        using var g = new Generator(8);
        using var net = (EncoderClassifier)Config(width: 4).Build(g);
        // Class 1: a bright 4×4 square somewhere in the 8×8 image; class 0: noise only.
        using var labels = torch.tensor(new long[] { 0, 1, 0, 1, 0, 1, 0, 1 });
        using var x = 0.3 * torch.randn([8, 1, 8, 8], generator: g);
        using (torch.no_grad())
            for (int i = 1; i < 8; i += 2)
                x[i, 0, TensorIndex.Slice(i / 2, i / 2 + 4), TensorIndex.Slice(4 - i / 2, 8 - i / 2)].add_(1.0);
        using var opt = torch.optim.Adam(net.parameters(), 2e-2);
        net.train();
        var losses = new List<double>();
        for (int step = 0; step < 25; step++)
        {
            using var scope = torch.NewDisposeScope();
            opt.zero_grad();
            var loss = nn.functional.cross_entropy(net.call(x), labels);
            losses.Add(loss.item<float>());
            loss.backward();
            opt.step();
        }
        Assert.True(losses[^1] < 0.5 * losses[0], $"loss {losses[0]:F4} -> {losses[^1]:F4}");
        net.eval();
        using (torch.no_grad())
        using (var predicted = net.call(x).argmax(1))
            Assert.True(predicted.eq(labels).all().item<bool>(), "the toy task is not separated");
    }

    [Fact]
    public void AUserEncoderIsPretrainedAsTheEncoderOfAUNetAndTransfersToAClassifier()
    {
        var unetConfig = new UNetConfig { Encoder = EncoderRegistry.Config(TinyEncoder.Name, new TinySettings { Width = 4 }, spatialDims: 2, inChannels: 1), NumClasses = 2 };
        var json = unetConfig.ToJson();
        Assert.Contains("\"kind\": \"custom\"", json);
        using var g = new Generator(9);
        using var unet = (UNet)NetworkConfig.FromJson(json).Build(g);
        Assert.IsType<TinyEncoder>(unet.Encoder);
        // Segmentation: the mask is the bright square itself.
        using var x = 0.2 * torch.randn([4, 1, 8, 8], generator: g);
        using var mask = torch.zeros([4, 8, 8], ScalarType.Int64);
        using (torch.no_grad())
            for (int i = 0; i < 4; i++)
            {
                x[i, 0, TensorIndex.Slice(i, i + 4), TensorIndex.Slice(2, 6)].add_(1.0);
                mask[i, TensorIndex.Slice(i, i + 4), TensorIndex.Slice(2, 6)].fill_(1);
            }
        using var opt = torch.optim.Adam(unet.parameters(), 2e-2);
        unet.train();
        var losses = new List<double>();
        for (int step = 0; step < 30; step++)
        {
            using var scope = torch.NewDisposeScope();
            opt.zero_grad();
            var logits = unet.call(x);
            Assert.Equal([4L, 2, 8, 8], logits.shape);
            var loss = SegmentationLosses.DiceCrossEntropy(logits, mask);
            losses.Add(loss.item<float>());
            loss.backward();
            opt.step();
        }
        Assert.True(losses[^1] < 0.5 * losses[0], $"loss {losses[0]:F4} -> {losses[^1]:F4}");

        // The pretrained encoder moves into a classifier over the same user encoder, strictly.
        var classifierConfig = EncoderClassifierConfig.FromSegmentation(unetConfig, new ClassificationHeadConfig { NumClasses = 2 });
        using var classifier = (EncoderClassifier)classifierConfig.Build(g);
        var result = classifier.LoadEncoder(unet.state_dict());
        Assert.True(result.IsExact, result.ToString());
        Assert.Equal(unet.Encoder.state_dict().Keys.Count(), result.Loaded.Count);
        Assert.Contains("decoder.stages.0.block.conv1.weight", result.Ignored);
    }

    [Fact]
    public void PooledFeaturesAreTheAveragedLevels()
    {
        using var g = new Generator(9);
        using var net = (EncoderClassifier)Config().Build(g);
        net.eval();
        using var scope = torch.NewDisposeScope();
        var x = torch.randn([2, 1, 8, 8], generator: g);
        using var _ = torch.no_grad();
        var pooled = net.PooledFeatures(x);
        Assert.Equal([2L, 3 + 6], pooled.shape);
        Assert.Equal(9, net.Head.PooledWidth);
        var features = net.Encoder.Features(x);
        Assert.Equal([2L, 3, 8, 8], features[0].shape);
        Assert.Equal([2L, 6, 4, 4], features[1].shape);
        var manual = torch.cat([features[0].mean([2, 3]), features[1].mean([2, 3])], 1);
        Assert.True(TestConfigs.MaxAbsDiff(pooled, manual) < 1e-6);
        // The head classifies exactly these features.
        Assert.True(TestConfigs.MaxAbsDiff(net.call(x), net.Head.Output.call(pooled)) < 1e-6);
    }

    [Fact]
    public void MismatchedOrUnknownEncodersAreRejected()
    {
        var wrongDims = Assert.Throws<ArgumentException>(() => Config(dims: 3).Build());
        Assert.Contains("custom encoder 'tiny'", wrongDims.Message);
        var unknown = new EncoderClassifierConfig { Encoder = new CustomEncoderConfig { Name = "no-such-encoder" } };
        var e = Assert.Throws<ArgumentException>(() => unknown.Build());
        Assert.Contains("no-such-encoder", e.Message);
        Assert.Contains("tiny", e.Message); // lists what is registered
        using var net = Config().Build();
        using var volume = torch.randn([1, 1, 8, 8, 8]);
        Assert.Contains("2 spatial dims", Assert.Throws<ArgumentException>(() => net.call(volume)).Message);
    }
}
