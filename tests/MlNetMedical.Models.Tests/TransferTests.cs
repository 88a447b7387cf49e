using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace MlNetMedical.Models.Tests;

public sealed class TransferTests
{
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void SegmentationEncoderLoadsIntoClassifier(int dims)
    {
        TestConfigs.Seed(1);
        var segConfig = TestConfigs.UNet(dims, deepSupervision: 1);
        using var unet = (UNet)segConfig.Build();
        TestConfigs.Seed(2); // different initial weights, so equality below proves the copy
        using var classifier = (EncoderClassifier)EncoderClassifierConfig.FromSegmentation(segConfig, new ClassificationHeadConfig { NumClasses = 4 }).Build();

        var source = unet.state_dict();
        var result = classifier.LoadEncoder(source);

        var encoderKeys = source.Keys.Where(k => k.StartsWith("encoder.", StringComparison.Ordinal)).ToHashSet();
        Assert.Equal(encoderKeys.Order(), result.Loaded.Order());
        Assert.Contains("encoder.stages.1.conv1.weight", result.Loaded);
        Assert.Contains("encoder.stages.2.norm2.running_var", result.Loaded);
        Assert.Empty(result.Missing);
        Assert.Empty(result.Unexpected);
        Assert.Empty(result.ShapeMismatched);
        Assert.Equal(source.Keys.Where(k => !encoderKeys.Contains(k)).Order(), result.Ignored.Order());
        Assert.Contains("decoder.stages.0.up.weight", result.Ignored);
        Assert.Contains("deep_supervision_heads.level1.weight", result.Ignored);

        var target = classifier.state_dict();
        foreach (var key in encoderKeys)
            Assert.True(TestConfigs.Same(target[key], source[key]), key);
        Assert.Equal(target.Keys.Where(k => k.StartsWith("head.", StringComparison.Ordinal)).Order(), target.Keys.Except(encoderKeys).Order());
    }

    [Fact]
    public void WholeUNetLoadsIntoJointNetworksLeavingOnlyClassificationPartsMissing()
    {
        TestConfigs.Seed();
        var segConfig = TestConfigs.UNet(2);
        using var unet = segConfig.Build();
        using var ynet = new YNetConfig { UNet = segConfig, NumClasses = 3 }.Build();
        using var simple = new SimpleJointConfig { UNet = segConfig, NumClasses = 3 }.Build();
        var ry = ynet.LoadStateDict(unet.state_dict(), strict: false);
        var rs = simple.LoadStateDict(unet.state_dict(), strict: false);
        Assert.Equal(unet.state_dict().Count, ry.Loaded.Count);
        Assert.Equal(unet.state_dict().Count, rs.Loaded.Count);
        Assert.All(ry.Missing, k => Assert.StartsWith("classifier.", k));
        Assert.All(rs.Missing, k => Assert.True(k.StartsWith("classifier.", StringComparison.Ordinal) || k.StartsWith("lesion_type_head.", StringComparison.Ordinal), k));
        Assert.Empty(ry.Unexpected);
        Assert.Empty(rs.Unexpected);
    }

    [Fact]
    public void MismatchedEncoderFailsStrictLoadNamingTheKeys()
    {
        TestConfigs.Seed();
        using var deep = TestConfigs.UNet(2, depth: 4).Build();
        using var classifier = (EncoderClassifier)TestConfigs.Classifier(2).Build(); // depth 3
        var before = classifier.state_dict()["encoder.stages.0.conv1.weight"].clone();
        var e = Assert.Throws<StateDictMismatchException>(() => classifier.LoadEncoder(deep.state_dict()));
        Assert.Contains("encoder.stages.3.conv1.weight", e.Result.Unexpected);
        Assert.True(TestConfigs.Same(classifier.state_dict()["encoder.stages.0.conv1.weight"], before)); // nothing loaded
        before.Dispose();

        using var wide = new UNetConfig { Encoder = TestConfigs.Encoder(2, width: 6) }.Build();
        var mismatch = classifier.LoadEncoder(wide.state_dict(), strict: false);
        Assert.Contains(mismatch.ShapeMismatched, m => m.Key == "encoder.stages.0.conv1.weight");
    }

