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

    /// <summary>Mean over samples and foreground classes 1..C−1 of hard Dice (both empty = 1), from per-voxel logits (C, voxels).</summary>
    public static double ForegroundDice(IReadOnlyList<float[]> logits, IReadOnlyList<long[]> masks, int classes)
    {
        double total = 0;
        var count = 0;
        for (var i = 0; i < logits.Count; i++)
        {
            var voxels = masks[i].Length;
            for (var c = 1; c < Math.Max(classes, 2); c++)
            {
                long both = 0, predicted = 0, actual = 0;
                for (var v = 0; v < voxels; v++)
                {
                    var p = classes == 1 ? (logits[i][v] > 0 ? 1 : 0) : ArgMaxStrided(logits[i], v, voxels, classes);
                    var isP = p == c;
                    var isA = masks[i][v] == c;
                    if (isP) predicted++;
                    if (isA) actual++;
                    if (isP && isA) both++;
                }
                total += predicted + actual == 0 ? 1 : 2.0 * both / (predicted + actual);
                count++;
            }
        }
        return count == 0 ? double.NaN : total / count;
    }

    /// <summary>The fraction of voxels whose predicted class (arg-max over the class-major logits, or logit &gt; 0 for one channel) is not background.</summary>
    public static double PredictedForegroundFraction(IReadOnlyList<float[]> logits, IReadOnlyList<int> voxelCounts, int classes)
    {
        long foreground = 0, total = 0;
        for (var i = 0; i < logits.Count; i++)
        {
            var voxels = voxelCounts[i];
            for (var v = 0; v < voxels; v++)
                if (classes == 1 ? logits[i][v] > 0 : ArgMaxStrided(logits[i], v, voxels, classes) != 0) foreground++;
            total += voxels;
        }
        return total == 0 ? 0 : (double)foreground / total;
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
