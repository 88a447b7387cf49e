using MlNetMedical.Imaging.Datasets;
using MlNetMedical.Imaging.Formats;
using MlNetMedical.Imaging.Preprocessing;
using Xunit;

namespace MlNetMedical.Imaging.Tests;

public class DatasetTests
{
    private static void WriteCase(string path, int seed, int nx = 6, byte labelValue = 1, bool label = false)
    {
        var rng = new Random(seed);
        var v = label
            ? Volume.Create<byte>(Enumerable.Range(0, nx * 5 * 4).Select(i => (byte)(i % 7 == 0 ? labelValue : 0)).ToArray(), [nx, 5, 4], Affine.Diagonal(1, 1, 2))
            : Volume.Create<short>(Enumerable.Range(0, nx * 5 * 4).Select(_ => (short)rng.Next(-100, 1000)).ToArray(), [nx, 5, 4], Affine.Diagonal(1, 1, 2));
        Nifti.Write(v, path);
    }

    [Fact]
    public void CsvManifestReadsAndNamesLineAndColumnOnErrors()
    {
        using var dir = new TempDir();
        WriteCase(dir.File("a.nii.gz"), 1); WriteCase(dir.File("a_seg.nii.gz"), 1, label: true); WriteCase(dir.File("b.nii.gz"), 2);
        File.WriteAllText(dir.File("m.csv"), "id,image,mask,label,group,split\na,a.nii.gz,a_seg.nii.gz,tumour,p1,train\n\"b,2\",b.nii.gz,,normal,p2,\n");
        var items = CsvManifest.Read(dir.File("m.csv"));
        Assert.Equal(2, items.Count);
        Assert.Equal("b,2", items[1].Id);
        Assert.Null(items[1].Mask);
        Assert.Null(items[1].Split);
        var sample = items[0].Load(new TransformChain(new ZScore()));
        Assert.Equal(VoxelType.UInt8, sample.Label!.DataType);

        void Bad(string csv, string expect)
        {
            File.WriteAllText(dir.File("bad.csv"), csv);
            var e = Assert.Throws<ManifestException>(() => CsvManifest.Read(dir.File("bad.csv")));
            Assert.Contains("bad.csv", e.Message);
            Assert.Contains(expect, e.Message);
        }
        Bad("id,image,colour\n", "line 1, column 'colour': unknown column");
        Bad("id,mask\n", "column 'image': required column is missing");
        Bad("id,image\na,a.nii.gz\na,b.nii.gz\n", "line 3, column 'id': 'a' was already used on line 2");
        Bad("id,image\na,missing.nii.gz\n", "line 2, column 'image': file");
        Bad("id,image,split\na,a.nii.gz,holdout\n", "line 2, column 'split'");
        Bad("id,image\na,a.nii.gz,extra\n", "line 2: has 3 fields");
    }

    [Fact]
    public void DecathlonBratsAndLitsLayouts()
    {
        using var dir = new TempDir();
        var msd = Directory.CreateDirectory(dir.File("Task01")).FullName;
        Directory.CreateDirectory(Path.Combine(msd, "imagesTr")); Directory.CreateDirectory(Path.Combine(msd, "labelsTr")); Directory.CreateDirectory(Path.Combine(msd, "imagesTs"));
        WriteCase(Path.Combine(msd, "imagesTr/c_001.nii.gz"), 1); WriteCase(Path.Combine(msd, "labelsTr/c_001.nii.gz"), 1, label: true);
        WriteCase(Path.Combine(msd, "imagesTs/c_002.nii.gz"), 2);
        File.WriteAllText(Path.Combine(msd, "dataset.json"), """{"name":"t","training":[{"image":"./imagesTr/c_001.nii.gz","label":"./labelsTr/c_001.nii.gz"}],"test":["./imagesTs/c_002.nii.gz"]}""");
        var d = Layouts.Decathlon(msd);
        Assert.Equal(["c_001", "c_002"], d.Select(i => i.Id));
        Assert.Equal("test", d[1].Split);

        var brats = Directory.CreateDirectory(dir.File("brats")).FullName;
        var case1 = Directory.CreateDirectory(Path.Combine(brats, "BraTS20_001")).FullName;
        foreach (var m in new[] { "t1", "t1ce", "t2", "flair" }) WriteCase(Path.Combine(case1, $"BraTS20_001_{m}.nii.gz"), m.Length);
        WriteCase(Path.Combine(case1, "BraTS20_001_seg.nii.gz"), 0, label: true, labelValue: 4);
        var b = Layouts.Brats(brats);
        Assert.Equal(4, b[0].Images.Count);
        Assert.EndsWith("_flair.nii.gz", b[0].Images[3]);
        var s = b[0].Load();
        Assert.Equal(new[] { 6, 5, 4, 4 }, s.Image.Shape);
        Assert.Equal(4, s.Image.Channels);

        var lits = Directory.CreateDirectory(dir.File("lits")).FullName;
        WriteCase(Path.Combine(lits, "volume-0.nii"), 1); WriteCase(Path.Combine(lits, "segmentation-0.nii"), 1, label: true);
        WriteCase(Path.Combine(lits, "volume-3.nii"), 2); WriteCase(Path.Combine(lits, "segmentation-3.nii"), 2, label: true);
        Assert.Equal(["lits-0", "lits-3"], Layouts.Lits(lits).Select(i => i.Id));
        WriteCase(Path.Combine(lits, "segmentation-9.nii"), 2, label: true);
        Assert.Contains("segmentation-9 has no volume-9", Assert.Throws<ImageFormatException>(() => Layouts.Lits(lits)).Message);
    }