    [Fact]
    public void EncoderLevelsAreNamedAndGroupedForOptimizers()
    {
        TestConfigs.Seed();
        using var classifier = (EncoderClassifier)TestConfigs.Classifier(2).Build();
        Assert.Equal(["encoder.stages.0", "encoder.stages.1", "encoder.stages.2"], classifier.EncoderLevelPrefixes);
        using var resnet = (EncoderClassifier)TestConfigs.ResNet(2).Build();
        Assert.Equal(["encoder.stem", "encoder.stages.0", "encoder.stages.1"], resnet.EncoderLevelPrefixes);
        Assert.Contains(resnet.EncoderLevelParameters(2), p => p.Name == "encoder.stages.1.1.conv2.weight");

        var groups = classifier.LevelParameterGroups(encoderLearningRate: 1e-4, otherLearningRate: 1e-3);
        Assert.Equal(4, groups.Count);
        Assert.Equal("rest", groups[3].Name);
        Assert.Equal(classifier.parameters().Count(), groups.Sum(g => g.Parameters.Count));
        using var adam = torch.optim.Adam(groups.Select(g => new Adam.ParamGroup(g.Parameters, new Adam.Options { LearningRate = g.LearningRate })), lr: 1e-2);
        Assert.Equal([1e-4, 1e-4, 1e-4, 1e-3], adam.ParamGroups.Select(g => g.LearningRate));
        var defaults = classifier.LevelParameterGroups(); // null learning rates: the optimizer's default
        using var sgd = torch.optim.SGD(defaults.Select(g => new SGD.ParamGroup(g.Parameters, new SGD.Options { LearningRate = g.LearningRate })), 0.05);
        Assert.All(sgd.ParamGroups, g => Assert.Equal(0.05, g.LearningRate));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void FrozenLevelsStayBitIdenticalThroughAnOptimizerStep(int dims)
    {
        TestConfigs.Seed();
        using var net = (EncoderClassifier)TestConfigs.Classifier(dims).Build();
        Assert.Equal(0, net.FreezeEncoderLevels(0));
        var frozenCount = net.FreezeEncoderLevels(2);
        Assert.Equal(net.EncoderLevelParameters(0).Count() + net.EncoderLevelParameters(1).Count(), frozenCount);
        net.train();
        var before = net.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        using var adam = torch.optim.Adam(net.parameters(), lr: 1e-2);
        for (int step = 0; step < 2; step++)
        {
            using var scope = torch.NewDisposeScope();
            adam.zero_grad();
            var x = TestConfigs.RandomInput(dims, batch: 4, size: 8);
            TestLosses.Loss(net, x, null, torch.tensor(new long[] { 0, 1, 1, 0 })).backward();
            adam.step();
        }
        var after = net.state_dict();
        foreach (var (key, value) in before)
        {
            bool frozen = key.StartsWith("encoder.stages.0.", StringComparison.Ordinal) || key.StartsWith("encoder.stages.1.", StringComparison.Ordinal);
            bool same = TestConfigs.Same(value, after[key]);
            if (frozen) Assert.True(same, $"frozen {key} changed"); // weights and BN running statistics
            else if (!key.EndsWith("num_batches_tracked", StringComparison.Ordinal)) Assert.False(same, $"trainable {key} did not change");
            value.Dispose();
        }
    }

    [Fact]
    public void FreezingMidTrainingHoldsDespiteOptimizerMomentum()
    {
        TestConfigs.Seed();
        using var net = (EncoderClassifier)TestConfigs.Classifier(2).Build();
        net.train();
        using var adam = torch.optim.Adam(net.parameters(), lr: 1e-2, weight_decay: 1e-2);
        var labels = torch.tensor(new long[] { 0, 1, 1, 0 });
        void Step()
        {
            using var scope = torch.NewDisposeScope();
            adam.zero_grad();
            TestLosses.Loss(net, TestConfigs.RandomInput(2, batch: 4, size: 8), null, labels).backward();
            adam.step();
        }
        Step(); // every parameter now has a gradient and Adam moments
        net.FreezeEncoder();
        var before = net.EncoderLevelParameters(0).Select(p => p.Parameter.clone()).ToList();
        Step();
        Step();
        foreach (var ((name, p), old) in net.EncoderLevelParameters(0).Zip(before))
        {
            Assert.True(TestConfigs.Same(p, old), $"frozen {name} moved");
            old.Dispose();
        }
        labels.Dispose();
    }
}
