using MlNetMedical.Imaging.Datasets;
using MlNetMedical.Imaging.Formats;
using MlNetMedical.Imaging.Synthetic;
using Xunit;

namespace MlNetMedical.Imaging.Tests.Synthetic;

/// <summary>Toy-scale checks of the synthetic tasks: determinism, manifest layout, masks, groups, balance.</summary>
public sealed class SyntheticDatasetTests
{
    public static TheoryData<string> PhantomTasks => new() { "brain-tumor-3d", "cardiac-level-2d", "liver-lesion-2d" };

    /// <summary>A small set of a task: 24³ brains, 32² slices.</summary>
    internal static SyntheticOptions Toy(string task, long seed = 7, int threads = 2) => new()
    {
        Seed = seed, Train = 9, Test = 6, Pretrain = 4, Size = task == "brain-tumor-3d" ? 24 : 48, Threads = threads,
    };

    internal static List<string[]> ReadManifest(string dir)
    {
        var lines = File.ReadAllLines(Path.Combine(dir, "manifest.csv"));
        Assert.Equal("id,image,mask,label,group,split", lines[0]);
        return lines.Skip(1).Select(l => l.Split(',')).ToList();
    }

    private static Dictionary<string, byte[]> AllFiles(string dir) =>
        Directory.GetFiles(dir, "*", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(dir, f), File.ReadAllBytes);

    [Theory]
    [MemberData(nameof(PhantomTasks))]
    public void SameSeedGivesByteIdenticalFilesWhateverTheThreadCount(string name)
    {
        using var a = new TempDir();
        using var b = new TempDir();
        using var c = new TempDir();
        var task = SyntheticTask.Get(name);
        SyntheticDatasetWriter.Write(task, Toy(name, threads: 2), a.Path);
        SyntheticDatasetWriter.Write(task, Toy(name, threads: 1), b.Path);
        SyntheticDatasetWriter.Write(task, Toy(name, seed: 8), c.Path);
        var fa = AllFiles(a.Path);
        var fb = AllFiles(b.Path);
        Assert.Equal(fa.Keys.Order(), fb.Keys.Order());
        foreach (var (path, bytes) in fa) Assert.True(bytes.AsSpan().SequenceEqual(fb[path]), $"{path} differs between runs with the same seed");
        var fc = AllFiles(c.Path);
        int differing = fa.Keys.Count(p => p.StartsWith("images") && !fa[p].AsSpan().SequenceEqual(fc[p]));
        Assert.Equal(fa.Keys.Count(p => p.StartsWith("images")), differing);
    }

    // Learning curves and the 10× calibration compare training-set sizes on one test set.
    [Theory]
    [MemberData(nameof(PhantomTasks))]
    public void TestSplitStaysTheSameWhenTheOtherSplitsChangeSize(string name)
    {
        using var a = new TempDir();
        using var b = new TempDir();
        var task = SyntheticTask.Get(name);
        SyntheticDatasetWriter.Write(task, Toy(name), a.Path);
        SyntheticDatasetWriter.Write(task, Toy(name) with { Train = 15, Pretrain = 0 }, b.Path);
        var fa = AllFiles(a.Path);
        var fb = AllFiles(b.Path);
        var testFiles = fa.Keys.Where(p => Path.GetFileName(p).StartsWith("test-")).ToList();
        Assert.Equal(12, testFiles.Count);
        foreach (var path in testFiles) Assert.True(fa[path].AsSpan().SequenceEqual(fb[path]), $"{path} changed with the train and pretrain counts");
    }

