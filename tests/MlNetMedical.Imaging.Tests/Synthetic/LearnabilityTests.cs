using MlNetMedical.Imaging.Synthetic;
using Xunit;
using Xunit.Abstractions;

namespace MlNetMedical.Imaging.Tests.Synthetic;

/// <summary>
/// Sanity checks that need no deep learning: a nearest-centroid classifier on handcrafted shape and
/// structure features beats chance clearly, while the same classifier on one voxel's intensity does not
/// come close: the class lives in structure, not in a grey level.
/// </summary>
public sealed class LearnabilityTests(ITestOutputHelper log)
{
    private static double NearestCentroidAccuracy(List<(double[] X, int Y)> train, List<(double[] X, int Y)> test, int classes)
    {
        int d = train[0].X.Length;
        var mean = new double[d];
        var sd = new double[d];
        for (int f = 0; f < d; f++)
        {
            mean[f] = train.Average(t => t.X[f]);
            sd[f] = Math.Sqrt(train.Average(t => (t.X[f] - mean[f]) * (t.X[f] - mean[f]))) + 1e-9;
        }
        double[] Z(double[] x) => x.Select((v, f) => (v - mean[f]) / sd[f]).ToArray();
        var centroids = Enumerable.Range(0, classes).Select(k =>
        {
            var members = train.Where(t => t.Y == k).Select(t => Z(t.X)).ToList();
            return Enumerable.Range(0, d).Select(f => members.Average(m => m[f])).ToArray();
        }).ToArray();
        int correct = test.Count(t =>
        {
            var z = Z(t.X);
            int best = Enumerable.Range(0, classes).MinBy(k => centroids[k].Select((c, f) => (c - z[f]) * (c - z[f])).Sum());
            return best == t.Y;
        });
        return (double)correct / test.Count;
    }

    private (double Shape, double Voxel) Evaluate(SyntheticTask task, SyntheticOptions options, Func<SyntheticSample, SyntheticRandom, (double[] Shape, double[] Voxel)> features)
    {
        var shapeSets = new Dictionary<string, List<(double[], int)>> { ["train"] = [], ["test"] = [] };
        var voxelSets = new Dictionary<string, List<(double[], int)>> { ["train"] = [], ["test"] = [] };
        var random = SyntheticRandom.For(99, "learnability", 0);
        foreach (var item in task.Plan(options))
        {
            var (shape, voxel) = features(task.Generate(item, options), random);
            shapeSets[item.Split].Add((shape, item.ClassIndex));
            voxelSets[item.Split].Add((voxel, item.ClassIndex));
        }
        int k = task.ClassNames.Count;
        var result = (NearestCentroidAccuracy(shapeSets["train"], shapeSets["test"], k), NearestCentroidAccuracy(voxelSets["train"], voxelSets["test"], k));
        log.WriteLine($"{task.Name}: shape features {result.Item1:P0}, one voxel's intensity {result.Item2:P0}, chance {1.0 / k:P0}");
        return result;
    }

    private static double RandomVoxelOf(SyntheticSample s, SyntheticRandom r, Func<byte, bool> where)
    {
        var mask = s.Mask!.Data;
        var image = s.Image.ToFloatArray();
        var hits = Enumerable.Range(0, mask.Length).Where(i => where(mask[i])).ToArray();
        return hits.Length == 0 ? image[image.Length / 2] : image[hits[r.Next(hits.Length)]];
    }

