using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace MlNetMedical.Models.Tests;

/// <summary>
/// A network's state dict must hold exactly its PyTorch names (README "Parameter names"), each tensor once: that is what
/// is saved, what PyTorch loads strictly, and what a PyTorch state dict must supply for a strict load.
/// </summary>
public sealed class StateDictNameTests
{
    // TorchSharp 0.107's register_module(name, child) calls child.RegisterComponents(), which registers every Module and
    // Tensor field of the child not yet registered under the field's own name, base classes' private fields included:
    // the compiler's backing fields of the get-only auto-properties holding submodules (UNetEncoder.Stages,
    // DecoderStage.Up/Block, ClassificationHead.Hidden/Output, ...) come back as "<Stages>k__BackingField" aliases.
    [Fact]
    public void StateDictsHoldOnlyPyTorchNames()
    {
        foreach (var dims in new[] { 2, 3 })
            foreach (var (name, config) in TestConfigs.All(dims))
            {
                using var net = config.Build();
                var keys = net.state_dict().Keys.ToList();
                Assert.True(keys.All(k => !k.Contains('<') && !k.Contains('>')), $"{name} {dims}D: {string.Join(", ", keys.Where(TestConfigs.IsAlias).Take(3))} ...");
                var parameters = net.named_parameters().Select(p => p.name).ToList();
                var buffers = net.named_buffers().Select(b => b.name).ToList();
                Assert.Equal(parameters.Concat(buffers).Order(StringComparer.Ordinal), keys.Order(StringComparer.Ordinal));
                Assert.All(net.named_modules(), m => Assert.DoesNotContain("k__BackingField", m.name));
            }
    }

    [Fact]
    public void PyTorchNamedStateDictLoadsStrictly()
    {
        using var source = TestConfigs.Classifier(2).Build();
        using var target = TestConfigs.Classifier(2).Build();
        var result = target.LoadStateDict(TestConfigs.PyTorchStateDict(source)); // strict
        Assert.True(result.IsExact, result.ToString());
    }

    [Fact]
    public void AliasesAreTheSameTensorsUnderASecondName()
    {
        // What the workaround in these tests (TestConfigs.PyTorchStateDict) relies on: dropping the aliases loses nothing.
        using var net = TestConfigs.UNet(2).Build();
        var all = net.state_dict();
        var pyTorch = TestConfigs.PyTorchStateDict(net);
        Assert.Contains("encoder.stages.0.conv1.weight", pyTorch.Keys);
        Assert.Contains("decoder.stages.1.block.norm2.running_var", pyTorch.Keys);
        using (torch.no_grad())
            foreach (var t in pyTorch.Values) t.fill_(7);
        Assert.All(all.Where(kv => TestConfigs.IsAlias(kv.Key)), kv => Assert.True(kv.Value.eq(7).all().item<bool>(), kv.Key));
        Assert.Equal(net.named_parameters().Count() + net.named_buffers().Count(k => !TestConfigs.IsAlias(k.name)), pyTorch.Count);
    }
}
