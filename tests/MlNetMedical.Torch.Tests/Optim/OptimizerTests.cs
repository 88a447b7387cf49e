using MlNetMedical.Torch.Nn;
using MlNetMedical.Torch.Optim;
using MlNetMedical.Torch.Tests.Nn;
using Xunit;

namespace MlNetMedical.Torch.Tests.Optim;

public class OptimizerTests
{
    private static void TrainStep(Module model, Optimizer opt, Tensor x, Tensor y)
    {
        using var scope = Torch.NewDisposeScope();
        opt.ZeroGrad();
        var loss = Losses.CrossEntropy(model.Forward(x), y);
        loss.Backward();
        opt.Step();
    }

    private static Dictionary<string, float[]> Snapshot(Module m) =>
        m.StateDict().Where(kv => kv.Value.DType == DType.Float32).ToDictionary(kv => kv.Key, kv => kv.Value.ToArray<float>());

    [Fact]
    public void FrozenWeightsAndStatsStayBitIdenticalAfterSteps()
    {
        Torch.ManualSeed(11);
        using var model = new TinyClassifier();
        model.Freeze("encoder");
        model.Train();
        // Every parameter goes to AdamW (with weight decay): frozen ones must still not move.
        using var opt = new AdamW(model.Parameters(), lr: 0.1, weightDecay: 0.1);
        using var x = Tensor.Randn([4, 1, 8, 8]);
        using var y = Tensor.FromArray(new long[] { 0, 1, 1, 0 });
        var before = Snapshot(model);
        for (int i = 0; i < 3; i++) TrainStep(model, opt, x, y);
        var after = Snapshot(model);
        foreach (var (name, values) in before)
        {
            if (name.StartsWith("encoder.", StringComparison.Ordinal))
                Assert.True(values.SequenceEqual(after[name]), $"{name} changed although frozen");
            else if (name.EndsWith("weight", StringComparison.Ordinal))
                Assert.False(values.SequenceEqual(after[name]), $"{name} did not train");
        }
    }

    [Fact]
    public void FreezingMidTrainingStopsMomentumFromMovingWeights()
    {
        Torch.ManualSeed(13);
        using var model = new TinyClassifier();
        model.Train();
        using var opt = new Adam(model.Parameters(), lr: 0.1, weightDecay: 0.1);
        using var x = Tensor.Randn([4, 1, 8, 8]);
        using var y = Tensor.FromArray(new long[] { 0, 1, 1, 0 });
        // Two steps build gradients and Adam moments for the encoder, then it is frozen.
        for (int i = 0; i < 2; i++) TrainStep(model, opt, x, y);
        model.Freeze("encoder");
        Assert.All(model.Encoder.Parameters(), p => Assert.Null(p.Grad));
        var before = Snapshot(model);
        for (int i = 0; i < 3; i++) TrainStep(model, opt, x, y);
        var after = Snapshot(model);
        foreach (var (name, values) in before)
            if (name.StartsWith("encoder.", StringComparison.Ordinal))
                Assert.True(values.SequenceEqual(after[name]), $"{name} moved after freezing");
    }

    [Fact]
    public void GroupsKeepTheirOwnLearningRates()
    {
        Torch.ManualSeed(12);
        using var model = new TinyClassifier();
        using var opt = new Sgd([new ParamGroup(model.Encoder.Parameters(), learningRate: 0.01, name: "encoder"), new ParamGroup(model.Head.Parameters(), name: "head")], lr: 1.0);
        Assert.Equal([0.01, 1.0], opt.LearningRates);
        using var x = Tensor.Randn([2, 1, 8, 8]);
        using var y = Tensor.FromArray(new long[] { 0, 1 });
        var before = Snapshot(model);
        var grads = new Dictionary<string, float[]>();
        {
            using var scope = Torch.NewDisposeScope();
            Losses.CrossEntropy(model.Forward(x), y).Backward();
            foreach (var (name, p) in model.NamedParameters()) grads[name] = p.Grad!.ToArray<float>();
        }
        opt.Step();
        var after = Snapshot(model);
        foreach (var (name, g) in grads)
        {
            double lr = name.StartsWith("encoder.", StringComparison.Ordinal) ? 0.01 : 1.0;
            for (int i = 0; i < g.Length; i++)
                Assert.Equal(before[name][i] - lr * g[i], after[name][i], 5);
        }
        opt.SetLearningRate(1, 0.5);
        Assert.Equal(0.5, opt.GetLearningRate(1));
        Assert.Throws<TorchException>(() => opt.GetLearningRate(2));
    }

