using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace MlNetMedical.Models.Tests.Engine;

/// <summary>The scalar-safe Adam must be TorchSharp's Adam bit for bit, including its saved state.</summary>
public sealed class ScalarSafeAdamTests
{
    private static Sequential Network()
    {
        torch.manual_seed(11);
        return nn.Sequential(("conv", nn.Conv2d(1, 3, 3)), ("relu", nn.ReLU()), ("flat", nn.Flatten()), ("fc", nn.Linear(3 * 4 * 4, 2)));
    }

    /// <summary>Two groups with their own rate and weight decay, as the fine-tuning trainers build them.</summary>
    private static List<Adam.ParamGroup> Groups(Sequential network) =>
    [
        new(network.named_parameters().Where(p => p.name.StartsWith("conv", StringComparison.Ordinal)).Select(p => p.parameter), lr: 1e-2, weight_decay: 0),
        new(network.named_parameters().Where(p => p.name.StartsWith("fc", StringComparison.Ordinal)).Select(p => p.parameter), lr: 3e-3, weight_decay: 1e-2),
    ];

    private static void Steps(Sequential network, OptimizerHelper optimizer, optim.lr_scheduler.LRScheduler? scheduler, int from, int count)
    {
        for (var i = from; i < from + count; i++)
        {
            using var scope = torch.NewDisposeScope();
            var generator = new Generator((ulong)(100 + i));
            var x = torch.randn([4, 1, 6, 6], generator: generator);
            var y = torch.tensor(new long[] { i % 2, 1, 0, (i / 2) % 2 });
            optimizer.zero_grad();
            nn.functional.cross_entropy(network.forward(x), y).backward();
            optimizer.step();
            if (i % 3 == 2) scheduler?.step();
        }
    }

    private static void AssertSameParameters(Sequential expected, Sequential actual)
    {
        foreach (var ((name, e), (_, a)) in expected.named_parameters().Zip(actual.named_parameters()))
            Assert.True(e.eq(a).all().item<bool>(), $"parameter {name} differs: max |diff| {(e - a).abs().max().ToDouble()}");
    }

    [Fact]
    public void StepsMatchTorchSharpsAdamBitForBit()
    {
        using var stock = Network();
        using var safe = Network();
        using var stockAdam = optim.Adam(Groups(stock), 1e-3);
        using var safeAdam = new ScalarSafeAdam(Groups(safe), 1e-3, 0);
        var stockSchedule = optim.lr_scheduler.CosineAnnealingLR(stockAdam, 4);
        var safeSchedule = optim.lr_scheduler.CosineAnnealingLR(safeAdam, 4);
        Steps(stock, stockAdam, stockSchedule, 0, 12);
        Steps(safe, safeAdam, safeSchedule, 0, 12);
        AssertSameParameters(stock, safe);
        using var start = Network();
        Assert.False(start.named_parameters().First().parameter.eq(safe.named_parameters().First().parameter).all().item<bool>(), "the steps changed nothing");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ResumesFromItsOwnStateAndFromTorchSharpAdamState(bool savedByTorchSharpsAdam)
    {
        // Six steps, the state saved (by this class, or by TorchSharp's Adam as checkpoints written before it were), loaded
        // into a fresh ScalarSafeAdam over a copy of the network; six more steps on both must give the same bits.
        using var uninterrupted = Network();
        using var resumed = Network();
        using OptimizerHelper first = savedByTorchSharpsAdam ? optim.Adam(Groups(uninterrupted), 1e-3) : new ScalarSafeAdam(Groups(uninterrupted), 1e-3, 0);
        Steps(uninterrupted, first, null, 0, 6);
        using (torch.no_grad())
            foreach (var ((_, from), (_, to)) in uninterrupted.named_parameters().Zip(resumed.named_parameters())) to.copy_(from);
        var saved = new MemoryStream();
        using (var writer = new BinaryWriter(saved, System.Text.Encoding.UTF8, leaveOpen: true)) first.save_state_dict(writer);
        using var second = new ScalarSafeAdam(Groups(resumed), 1e-3, 0);
        saved.Position = 0;
        second.LoadState(saved);
        Steps(uninterrupted, first, null, 6, 6);
        Steps(resumed, second, null, 6, 6);
        AssertSameParameters(uninterrupted, resumed);
    }

    [Fact]
    public void StateOfAnotherOptimizerIsRefusedByName()
    {
        using var network = Network();
        using var sgd = optim.SGD(network.parameters(), 0.1);
        var saved = new MemoryStream();
        using (var writer = new BinaryWriter(saved, System.Text.Encoding.UTF8, leaveOpen: true)) sgd.save_state_dict(writer);
        saved.Position = 0;
        using var adam = new ScalarSafeAdam(Groups(network), 1e-3, 0);
        var e = Assert.Throws<InvalidDataException>(() => adam.LoadState(saved));
        Assert.Contains("SGD", e.Message);
    }

    [Fact]
    public void AmsGradIsRefused()
    {
        using var network = Network();
        using var adam = new ScalarSafeAdam([new Adam.ParamGroup(network.parameters(), lr: 1e-3, amsgrad: true)], 1e-3, 0);
        var e = Assert.Throws<NotSupportedException>(() => Steps(network, adam, null, 0, 1));
        Assert.Contains("AMSGrad", e.Message);
    }
}