    [Fact]
    public void ImageAndMaskWithDifferentGeometryAreRejected()
    {
        using var dir = new TempDir();
        WriteCase(dir.File("img.nii"), 1);
        WriteCase(dir.File("seg.nii"), 1, nx: 7, label: true);
        var e = Assert.Throws<ImageFormatException>(() => new DatasetItem("x", [dir.File("img.nii")], dir.File("seg.nii")).Load());
        Assert.Contains("seg.nii", e.Message);
        Assert.Contains("img.nii", e.Message);
    }

    [Fact]
    public void SlicesKeepGeometryAndCanSkipUnlabelledOnes()
    {
        var img = Volume.Create<float>(Enumerable.Range(0, 60).Select(i => (float)i).ToArray(), [5, 4, 3], Affine.Diagonal(1, 2, 3));
        var lab = Volume.Create<byte>(Enumerable.Range(0, 60).Select(i => (byte)(i / 20 == 1 && i % 5 == 0 ? 1 : 0)).ToArray(), [5, 4, 3], img.Affine);
        var all = SliceExtractor.Slices(new Sample("c", img, lab)).ToList();
        Assert.Equal(3, all.Count);
        Assert.Equal(new[] { 5, 4 }, all[2].Image.Shape);
        Assert.Equal(2, all[2].Image.SpatialRank);
        Assert.Equal(6.0, all[2].Image.Origin[2]);
        Assert.Equal(40f, all[2].Image.Voxels<float>()[0]);
        var labelled = SliceExtractor.Slices(new Sample("c", img, lab), onlyLabelled: true).ToList();
        Assert.Equal("c#k1", Assert.Single(labelled).Id);
        var sagittal = SliceExtractor.Slices(new Sample("c", img, lab), axis: 0).ToList();
        Assert.Equal(5, sagittal.Count);
        Assert.Equal(new[] { 4, 3 }, sagittal[1].Image.Shape);
        Assert.Equal(1f, sagittal[1].Image.Voxels<float>()[0]);
    }

    [Fact]
    public void SplitsKeepGroupsTogetherAndBalanceClasses()
    {
        var items = Enumerable.Range(0, 120).Select(i => new DatasetItem($"c{i}", [$"c{i}.nii"], ClassLabel: i % 4 == 0 ? "pos" : "neg", Group: $"p{i / 3}")).ToList();
        var split = Splits.Assign(items, 0.2, 0.2, seed: 7);
        Assert.All(split.GroupBy(i => i.Group), g => Assert.Single(g.Select(i => i.Split).Distinct()));
        foreach (var part in new[] { "train", "val", "test" })
        {
            var inPart = split.Where(i => i.Split == part).ToList();
            Assert.NotEmpty(inPart);
            double pos = inPart.Count(i => i.ClassLabel == "pos") / (double)inPart.Count;
            Assert.InRange(pos, 0.1, 0.45);
        }
        Assert.Equal(split, Splits.Assign(items, 0.2, 0.2, seed: 7));
        var folds = Splits.Folds(items, 5, seed: 3);
        Assert.All(items.GroupBy(i => i.Group), g => Assert.Single(g.Select(i => folds[i.Id]).Distinct()));
        Assert.Equal(5, folds.Values.Distinct().Count());
    }

    [Fact]
    public void CacheHitsAfterFirstLoadAndMissesWhenSourceOrChainChange()
    {
        using var dir = new TempDir();
        WriteCase(dir.File("a.nii"), 1); WriteCase(dir.File("a_seg.nii"), 1, label: true);
        var item = new DatasetItem("a", [dir.File("a.nii")], dir.File("a_seg.nii"));
        var chain = new TransformChain(new ZScore(), new PadOrCrop { Size = [8, 8, 4] });
        var cache = new SampleCache(dir.File("cache"), chain);
        var first = cache.Get(item);
        var second = cache.Get(item);
        Assert.Equal((1, 1), (cache.Misses, cache.Hits));
        Assert.Equal(first.Image.Data, second.Image.Data);
        Assert.Equal(first.Image.Affine, second.Image.Affine);
        Assert.Equal(first.Label!.Data, second.Label!.Data);
        var other = new SampleCache(dir.File("cache"), new TransformChain(new ZScore()));
        Assert.NotEqual(cache.Key(item), other.Key(item));
        var before = cache.Key(item);
        WriteCase(dir.File("a.nii"), 2);
        File.SetLastWriteTimeUtc(dir.File("a.nii"), DateTime.UtcNow.AddMinutes(1));
        Assert.NotEqual(before, cache.Key(item));
    }

