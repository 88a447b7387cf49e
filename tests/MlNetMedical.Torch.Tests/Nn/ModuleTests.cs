using MlNetMedical.Torch.Nn;
using MlNetMedical.Torch.Serialization;
using Xunit;

namespace MlNetMedical.Torch.Tests.Nn;

public class ModuleTests
{
    [Fact]
    public void NamesParametersAndBuffersWithDottedPaths()
    {
        using var model = new TinySegmenter();
        var names = model.NamedParameters().Select(p => p.Name).ToList();
        Assert.Equal(
        [
            "encoder.stages.0.conv1.weight", "encoder.stages.0.conv1.bias", "encoder.stages.0.norm.weight", "encoder.stages.0.norm.bias",
            "encoder.stages.1.conv1.weight", "encoder.stages.1.conv1.bias", "encoder.stages.1.norm.weight", "encoder.stages.1.norm.bias",
            "decoder.weight", "decoder.bias",
        ], names);
        Assert.Contains(("encoder.stages.1.norm.running_var"), model.NamedBuffers().Select(b => b.Name));
        Assert.Equal(new long[] { 8, 4, 3, 3 }, model.StateDict()["encoder.stages.1.conv1.weight"].Shape);
        // State dict: parameters then persistent buffers of each module, like PyTorch.
        Assert.Equal(names.Count + 3 * 2, model.StateDict().Count);
        Assert.Equal(["", "encoder", "encoder.stages", "encoder.stages.0", "encoder.stages.0.conv1", "encoder.stages.0.norm"],
            model.NamedModules().Select(m => m.Name).Take(6));
    }

    [Fact]
    public void RejectsDuplicateAndDottedNames()
    {
        Assert.Throws<ArgumentException>(() => new ModuleDict().Add("a", new ReLU()).Add("a", new ReLU()));
        Assert.Throws<ArgumentException>(() => new ModuleDict().Add("a.b", new ReLU()));
    }

    [Fact]
    public void TrainEvalAndApplyReachEveryModule()
    {
        using var model = new TinySegmenter();
        Assert.All(model.Modules(), m => Assert.True(m.Training));
        model.Eval();
        Assert.All(model.Modules(), m => Assert.False(m.Training));
        int visited = 0;
        model.Apply(_ => visited++);
        Assert.Equal(model.Modules().Count(), visited);
    }

