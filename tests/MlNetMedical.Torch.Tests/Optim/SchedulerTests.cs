using MlNetMedical.Torch.Nn;
using MlNetMedical.Torch.Optim;
using Xunit;

namespace MlNetMedical.Torch.Tests.Optim;

public class SchedulerTests
{
    // Two groups (encoder 0.1, head 1.0) so every schedule is checked per group.
    private static (Linear Encoder, Linear Head, Sgd Optimizer) Setup()
    {
        var enc = new Linear(2, 2);
        var head = new Linear(2, 1);
        var opt = new Sgd([new ParamGroup(enc.Parameters(), learningRate: 0.1), new ParamGroup(head.Parameters())], lr: 1.0, momentum: 0.9);
        return (enc, head, opt);
    }

    private static void Expect(LrScheduler s, Func<double, long, double> closedForm, int steps = 40)
    {
        double[] bases = [0.1, 1.0];
        for (long t = 0; t <= steps; t++)
        {
            if (t > 0) s.Step();
            for (int g = 0; g < 2; g++)
                Assert.True(Math.Abs(closedForm(bases[g], t) - s.Optimizer.GetLearningRate(g)) <= 1e-12 * Math.Max(1, bases[g]),
                    $"{s.GetType().Name} group {g} step {t}: expected {closedForm(bases[g], t)}, got {s.Optimizer.GetLearningRate(g)}");
        }
    }

    [Fact]
    public void StepMultiStepExponential()
    {
        var (e, h, o) = Setup();
        using (e) using (h) using (o)
        {
            Expect(new StepLr(o, 7, 0.5), (b, t) => b * Math.Pow(0.5, t / 7));
            o.SetLearningRate(0, 0.1); o.SetLearningRate(1, 1.0);
            Expect(new MultiStepLr(o, [30, 10, 20], 0.1), (b, t) => b * Math.Pow(0.1, (t >= 10 ? 1 : 0) + (t >= 20 ? 1 : 0) + (t >= 30 ? 1 : 0)));
            o.SetLearningRate(0, 0.1); o.SetLearningRate(1, 1.0);
            Expect(new ExponentialLr(o, 0.95), (b, t) => b * Math.Pow(0.95, t));
        }
    }

    [Fact]
    public void CosineWarmRestartsPoly()
    {
        var (e, h, o) = Setup();
        using (e) using (h) using (o)
        {
            Expect(new CosineAnnealingLr(o, 20, 0.001), (b, t) => 0.001 + (b - 0.001) * (1 + Math.Cos(Math.PI * t / 20)) / 2, steps: 20);
            o.SetLearningRate(0, 0.1); o.SetLearningRate(1, 1.0);
            // T0 = 5, Tmult = 2: restarts at 5, 15, 35.
            Expect(new CosineAnnealingWarmRestarts(o, 5, 2), (b, t) =>
            {
                var (start, period) = t < 5 ? (0, 5) : t < 15 ? (5, 10) : t < 35 ? (15, 20) : (35, 40);
                return b * (1 + Math.Cos(Math.PI * (t - start) / period)) / 2;
            });
            o.SetLearningRate(0, 0.1); o.SetLearningRate(1, 1.0);
            Expect(new PolyLr(o, 30, 0.9), (b, t) => b * Math.Pow(Math.Max(0, 1 - t / 30.0), 0.9));
        }
    }

    [Fact]
    public void OneCycleMatchesPyTorchsPhases()
    {
        var (e, h, o) = Setup();
        using (e) using (h) using (o)
        {
            const int total = 40;
            Expect(new OneCycleLr(o, total, pctStart: 0.25), (max, t) =>
            {
                double init = max / 25, fin = init / 1e4, warmEnd = 0.25 * total - 1, end = total - 1;
                static double Cos(double a, double b, double p) => b + (a - b) / 2 * (Math.Cos(Math.PI * p) + 1);
                return t <= warmEnd ? Cos(init, max, t / warmEnd) : Cos(max, fin, (t - warmEnd) / (end - warmEnd));
            }, steps: total - 1);
            Assert.Equal(1.0, o.LearningRates[1] * 25 * 1e4, 6);
        }
    }

    [Fact]
    public void LinearWarmupComposesWithCosine()
    {
        var (e, h, o) = Setup();
        using (e) using (h) using (o)
        {
            var warm = new LinearWarmup(new CosineAnnealingLr(o, 30), warmupSteps: 5, startFactor: 0.1);
            Expect(warm, (b, t) => t < 5 ? b * (0.1 + 0.9 * t / 5) : b * (1 + Math.Cos(Math.PI * (t - 5) / 30)) / 2, steps: 35);
        }
    }

    [Fact]
    public void ReduceOnPlateauWaitsPatienceThenCoolsDown()
    {
        var (e, h, o) = Setup();
        using (e) using (h) using (o)
        {
            var s = new ReduceLrOnPlateau(o, factor: 0.5, patience: 2, cooldown: 1, minLr: 0.04);
            double[] losses = [1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9];
            var reductions = losses.Select(s.Step).ToArray();
            // Bad steps after 0.9: 1, 2, 3 → reduce at index 4; cooldown swallows index 5; bad 1,2,3 → reduce at index 8.
            Assert.Equal([false, false, false, false, true, false, false, false, true, false], reductions);
            Assert.Equal(0.04, o.GetLearningRate(0), 12); // 0.1 → 0.05 → clamped to minLr
            Assert.Equal(0.25, o.GetLearningRate(1), 12);
        }
    }
}