    [Fact]
    public void BrainTumourTypeIsInTheMaskStructureNotInOneVoxel()
    {
        var options = new SyntheticOptions { Seed = 3, Size = 24, Train = 30, Test = 30, Pretrain = 0 };
        var (shape, voxel) = Evaluate(new BrainTumor3D(), options, (s, r) =>
        {
            var m = s.Mask!.Data;
            int n = s.Mask.Shape[0];
            double c1 = m.Count(b => b == 1), c2 = m.Count(b => b == 2), c4 = m.Count(b => b == 4), total = c1 + c2 + c4 + 1;
            // How far the tumour core sits from the centre of the head (extra-axial masses touch the skull).
            double cx = 0, cy = 0, cz = 0, cn = 0;
            for (int i = 0; i < m.Length; i++)
                if (m[i] is 1 or 4) { cx += i % n; cy += i / n % n; cz += i / (n * n); cn++; }
            double h = (n - 1) / 2.0, radius = cn == 0 ? 0 : Math.Sqrt(Math.Pow(cx / cn - h, 2) + Math.Pow(cy / cn - h, 2) + Math.Pow(cz / cn - h, 2)) / h;
            return ([c1 / total, c2 / total, c4 / total, radius], [RandomVoxelOf(s, r, b => b != 0)]);
        });
        Assert.True(shape >= 0.8, $"shape features reach {shape:P0}");
        Assert.True(voxel < 0.6 && voxel < shape - 0.25, $"one voxel's intensity reaches {voxel:P0} against {shape:P0} for shape");
    }

    [Fact]
    public void LiverLesionTypeIsInStructureNotInOneVoxel()
    {
        var options = new SyntheticOptions { Seed = 3, Size = 128, Train = 90, Test = 90, Pretrain = 0 };
        var (shape, voxel) = Evaluate(new LiverLesion2D(), options, (s, r) =>
        {
            var m = s.Mask!.Data;
            var hu = s.Image.ToFloatArray();
            int n = s.Mask.Shape[0];
            var lesion = Enumerable.Range(0, m.Length).Where(i => m[i] == 2).ToArray();
            // Border pixels (a 4-neighbour is not lesion) against interior pixels: rims and peripheral nodules.
            bool Border(int i) => (i % n == 0 || m[i - 1] != 2) || (i % n == n - 1 || m[i + 1] != 2) || (i < n || m[i - n] != 2) || (i >= m.Length - n || m[i + n] != 2);
            var border = lesion.Where(Border).Select(i => (double)hu[i]).ToArray();
            var interior = lesion.Where(i => !Border(i)).Select(i => (double)hu[i]).ToArray();
            double mean = lesion.Average(i => hu[i]);
            double sd = Math.Sqrt(lesion.Average(i => (hu[i] - mean) * (hu[i] - mean)));
            double rimContrast = (border.Length > 0 ? border.Average() : mean) - (interior.Length > 0 ? interior.Average() : mean);
            return ([sd, rimContrast, Components(m, n), Math.Sqrt(lesion.Length)], [RandomVoxelOf(s, r, b => b == 2)]);
        });
        Assert.True(shape >= 0.75, $"structure features reach {shape:P0}");
        Assert.True(voxel < shape - 0.1, $"one voxel's intensity reaches {voxel:P0} against {shape:P0} for structure");
    }

    [Fact]
    public void CardiacLevelIsInTheMaskShapesNotInOnePixel()
    {
        var options = new SyntheticOptions { Seed = 3, Size = 48, Train = 135, Test = 90, Pretrain = 0 };
        var (shape, voxel) = Evaluate(new CardiacLevel2D(), options, (s, r) =>
        {
            var m = s.Mask!.Data;
            var image = s.Image.ToFloatArray();
            double lv = m.Count(b => b == 3), myo = m.Count(b => b == 2), rv = m.Count(b => b == 1);
            // Blood outside the ventricles (atria, great vessels) separates "above the base" from "below the apex".
            double mean = image.Average(v => v), bright = image.Where((v, i) => m[i] == 0 && v > 1.6 * mean).Count();
            return ([Math.Sqrt(lv), Math.Sqrt(myo), Math.Sqrt(rv), Math.Sqrt(bright)], [image[image.Length / 2 + s.Mask.Shape[0] / 2]]);
        });
        Assert.True(shape >= 0.3, $"shape features reach {shape:P0} (chance 11%)");
        Assert.True(voxel < shape - 0.1, $"one pixel's intensity reaches {voxel:P0} against {shape:P0} for shape");
    }

