using MlNetMedical.Torch.Nn;
using MlNetMedical.Torch.Optim;
using Xunit;
using Xunit.Abstractions;

namespace MlNetMedical.Torch.Tests.Nn;

[Collection(nameof(GlobalStateCollection))] // RSS is process-wide: measure while nothing else runs
public sealed class NnMemoryTests(ITestOutputHelper output)
{
    private static long RssKilobytes()
    {
        using var p = System.Diagnostics.Process.GetCurrentProcess();
        return p.WorkingSet64 / 1024;
    }

    [Fact]
    public void ModuleTrainingStepsInAScopeDoNotLeak()
    {
        Torch.ManualSeed(21);
        using var model = new TinyClassifier();
        using var opt = new Adam([new ParamGroup(model.Encoder.Parameters(), learningRate: 1e-4), new ParamGroup(model.Head.Parameters())]);
        var sched = new LinearWarmup(new CosineAnnealingLr(opt, 100), 10);
        using var x = Tensor.Randn([4, 1, 8, 8]);
        using var y = Tensor.FromArray(new long[] { 0, 1, 1, 0 });
        using var seg = Tensor.RandInt(0, 2, [4, 8, 8]);

        void Step()
        {
            using var scope = Torch.NewDisposeScope();
            opt.ZeroGrad(setToNone: true);
            var logits = model.Forward(x);
            var loss = Losses.CrossEntropy(logits, y, labelSmoothing: 0.1) + Losses.Dice(model.Encoder.Forward(x).Narrow(1, 0, 2), seg);
            loss.Backward();
            GradClip.ByNorm(model.Parameters(), 1.0);
            opt.Step();
            sched.Step();
        }

        for (int i = 0; i < 50; i++) Step();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var before = RssKilobytes();
        var handles = Torch.LiveTensorCount;
        const int Steps = 600;
        for (int i = 0; i < Steps; i++) Step();
        Assert.Equal(handles, Torch.LiveTensorCount); // no tensor escapes a step's scope
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var after = RssKilobytes();
        output.WriteLine($"RSS before {before / 1024.0:F1} MB, after {after / 1024.0:F1} MB over {Steps} steps");
        Assert.True(after - before < 30 * 1024, $"RSS grew by {(after - before) / 1024.0:F1} MB over {Steps} steps");
    }
}
