using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MlNetMedical.Models.Tests.Engine;

/// <summary>libtorch loads (with the Debian 12 loader fix where needed), <see cref="TorchRuntime"/>'s settings hold, and
/// convolutions are right on this host whatever oneDNN does.</summary>
public sealed class RuntimeTests(ITestOutputHelper output)
{
    [Fact]
    public void TorchInitialisesAndRunsAnOp()
    {
        using var a = torch.tensor(new float[] { 1, 2, 3, 4 }, [2, 2]);
        using var b = torch.tensor(new float[] { 5, 6, 7, 8 }, [2, 2]);
        using var c = a.matmul(b);
        Assert.Equal(new float[] { 19, 22, 43, 50 }, c.data<float>().ToArray());
    }

    [Fact]
    public void LoaderFixIsReportedWhenThisBuildsLibraryWasPatched()
    {
        var native = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native");
        var marker = Path.Combine(native, "mlnm-libstdcxx-fix.txt");
        output.WriteLine($"marker {(File.Exists(marker) ? "present" : "absent")}; LoaderFix: {TorchRuntime.LoaderFix ?? "null"}");
        if (File.Exists(marker))
        {
            Assert.NotNull(TorchRuntime.LoaderFix);
            Assert.Contains("patched-sha256", TorchRuntime.LoaderFix);
        }
        else Assert.Null(TorchRuntime.LoaderFix);
        // The TorchSharp library in use is this output's copy (the patched one where the marker is).
        var loaded = File.ReadLines("/proc/self/maps").Select(l => l.IndexOf('/') is var i and >= 0 ? l[i..] : "")
            .FirstOrDefault(p => Path.GetFileName(p) == "libLibTorchSharp.so");
        output.WriteLine($"libLibTorchSharp.so loaded from {loaded}");
        Assert.NotNull(loaded);
        Assert.Equal(Path.GetFullPath(native), Path.GetDirectoryName(loaded));
    }

