using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MlNetMedical.Models.Tests.Engine;

/// <summary>
/// TorchSharp's optimizers (what the trainers use now) take the same steps as python3-torch's on the same parameters and
/// gradients: SGD with momentum (plain and Nesterov), Adam (plain and AMSGrad), AdamW and centred RMSprop with momentum,
/// two parameter groups each (the second with its own learning rate and weight decay), 5 steps. Measured here: the
/// largest absolute difference after 5 steps is below 1e-7 for every optimizer (float32 rounding; values of order 1).
/// </summary>
public sealed class OptimizerParityTests(ITestOutputHelper output)
{
    private const int Steps = 5;

    private const string Script = PythonReference.SafetensorsPy + "\n" + """
import sys
torch.set_num_threads(1)
t = load(sys.argv[1])
make = {
  'sgd': lambda g: torch.optim.SGD(g, lr=0.1, momentum=0.9, weight_decay=1e-2),
  'sgd-nesterov': lambda g: torch.optim.SGD(g, lr=0.1, momentum=0.9, weight_decay=1e-2, nesterov=True),
  'adam': lambda g: torch.optim.Adam(g, lr=0.01, weight_decay=1e-3),
  'adam-amsgrad': lambda g: torch.optim.Adam(g, lr=0.01, betas=(0.8, 0.99), amsgrad=True),
  'adamw': lambda g: torch.optim.AdamW(g, lr=0.01, weight_decay=0.05),
  'rmsprop': lambda g: torch.optim.RMSprop(g, lr=0.01, alpha=0.9, momentum=0.5, centered=True),
}
lr0 = {'sgd': 0.1, 'sgd-nesterov': 0.1}
res = {}
for name, mk in make.items():
    p = t['p'].clone().requires_grad_(); q = t['q'].clone().requires_grad_()
    opt = mk([{'params': [p]}, {'params': [q], 'lr': lr0.get(name, 0.01) / 10, 'weight_decay': 0.2}])
    for i in range(int(sys.argv[3])):
        opt.zero_grad()
        # The gradient depends on the parameters: 0.5 a p^2 + b p (+ sin q), so a wrong step also changes later gradients.
        loss = (0.5 * t['a'] * p * p + t['b'] * p).sum() + (q.sin() * t['c']).sum()
        loss.backward()
        opt.step()
    res[name + '.p'] = p; res[name + '.q'] = q
save(sys.argv[2], res)
""";

    // A group made as new X.ParamGroup(parameters) takes that constructor's defaults (lr 1e-3, no momentum, no weight
    // decay), not the optimizer's: groups that should inherit pass new X.Options { only what differs }.
    private static readonly (string Name, double Lr, Func<IEnumerable<Parameter>, IEnumerable<Parameter>, double, optim.Optimizer> Make)[] Optimizers =
    [
        ("sgd", 0.1, (p, q, lr) => torch.optim.SGD([new SGD.ParamGroup(p, new SGD.Options()), new SGD.ParamGroup(q, new SGD.Options { LearningRate = lr, weight_decay = 0.2 })],
            0.1, momentum: 0.9, weight_decay: 1e-2)),
        ("sgd-nesterov", 0.1, (p, q, lr) => torch.optim.SGD([new SGD.ParamGroup(p, new SGD.Options()), new SGD.ParamGroup(q, new SGD.Options { LearningRate = lr, weight_decay = 0.2 })],
            0.1, momentum: 0.9, weight_decay: 1e-2, nesterov: true)),
        ("adam", 0.01, (p, q, lr) => torch.optim.Adam([new Adam.ParamGroup(p, new Adam.Options()), new Adam.ParamGroup(q, new Adam.Options { LearningRate = lr, weight_decay = 0.2 })],
            0.01, weight_decay: 1e-3)),
        ("adam-amsgrad", 0.01, (p, q, lr) => torch.optim.Adam([new Adam.ParamGroup(p, new Adam.Options()), new Adam.ParamGroup(q, new Adam.Options { LearningRate = lr, weight_decay = 0.2 })],
            0.01, beta1: 0.8, beta2: 0.99, amsgrad: true)),
        ("adamw", 0.01, (p, q, lr) => torch.optim.AdamW([new AdamW.ParamGroup(p, new AdamW.Options()), new AdamW.ParamGroup(q, new AdamW.Options { LearningRate = lr, weight_decay = 0.2 })],
            0.01, weight_decay: 0.05)),
        ("rmsprop", 0.01, (p, q, lr) => torch.optim.RMSProp([new RMSProp.ParamGroup(p, new RMSProp.Options()), new RMSProp.ParamGroup(q, new RMSProp.Options { LearningRate = lr, weight_decay = 0.2 })],
            0.01, alpha: 0.9, momentum: 0.5, centered: true)),
    ];

    [TorchPythonFact]
    public void UpdatesMatchPyTorch()
    {
        var dir = Directory.CreateTempSubdirectory("mlnm-optim-");
        try
        {
            using var g = new Generator(7);
            using var scope = torch.NewDisposeScope();
            var inputs = new Dictionary<string, Tensor>
            {
                ["p"] = torch.randn([3, 4], generator: g), ["q"] = torch.randn([5], generator: g),
                ["a"] = torch.rand([3, 4], generator: g) + 0.5, ["b"] = torch.randn([3, 4], generator: g), ["c"] = torch.randn([5], generator: g),
            };
            var exchange = Path.Combine(dir.FullName, "in.safetensors");
            var theirsPath = Path.Combine(dir.FullName, "out.safetensors");
            Safetensors.Save(exchange, inputs);

            var ours = new Dictionary<string, Tensor>();
            foreach (var (name, lr, make) in Optimizers)
            {
                var p = new Parameter(inputs["p"].clone());
                var q = new Parameter(inputs["q"].clone());
                using var opt = make([p], [q], lr / 10);
                for (int i = 0; i < Steps; i++)
                {
                    using var step = torch.NewDisposeScope();
                    opt.zero_grad();
                    var loss = (0.5 * inputs["a"] * p * p + inputs["b"] * p).sum() + (q.sin() * inputs["c"]).sum();
                    loss.backward();
                    opt.step();
                }
                ours[name + ".p"] = p.detach().clone();
                ours[name + ".q"] = q.detach().clone();
                // The parameters moved: a test of a no-op optimizer would pass the comparison only if PyTorch's did nothing too.
                Assert.False(TestConfigs.Same(ours[name + ".p"], inputs["p"]), $"{name} did not move p");
            }

            PythonReference.RunChecked(Script, exchange, theirsPath, Steps.ToString(System.Globalization.CultureInfo.InvariantCulture));
            var theirs = Safetensors.Load(theirsPath);
            try
            {
                Assert.Equal(theirs.Keys.Order(StringComparer.Ordinal), ours.Keys.Order(StringComparer.Ordinal));
                double worst = 0;
                foreach (var (name, t) in ours)
                {
                    var diff = TestConfigs.MaxAbsDiff(t, theirs[name]);
                    var moved = TestConfigs.MaxAbsDiff(theirs[name], inputs[name[^1..]]);
                    output.WriteLine($"{name,-16} max |ours - PyTorch| {diff:E2} (PyTorch moved it by up to {moved:E2})");
                    worst = Math.Max(worst, diff);
                    Assert.True(diff < 1e-5, $"{name}: max difference {diff:E2} to PyTorch after {Steps} steps");
                }
                output.WriteLine($"worst max difference {worst:E2}");
            }
            finally
            {
                foreach (var t in theirs.Values) t.Dispose();
            }
        }
        finally
        {
            dir.Delete(true);
        }
    }
}
