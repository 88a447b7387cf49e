namespace MlNetMedical.Trainers;

/// <summary>Validation metrics computed inside training tasks.</summary>
internal static class TaskMetrics
{
    /// <summary>Fraction of rows whose arg-max of <paramref name="logits"/> equals the label.</summary>
    public static double Accuracy(IReadOnlyList<float[]> logits, IReadOnlyList<int> labels)
    {
        var right = 0;
        for (var i = 0; i < logits.Count; i++) if (ArgMax(logits[i]) == labels[i]) right++;
        return logits.Count == 0 ? double.NaN : (double)right / logits.Count;
    }

    /// <summary>Mean cross-entropy of <paramref name="logits"/> against the labels.</summary>
    public static double CrossEntropy(IReadOnlyList<float[]> logits, IReadOnlyList<int> labels)
    {
        double sum = 0;
        for (var i = 0; i < logits.Count; i++)
        {
            var max = logits[i].Max();
            var logZ = max + Math.Log(logits[i].Sum(v => Math.Exp(v - max)));
            sum += logZ - logits[i][labels[i]];
        }
        return logits.Count == 0 ? 0 : sum / logits.Count;
    }

    /// <summary>
    /// Mean over samples and foreground classes 1..C−1 of hard Dice (both empty = 1), from per-voxel logits (C, voxels), and
    /// the fraction of voxels predicted as a foreground class (arg-max, or logit &gt; 0 for one channel); one arg-max per voxel.
    /// </summary>
    public static (double Dice, double PredictedForeground) ForegroundDice(IReadOnlyList<float[]> logits, IReadOnlyList<long[]> masks, int classes)
    {
        var labels = Math.Max(classes, 2);
        var both = new long[labels];
        var predicted = new long[labels];
        var actual = new long[labels];
        double total = 0;
        var count = 0;
        long foreground = 0, voxelsSeen = 0;
        for (var i = 0; i < logits.Count; i++)
        {
            Array.Clear(both);
            Array.Clear(predicted);
            Array.Clear(actual);
            var voxels = masks[i].Length;
            for (var v = 0; v < voxels; v++)
            {
                var p = classes == 1 ? (logits[i][v] > 0 ? 1 : 0) : ArgMaxStrided(logits[i], v, voxels, classes);
                predicted[p]++;
                var a = masks[i][v];
                if (a < 0 || a >= labels) continue;
                actual[a]++;
                if (a == p) both[p]++;
            }
            for (var c = 1; c < labels; c++)
            {
                total += predicted[c] + actual[c] == 0 ? 1 : 2.0 * both[c] / (predicted[c] + actual[c]);
                count++;
            }
            foreground += voxels - predicted[0];
            voxelsSeen += voxels;
        }
        return (count == 0 ? double.NaN : total / count, voxelsSeen == 0 ? 0 : (double)foreground / voxelsSeen);
    }

    public static int ArgMax(float[] v)
    {
        var best = 0;
        for (var c = 1; c < v.Length; c++) if (v[c] > v[best]) best = c;
        return best;
    }

    private static int ArgMaxStrided(float[] logits, int voxel, int voxels, int classes)
    {
        var best = 0;
        for (var c = 1; c < classes; c++) if (logits[c * voxels + voxel] > logits[best * voxels + voxel]) best = c;
        return best;
    }
}