    [Fact]
    public void StateDictRoundTripsThroughSafetensors()
    {
        var path = Path.Combine(Path.GetTempPath(), $"mlnm-sd-{Guid.NewGuid():N}.safetensors");
        try
        {
            using var a = new TinySegmenter();
            using var b = new TinySegmenter();
            Assert.NotEqual(a.Encoder.Stages[0].StateDict()["conv1.weight"].ToArray<float>(), b.Encoder.Stages[0].StateDict()["conv1.weight"].ToArray<float>());
            Safetensors.Save(path, a.StateDict());
            var loaded = Safetensors.Load(path);
            try
            {
                var result = b.LoadStateDict(loaded);
                Assert.True(result.IsExact);
                Assert.Equal(a.StateDict().Count, result.Loaded.Count);
            }
            finally { foreach (var t in loaded.Values) t.Dispose(); }
            foreach (var (name, t) in a.StateDict())
                if (t.DType == DType.Float32) Assert.Equal(t.ToArray<float>(), b.StateDict()[name].ToArray<float>());
                else Assert.Equal(t.ToArray<long>(), b.StateDict()[name].ToArray<long>());
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void PartialLoadMapsEncoderPrefixAndReportsKeys()
    {
        using var seg = new TinySegmenter();
        using var cls = new TinyClassifier();
        var result = cls.LoadStateDict(seg.StateDict(), strict: false, sourcePrefix: "encoder.", targetPrefix: "encoder.");
        Assert.Equal(seg.Encoder.StateDict().Count, result.Loaded.Count);
        Assert.Empty(result.Missing); // only keys under the target prefix can be missing
        Assert.Equal(["decoder.weight", "decoder.bias"], result.Ignored);
        Assert.Empty(result.Unexpected);
        Assert.Equal(seg.StateDict()["encoder.stages.1.conv1.weight"].ToArray<float>(), cls.StateDict()["encoder.stages.1.conv1.weight"].ToArray<float>());

        // Without prefixes, the head is missing and the decoder unexpected.
        var plain = cls.LoadStateDict(seg.StateDict(), strict: false);
        Assert.Equal(["head.2.weight", "head.2.bias"], plain.Missing);
        Assert.Equal(["decoder.weight", "decoder.bias"], plain.Unexpected);

        // Into a bare encoder: the prefix is dropped.
        using var encoder = new TinyEncoder();
        Assert.True(encoder.LoadStateDict(seg.StateDict(), strict: true, sourcePrefix: "encoder.").Loaded.Count > 0);
    }

    [Fact]
    public void ShapeMismatchesAreSkippedOrRejected()
    {
        using var small = new TinyClassifier(classes: 2);
        using var big = new TinyClassifier(classes: 5);
        var before = big.StateDict()["head.2.weight"].ToArray<float>();
        var e = Assert.Throws<StateDictMismatchException>(() => big.LoadStateDict(small.StateDict()));
        Assert.Contains("head.2.weight", e.Message);
        Assert.Equal(2, e.Result.ShapeMismatched.Count);
        // Strict failure changed nothing, not even the matching encoder keys.
        Assert.NotEqual(small.StateDict()["encoder.stages.0.conv1.weight"].ToArray<float>(), big.StateDict()["encoder.stages.0.conv1.weight"].ToArray<float>());

        var result = big.LoadStateDict(small.StateDict(), strict: false);
        Assert.Equal(["head.2.weight", "head.2.bias"], result.ShapeMismatched.Select(m => m.Key));
        Assert.Equal(new long[] { 5, 8 }, result.ShapeMismatched[0].Expected);
        Assert.Equal(new long[] { 2, 8 }, result.ShapeMismatched[0].Found);
        Assert.Equal(before, big.StateDict()["head.2.weight"].ToArray<float>());
        Assert.Equal(small.StateDict()["encoder.stages.0.conv1.weight"].ToArray<float>(), big.StateDict()["encoder.stages.0.conv1.weight"].ToArray<float>());
    }

    [Fact]
    public void ModuleSafetensorsHelpersRoundTripWithPrefixMapping()
    {
        var path = Path.Combine(Path.GetTempPath(), $"mlnm-sd-{Guid.NewGuid():N}.safetensors");
        try
        {
            using var seg = new TinySegmenter();
            seg.SaveSafetensors(path, new Dictionary<string, string> { ["task"] = "seg" });
            using var cls = new TinyClassifier();
            var r = cls.LoadSafetensors(path, strict: false, sourcePrefix: "encoder.", targetPrefix: "encoder.");
            Assert.Equal(seg.Encoder.StateDict().Count, r.Loaded.Count);
            Assert.Equal(seg.StateDict()["encoder.stages.0.conv1.weight"].ToArray<float>(), cls.StateDict()["encoder.stages.0.conv1.weight"].ToArray<float>());
            Assert.Contains(path, Assert.Throws<StateDictMismatchException>(() => cls.LoadSafetensors(path)).Message);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void UnexpectedKeysAreReported()
    {
        using var enc = new TinyEncoder();
        using var extra = Tensor.Zeros([1]);
        var dict = new Dictionary<string, Tensor>(enc.StateDict()) { ["surprise"] = extra };
        Assert.Equal(["surprise"], enc.LoadStateDict(dict, strict: false).Unexpected);
        Assert.Throws<StateDictMismatchException>(() => enc.LoadStateDict(dict));
    }

    [Fact]
    public void FreezingByPrefixStopsGradientsAndKeepsNormsInEval()
    {
        using var model = new TinyClassifier();
        int frozen = model.Freeze("encoder");
        Assert.Equal(8, frozen);
        foreach (var (name, p) in model.NamedParameters())
            Assert.Equal(!name.StartsWith("encoder.", StringComparison.Ordinal), p.RequiresGrad);
        model.Train();
        Assert.False(model.Encoder.Stages[0].NamedChildren().Single(c => c.Name == "norm").Module.Training);
        Assert.True(model.Encoder.Stages[0].NamedChildren().Single(c => c.Name == "conv1").Module.Training);
        Assert.True(model.Head.Training);

        model.Unfreeze("encoder.");
        model.Train();
        Assert.All(model.Parameters(), p => Assert.True(p.RequiresGrad));
        Assert.All(model.Modules(), m => Assert.True(m.Training));

        // By module; a prefix must name something.
        model.Encoder.Stages[1].Freeze();
        Assert.False(model.StateDict()["encoder.stages.1.conv1.weight"].RequiresGrad);
        Assert.True(model.StateDict()["encoder.stages.0.conv1.weight"].RequiresGrad);
        Assert.Throws<ArgumentException>(() => model.Freeze("encode"));
    }

    [Fact]
    public void ToConvertsInPlaceAndDisposeFreesEverything()
    {
        var model = new TinySegmenter();
        var weight = model.Decoder.Weight;
        model.To(Device.Cpu, DType.Float64);
        Assert.Same(weight, model.Decoder.Weight);
        Assert.Equal(DType.Float64, weight.DType);
        Assert.Equal(DType.Int64, model.StateDict()["encoder.stages.0.norm.num_batches_tracked"].DType);
        var all = model.StateDict().Values.ToList();
        model.Dispose();
        Assert.All(all, t => Assert.True(t.IsClosed));
    }

    [Fact]
    public void ModulesBuiltInsideADisposeScopeOutliveIt()
    {
        TinyEncoder enc;
        using (Torch.NewDisposeScope()) enc = new TinyEncoder();
        Assert.All(enc.Parameters(), p => Assert.False(p.IsClosed));
        enc.Dispose();
    }
}
