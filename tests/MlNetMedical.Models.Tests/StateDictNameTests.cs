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
    // Tensor field of the child not yet registered under the field's own name: without the modules' no-op override, the
    // backing fields of the auto-properties holding submodules came back as "<Stages>k__BackingField" aliases.
    [Fact]
    public void StateDictsHoldOnlyPyTorchNames()
    {
        foreach (var dims in new[] { 2, 3 })
            foreach (var (name, config) in TestConfigs.All(dims))
            {
                using var net = config.Build();
                var keys = net.state_dict().Keys.ToList();
                Assert.True(keys.All(k => !k.Contains('<') && !k.Contains('>')), $"{name} {dims}D: {string.Join(", ", keys.Where(k => k.Contains('<')).Take(3))} ...");
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
        var result = target.LoadStateDict(source.state_dict()); // strict
        Assert.True(result.IsExact, result.ToString());
    }
}