    [Fact]
    public void PrefetchKeepsOrderBoundsWorkAndSurfacesErrors()
    {
        int running = 0, maxRunning = 0;
        var result = Prefetcher.Prefetch(Enumerable.Range(0, 50), i =>
        {
            int now = Interlocked.Increment(ref running);
            lock (this) maxRunning = Math.Max(maxRunning, now);
            Thread.Sleep(i % 3);
            Interlocked.Decrement(ref running);
            return i * i;
        }, workers: 3, capacity: 6).ToList();
        Assert.Equal(Enumerable.Range(0, 50).Select(i => i * i), result);
        Assert.InRange(maxRunning, 1, 3);
        var e = Assert.Throws<InvalidOperationException>(() => Prefetcher.Prefetch(Enumerable.Range(0, 5), i => i == 3 ? throw new InvalidOperationException("item 3") : i).ToList());
        Assert.Equal("item 3", e.Message);
    }

    [Fact]
    public void ADatasetRootRefusesPathsThatLeaveIt()
    {
        using var dir = new TempDir();
        var root = Directory.CreateDirectory(dir.File("dataset")).FullName;
        Directory.CreateDirectory(Path.Combine(root, "images"));
        var outside = Directory.CreateDirectory(dir.File("outside")).FullName;
        WriteCase(Path.Combine(root, "images", "a.nii.gz"), 1);
        WriteCase(Path.Combine(outside, "secret.nii.gz"), 2);
        File.CreateSymbolicLink(Path.Combine(root, "images", "link.nii.gz"), Path.Combine(outside, "secret.nii.gz"));
        Directory.CreateSymbolicLink(Path.Combine(root, "elsewhere"), outside);
        File.CreateSymbolicLink(Path.Combine(root, "images", "inside-link.nii.gz"), Path.Combine(root, "images", "a.nii.gz"));
        var manifest = Path.Combine(root, "m.csv");
        var inRoot = DatasetPaths.Inside(root);

        // Paths that stay inside (a symlink to a file inside included) read as before.
        File.WriteAllText(manifest, "id,image\na,images/a.nii.gz\nb,./images/../images/inside-link.nii.gz\n");
        Assert.Equal(2, CsvManifest.Read(manifest, inRoot).Count);

        foreach (var (image, column) in new[]
        {
            ("../outside/secret.nii.gz", "image"), (Path.Combine(outside, "secret.nii.gz"), "image"),
            ("images/link.nii.gz", "image"), ("elsewhere/secret.nii.gz", "image"),
        })
        {
            File.WriteAllText(manifest, $"id,image\na,images/a.nii.gz\nb,{image}\n");
            Assert.Equal(2, CsvManifest.Read(manifest).Count); // trusted, the default: read as written
            var e = Assert.Throws<DatasetPathException>(() => CsvManifest.Read(manifest, inRoot));
            Assert.Contains("m.csv", e.Message);
            Assert.Contains($"line 3, column '{column}'", e.Message);
            Assert.Contains(image, e.Message);
            Assert.Contains(Path.Combine(outside, "secret.nii.gz"), e.Message); // where it really points
            Assert.Contains(root, e.Message);
        }
        // Masks too, and before any file check.
        File.WriteAllText(manifest, "id,image,mask\na,images/a.nii.gz,../outside/missing.nii.gz\n");
        Assert.Contains("line 2, column 'mask'", Assert.Throws<DatasetPathException>(() => CsvManifest.Read(manifest, inRoot)).Message);

        // Decathlon: the root is the dataset folder.
        File.WriteAllText(Path.Combine(root, "dataset.json"), """{"training":[{"image":"./images/a.nii.gz","label":"../outside/secret.nii.gz"}]}""");
        Assert.Single(Layouts.Decathlon(root));
        var d = Assert.Throws<DatasetPathException>(() => Layouts.Decathlon(root, inRoot));
        Assert.Contains("training[0].label", d.Message);
        Assert.Contains("dataset.json", d.Message);
    }

    [DebianDataFact]
    public void TheSampleCacheKeysDicomSeriesFolders()
    {
        using var dir = new TempDir();
        var series = Directory.CreateDirectory(dir.File("series")).FullName;
        File.Copy(Path.Combine(DebianData.PydicomData, "CT_small.dcm"), Path.Combine(series, "slice1"));
        var item = new DatasetItem("ct", [series]);
        var cache = new SampleCache(dir.File("cache"), new TransformChain(new ZScore()));
        var first = cache.Get(item);
        var second = cache.Get(item);
        Assert.Equal((1, 1), (cache.Misses, cache.Hits));
        Assert.Equal(first.Image.Data, second.Image.Data);
        Assert.Equal(new[] { 128, 128, 1 }, second.Image.Shape);
        // Another file in the folder is another series content: another key.
        var before = cache.Key(item);
        File.Copy(Path.Combine(DebianData.PydicomData, "CT_small.dcm"), Path.Combine(series, "slice2"));
        Assert.NotEqual(before, cache.Key(item));
    }
}
