using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace MlNetMedical.Models.Tests;

public sealed class GradientTests
{
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void OneBackwardReachesEveryParameter(int dims)
    {
        foreach (var (name, config) in TestConfigs.All(dims))
        {
            TestConfigs.Seed();
            using var net = config.Build();
            using var scope = torch.NewDisposeScope();
            var x = TestConfigs.RandomInput(dims, batch: 4, size: 8);
            var mask = torch.randint(0, 3, [4, .. Enumerable.Repeat(8L, dims)]);
            var labels = torch.tensor(new long[] { 0, 1, 0, 1 });
            TestLosses.Loss(net, x, mask, labels).backward();
            foreach (var (param, p) in net.named_parameters())
            {
                var grad = p.grad;
                Assert.True(grad is not null, $"{name}: {param} got no gradient");
                Assert.True(grad!.abs().sum().item<float>() > 0, $"{name}: {param} has an all-zero gradient");
            }
        }
    }
}