    [Fact]
    public void SavedStateResumesIdentically()
    {
        Torch.ManualSeed(13);
        using var a = new TinyClassifier();
        using var b = new TinyClassifier();
        using var optA = new Adam(a.Parameters(), lr: 0.01);
        using var x = Tensor.Randn([4, 1, 8, 8]);
        using var y = Tensor.FromArray(new long[] { 0, 1, 1, 0 });
        TrainStep(a, optA, x, y);
        TrainStep(a, optA, x, y);
        var state = optA.SaveState();
        Assert.True(state.Length > 100);

        b.LoadStateDict(a.StateDict());
        using var optB = new Adam(b.Parameters(), lr: 0.01);
        optB.LoadState(state);
        TrainStep(a, optA, x, y);
        TrainStep(b, optB, x, y);
        var sa = Snapshot(a);
        var sb = Snapshot(b);
        foreach (var (name, v) in sa) Assert.Equal(v, sb[name]);

        // A fresh optimizer (no moments) takes a different step.
        using var c = new TinyClassifier();
        c.LoadStateDict(a.StateDict());
        using var optC = new Adam(c.Parameters(), lr: 0.01);
        TrainStep(a, optA, x, y);
        TrainStep(c, optC, x, y);
        Assert.NotEqual(Snapshot(a)["head.2.weight"], Snapshot(c)["head.2.weight"]);
        Assert.Throws<TorchException>(() => optC.LoadState([1, 2, 3]));
    }

    [Fact]
    public void ClippingByNormAndByValue()
    {
        using var p1 = Tensor.Zeros([2], requiresGrad: true);
        using var p2 = Tensor.Zeros([1], requiresGrad: true);
        using var noGrad = Tensor.Zeros([1], requiresGrad: true);
        p1.Grad = Tensor.FromArray(new float[] { 3, 0 });
        p2.Grad = Tensor.FromArray(new float[] { 4 });
        var norm = GradClip.ByNorm([p1, p2, noGrad], maxNorm: 1);
        Assert.Equal(5, norm, 5);
        using (var g1 = p1.Grad) Assert.Equal(0.6f, g1!.ToArray<float>()[0], 4);
        using (var g2 = p2.Grad) Assert.Equal(0.8f, g2!.ToArray<float>()[0], 4);
        GradClip.ByValue([p1, p2], 0.7);
        using (var g2 = p2.Grad) Assert.Equal(0.7f, g2!.ToArray<float>()[0], 6);
        p2.Grad = Tensor.FromArray(new float[] { float.NaN });
        Assert.Throws<TorchException>(() => GradClip.ByNorm([p1, p2], 1, errorIfNonfinite: true));
    }

    [Fact]
    public void RejectsBadConfiguration()
    {
        using var lin = new Linear(2, 2);
        Assert.Throws<ArgumentException>(() => new Sgd(lin.Parameters(), lr: 0.1, nesterov: true));
        Assert.Throws<ArgumentException>(() => new Adam([new ParamGroup(lin.Parameters()), new ParamGroup([lin.Weight])]));
        Assert.Throws<ArgumentException>(() => new Adam(Array.Empty<ParamGroup>()));
        var opt = new Adam(lin.Parameters());
        opt.Dispose();
        Assert.Throws<ObjectDisposedException>(() => opt.Step());
    }
}