    [Theory]
    [MemberData(nameof(PhantomTasks))]
    public void ManifestRowsPointAtNiftiFilesWithMatchingMasks(string name)
    {
        using var dir = new TempDir();
        var task = SyntheticTask.Get(name);
        var options = Toy(name);
        SyntheticDatasetWriter.Write(task, options, dir.Path);
        var rows = ReadManifest(dir.Path);
        Assert.Equal(19, rows.Count);
        Assert.Equal(4, rows.Count(r => r[5] == "pretrain"));
        Assert.Equal(9, rows.Count(r => r[5] == "train"));
        Assert.Equal(6, rows.Count(r => r[5] == "test"));
        Assert.Equal(rows.Count, rows.Select(r => r[0]).Distinct().Count());
        foreach (var r in rows)
        {
            Assert.Equal(6, r.Length);
            Assert.Contains(r[5], new[] { "pretrain", "train", "test" });
            Assert.NotEmpty(r[2]);
            if (r[5] == "pretrain") Assert.Empty(r[3]);
            else Assert.Contains(r[3], task.ClassNames);
            Assert.Matches("^P[0-9]{4}$", r[4]);
            var image = Nifti.Read(Path.Combine(dir.Path, r[1]));
            var mask = Nifti.Read(Path.Combine(dir.Path, r[2]));
            Assert.Equal(VoxelType.UInt8, mask.DataType);
            Assert.Equal(image.Shape.Take(image.SpatialRank), mask.Shape);
            Assert.Equal(name == "brain-tumor-3d" ? 3 : 2, image.SpatialRank);
            Assert.All(image.Shape.Take(image.SpatialRank), s => Assert.Equal(options.Size, s));
            Assert.True(image.Affine.ApproximatelyEquals(mask.Affine));
        }
        // The imaging layer's manifest reader loads the set as written (files exist, splits known).
        var items = CsvManifest.Read(Path.Combine(dir.Path, "manifest.csv"));
        Assert.Equal(rows.Select(r => r[0]), items.Select(i => i.Id));
        Assert.Equal(rows.Select(r => r[5]), items.Select(i => i.Split));
        var loaded = items[^1].Load();
        Assert.NotNull(loaded.Label);
    }

    [Fact]
    public void BrainFourChannelsAreT1T1cT2FlairAndTheFirstMatchesTheOneChannelSetsGeometry()
    {
        var task = new BrainTumor3D();
        var item = task.Plan(Toy(task.Name))[0];
        var one = task.Generate(item, Toy(task.Name));
        var four = task.Generate(item, Toy(task.Name) with { Channels = 4 });
        Assert.Equal([24, 24, 24], one.Image.Shape);
        Assert.Equal([24, 24, 24, 4], four.Image.Shape);
        Assert.Equal(one.Mask!.Data, four.Mask!.Data);
        // CSF is bright on T2 and dark on T1/FLAIR: the channels are different contrasts, not copies.
        var v = four.Image.Voxels<short>().ToArray();
        int n = 24 * 24 * 24;
        double Mean(int c) { double s = 0; for (int i = 0; i < n; i++) s += v[c * n + i]; return s / n; }
        Assert.NotEqual(Mean(0), Mean(2));
    }

    [Theory]
    [MemberData(nameof(PhantomTasks))]
    public void NoPatientAppearsInTwoSplits(string name)
    {
        var plan = SyntheticTask.Get(name).Plan(Toy(name) with { Train = 40, Test = 30, Pretrain = 20 });
        foreach (var g in plan.GroupBy(c => c.Group)) Assert.Single(g.Select(c => c.Split).Distinct());
        if (name != "brain-tumor-3d") Assert.Contains(plan.GroupBy(c => c.Group), g => g.Count() > 1); // slices share phantoms
    }

    [Theory]
    [MemberData(nameof(PhantomTasks))]
    public void ClassesAreBalancedWithinEachSplit(string name)
    {
        var task = SyntheticTask.Get(name);
        var plan = task.Plan(Toy(name) with { Train = 108, Test = 45 });
        int perPatient = name == "liver-lesion-2d" ? LiverLesion2D.SlicesPerPatient : 1;
        foreach (var split in new[] { "train", "test" })
        {
            var counts = Enumerable.Range(0, task.ClassNames.Count).Select(k => plan.Count(c => c.Split == split && c.ClassIndex == k)).ToArray();
            Assert.True(counts.Max() - counts.Min() <= perPatient, $"{split}: {string.Join(",", counts)}");
        }
    }

    [Fact]
    public void BrainMasksCarryTheTumourType()
    {
        var task = new BrainTumor3D();
        var options = Toy(task.Name) with { Train = 12, Test = 0, Pretrain = 0 };
        foreach (var item in task.Plan(options))
        {
            var mask = task.Generate(item, options).Mask!.Data;
            var labels = mask.Where(b => b != 0).Distinct().Order().ToArray();
            switch (task.ClassNames[item.ClassIndex])
            {
                case "glioblastoma": Assert.Equal([1, 2, 4], labels); break; // necrotic core, enhancing ring, edema
                case "low_grade_glioma": Assert.DoesNotContain((byte)4, labels); Assert.Contains((byte)1, labels); break; // non-enhancing
                default: Assert.Contains((byte)4, labels); Assert.DoesNotContain((byte)1, labels); break; // homogeneous enhancing mass
            }
        }
    }