    /// <summary>
    /// Toy-scale calibration of cardiac-level-2d: on scale-free landmark features (cavity share of the LV, RV
    /// against LV, extra-cardiac blood), a 5-nearest-neighbour classifier is far below ceiling with 3 slices per
    /// level and clearly better with 10× as many, so the level is identifiable but needs data.
    /// </summary>
    [Fact]
    public void CardiacLevelNeedsDataButIsIdentifiableFromLandmarks()
    {
        var task = new CardiacLevel2D();
        List<(double[] X, int Y)> Features(int seed, int count, string split)
        {
            var options = new SyntheticOptions { Seed = seed, Size = 48, Train = split == "train" ? count : 0, Test = split == "test" ? count : 0, Pretrain = 0 };
            return task.Plan(options).Select(item =>
            {
                var s = task.Generate(item, options);
                var m = s.Mask!.Data;
                var image = s.Image.ToFloatArray();
                double lv = m.Count(b => b == 3), myo = m.Count(b => b == 2), rv = m.Count(b => b == 1);
                double mean = image.Average(v => v), bright = image.Where((v, i) => m[i] == 0 && v > 1.6 * mean).Count();
                double heart = Math.Sqrt(lv + myo) + 1;
                return (new[] { lv / (lv + myo + 1), Math.Sqrt(rv) / heart, Math.Sqrt(bright) / heart, heart }, item.ClassIndex);
            }).ToList();
        }
        var test = Features(5, 180, "test");
        // Three slices per level make a noisy classifier: average four draws of the small training set.
        double small = new[] { 6, 8, 9, 10 }.Average(seed => NearestNeighbourAccuracy(Features(seed, 27, "train"), test, 5));
        double large = NearestNeighbourAccuracy(Features(7, 270, "train"), test, 5);
        log.WriteLine($"cardiac-level-2d landmarks, 5-NN: 27 train {small:P0} (mean of 4 draws), 270 train {large:P0}, chance 11%");
        Assert.True(small < 0.75, $"3 slices per level already reach {small:P0}");
        Assert.True(large >= small + 0.05 && large >= 0.55, $"10× the data reaches {large:P0} against {small:P0}");
    }

    private static double NearestNeighbourAccuracy(List<(double[] X, int Y)> train, List<(double[] X, int Y)> test, int k)
    {
        int d = train[0].X.Length;
        var mean = Enumerable.Range(0, d).Select(f => train.Average(t => t.X[f])).ToArray();
        var sd = Enumerable.Range(0, d).Select(f => Math.Sqrt(train.Average(t => Math.Pow(t.X[f] - mean[f], 2))) + 1e-9).ToArray();
        double Distance(double[] a, double[] b) => Enumerable.Range(0, d).Sum(f => Math.Pow((a[f] - b[f]) / sd[f], 2));
        int correct = test.Count(t => train.OrderBy(u => Distance(u.X, t.X)).Take(k).GroupBy(u => u.Y)
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key).First().Key == t.Y);
        return (double)correct / test.Count;
    }

    private static double Components(byte[] m, int n)
    {
        var seen = new bool[m.Length];
        int count = 0;
        var stack = new Stack<int>();
        for (int s = 0; s < m.Length; s++)
        {
            if (m[s] != 2 || seen[s]) continue;
            count++;
            stack.Push(s); seen[s] = true;
            while (stack.Count > 0)
            {
                int i = stack.Pop();
                foreach (int j in new[] { i - 1, i + 1, i - n, i + n })
                    if (j >= 0 && j < m.Length && Math.Abs(j % n - i % n) <= 1 && m[j] == 2 && !seen[j]) { seen[j] = true; stack.Push(j); }
            }
        }
        return count;
    }
}
