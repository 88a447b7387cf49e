using MlNetMedical.Torch;
using Xunit;
using TorchRt = MlNetMedical.Torch.Torch;

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
            using var scope = TorchRt.NewDisposeScope();
            var x = TestConfigs.RandomInput(dims, batch: 4, size: 8);
            var mask = Tensor.RandInt(0, 3, [4, .. Enumerable.Repeat(8L, dims)]);
            var labels = Tensor.FromArray(new long[] { 0, 1, 0, 1 }, 4);
            TestLosses.Loss(net, x, mask, labels).Backward();
            foreach (var (param, p) in net.NamedParameters())
            {
                var grad = p.Grad;
                Assert.True(grad != null, $"{name}: {param} got no gradient");
                using (grad)
                using (var norm = grad!.Abs().Sum())
                    Assert.True(norm.ToDouble() > 0, $"{name}: {param} has an all-zero gradient");
            }
        }
    }
}