    [Fact]
    public void LiverSlicesShowLiverAndALesionOfTheLabelledType()
    {
        var task = new LiverLesion2D();
        var options = Toy(task.Name) with { Pretrain = 10 };
        int lesionFree = 0;
        foreach (var item in task.Plan(options))
        {
            var s = task.Generate(item, options);
            var mask = s.Mask!.Data;
            Assert.Contains((byte)LiverLesion2D.LabelLiver, mask);
            if (item.Labelled) Assert.Contains((byte)LiverLesion2D.LabelLesion, mask);
            else if (!mask.Contains(LiverLesion2D.LabelLesion)) lesionFree++;
            var hu = s.Image.Voxels<short>();
            Assert.InRange((int)hu.ToArray().Min(), -1024, -950); // air around the body, in HU
        }
        Assert.True(lesionFree < 10, "most pretrain slices should show lesions");
    }

    [Fact]
    public void CardiacLevelsRunFromAboveTheBaseToBelowTheApex()
    {
        var task = new CardiacLevel2D();
        var options = Toy(task.Name) with { Train = 90, Test = 0, Pretrain = 0 };
        var lvArea = new double[9];
        var count = new int[9];
        foreach (var item in task.Plan(options))
        {
            var mask = task.Generate(item, options).Mask!.Data;
            lvArea[item.ClassIndex] += mask.Count(b => b == CardiacLevel2D.LabelLv);
            count[item.ClassIndex]++;
        }
        for (int k = 0; k < 9; k++) lvArea[k] /= count[k];
        double mid = (lvArea[2] + lvArea[3] + lvArea[4]) / 3;
        Assert.True(lvArea[0] < 0.3 * mid, $"above the base the LV cavity is small: {lvArea[0]:F1} vs {mid:F1}");
        Assert.True(lvArea[8] < 0.1 * mid, $"below the apex there is no LV cavity: {lvArea[8]:F1} vs {mid:F1}");
        Assert.True(lvArea[6] < mid, "the cavity narrows towards the apex");
    }

    [Fact]
    public void BadOptionsNameTheOptionAndTheAllowedValues()
    {
        var e1 = Assert.Throws<SyntheticOptionException>(() => SyntheticTask.Get("brain"));
        Assert.Contains("brain-tumor-3d", e1.Message);
        var e2 = Assert.Throws<SyntheticOptionException>(() => new BrainTumor3D().Plan(new SyntheticOptions { Channels = 3 }));
        Assert.Equal("--channels", e2.Option);
        Assert.Contains("1 or 4", e2.Message);
        var e3 = Assert.Throws<SyntheticOptionException>(() => new CardiacLevel2D().Plan(new SyntheticOptions { Size = 4 }));
        Assert.Equal("--size", e3.Option);
        var e4 = Assert.Throws<SyntheticOptionException>(() => new LiverLesion2D().Plan(new SyntheticOptions { Train = -1 }));
        Assert.Equal("--train", e4.Option);
        var e5 = Assert.Throws<SyntheticOptionException>(() => new FashionMnist().Plan(new SyntheticOptions { Pretrain = 5 }));
        Assert.Equal("--pretrain", e5.Option);
    }

    [Fact]
    public void RandomStreamsAreSeparatedBySeedStreamAndIndex()
    {
        // Seed, stream name and index each select a different stream; the same triple always the same one.
        var r = SyntheticRandom.For(1, "x", 0);
        var first = r.NextUInt64();
        Assert.Equal(first, SyntheticRandom.For(1, "x", 0).NextUInt64());
        Assert.NotEqual(first, SyntheticRandom.For(1, "x", 1).NextUInt64());
        Assert.NotEqual(first, SyntheticRandom.For(2, "x", 0).NextUInt64());
        Assert.NotEqual(first, SyntheticRandom.For(1, "y", 0).NextUInt64());
    }
}