    [Fact]
    public void InitializeIsIdempotentAndAppliesTheThreadSetting()
    {
        TorchRuntime.Initialize();
        TorchRuntime.Initialize();
        var configured = Environment.GetEnvironmentVariable(TorchRuntime.ThreadsVariable);
        var expected = string.IsNullOrWhiteSpace(configured) ? Environment.ProcessorCount : int.Parse(configured, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(expected, TorchRuntime.DefaultThreads);
        Assert.Equal(expected, torch.get_num_threads());
        var optedOut = Environment.GetEnvironmentVariable(TorchRuntime.KeepMallocDefaultsVariable) == "1"
                       || Environment.GetEnvironmentVariable("GLIBC_TUNABLES") != null
                       || Environment.GetEnvironmentVariables().Keys.Cast<string>().Any(k => k.StartsWith("MALLOC_", StringComparison.Ordinal));
        Assert.Equal(!optedOut, TorchRuntime.AllocatorTuned); // glibc host
    }

    [Fact]
    public void OneDnnCheckGivesANumberAndTheDecisionFollowsIt()
    {
        var mismatch = TorchRuntime.OneDnnConvolutionMismatch();
        output.WriteLine($"oneDNN convolution mismatch here: {mismatch:G3}; {TorchRuntime.OneDnnDecision}; enabled: {TorchRuntime.OneDnnEnabled}");
        Assert.False(double.IsNaN(mismatch));
        Assert.True(mismatch >= 0 && (double.IsFinite(mismatch) || double.IsPositiveInfinity(mismatch)), $"{mismatch}");
        var setting = Environment.GetEnvironmentVariable(TorchRuntime.OneDnnVariable)?.Trim().ToLowerInvariant();
        if (setting is null or "" or "auto")
        {
            Assert.StartsWith("auto:", TorchRuntime.OneDnnDecision);
            Assert.Equal(mismatch <= 1e-3, TorchRuntime.OneDnnEnabled);
        }
    }

    public static TheoryData<string, long[], long[], long> Convolutions() => new()
    {
        { "2D 3→5", [2, 3, 20, 20], [5, 3, 3, 3], 1 },
        { "2D 17→6 strided", [2, 17, 15, 13], [6, 17, 3, 3], 2 },
        { "2D 16→32", [1, 16, 12, 12], [32, 16, 3, 3], 1 },
        { "3D 3→5", [1, 3, 10, 10, 10], [5, 3, 3, 3, 3], 1 },
        { "3D 7→12", [1, 7, 9, 8, 7], [12, 7, 3, 3, 3], 1 },
    };

    [Theory]
    [MemberData(nameof(Convolutions))]
    public void ConvolutionsMatchAFloat64ReferenceWithTheActiveSetting(string name, long[] input, long[] weight, long stride)
    {
        TorchRuntime.OneDnnConvolutionMismatch(); // the check switches oneDNN back and forth: it must restore the setting
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(77);
        var x = torch.randn(input, generator: g);
        var w = torch.randn(weight, generator: g);
        var b = torch.randn([weight[0]], generator: g);
        var dims = input.Length - 2;
        Tensor[] Run(ScalarType dtype)
        {
            var xi = x.to(dtype).detach().requires_grad_();
            var wi = w.to(dtype).detach().requires_grad_();
            var strides = Enumerable.Repeat(stride, dims).ToArray();
            var padding = Enumerable.Repeat(1L, dims).ToArray();
            var y = dims == 2
                ? nn.functional.conv2d(xi, wi, b.to(dtype), strides: strides, padding: padding)
                : nn.functional.conv3d(xi, wi, b.to(dtype), strides: strides, padding: padding);
            (y * y).sum().backward();
            return [y.detach(), xi.grad!, wi.grad!];
        }
        var fast = Run(ScalarType.Float32);
        var reference = Run(ScalarType.Float64); // oneDNN has no float64 kernels: ATen's own convolution
        string[] what = ["output", "input gradient", "weight gradient"];
        for (int i = 0; i < 3; i++)
        {
            var rel = TestConfigs.MaxAbsDiff(fast[i], reference[i]) / reference[i].abs().max().item<double>();
            output.WriteLine($"{name}: {what[i]} max relative difference {rel:E2}");
            Assert.True(rel < 1e-4, $"{name}: {what[i]} is off by {rel:E2} relative to the float64 reference ({TorchRuntime.OneDnnDecision})");
        }
    }

    [Fact]
    public void NormalisationLayersStartAtWeightOneBiasZero()
    {
        foreach (var kind in new[] { NormKind.Group, NormKind.Instance, NormKind.Batch })
            foreach (var dims in new[] { 1, 2, 3 })
            {
                using var norm = Layers.Norm(kind, dims, 12, groups: 4);
                var parameters = norm.named_parameters().ToDictionary(p => p.name, p => p.parameter);
                Assert.True(parameters.ContainsKey("weight") && parameters.ContainsKey("bias"), $"{kind} {dims}D is not affine");
                Assert.True(parameters["weight"].eq(1).all().item<bool>(), $"{kind} {dims}D weight is not 1");
                Assert.True(parameters["bias"].eq(0).all().item<bool>(), $"{kind} {dims}D bias is not 0");
            }
        using var group = (GroupNorm)Layers.Norm(NormKind.Group, 2, 12, groups: 8); // 8 does not divide 12: 6 groups
        using var x = torch.randn([2, 12, 4, 4]);
        using var y = group.call(x);
        using var manual = nn.functional.group_norm(x, 6);
        Assert.True(TestConfigs.MaxAbsDiff(y, manual) < 1e-6, "GroupNorm(12 channels, groups 8) is not 6 groups with identity affine");
        // And in a network: every group-norm layer of a U-Net built from a seeded generator.
        using var gen = new Generator(1);
        using var unet = TestConfigs.UNet(2, norm: NormKind.Group).Build(gen);
        var norms = unet.state_dict().Where(kv => kv.Key.Contains(".norm", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(norms);
        foreach (var (key, t) in norms)
            Assert.True(t.eq(key.EndsWith(".weight", StringComparison.Ordinal) ? 1 : 0).all().item<bool>(), key);
    }
}
