using MlNetMedical.Imaging.Datasets;

namespace MlNetMedical.Imaging.Synthetic;

/// <summary>A bad generator option; names the option and what it accepts.</summary>
public sealed class SyntheticOptionException(string option, string message) : ArgumentException($"{option}: {message}")
{
    public string Option { get; } = option;
}

/// <summary>What a synthetic dataset is asked for; null counts and size take the task's defaults.</summary>
public sealed record SyntheticOptions
{
    public long Seed { get; init; } = 1;
    public int? Train { get; init; }
    public int? Test { get; init; }
    public int? Pretrain { get; init; }
    /// <summary>Edge length in voxels (cube or square); the field of view stays fixed, so the spacing follows.</summary>
    public int? Size { get; init; }
    /// <summary>Image channels (brain-tumor-3d: 1 = T1c-like, 4 = T1/T1c/T2/FLAIR-like).</summary>
    public int Channels { get; init; } = 1;
    /// <summary>Folder with input files (fashion-mnist: the IDX files).</summary>
    public string? SourceDir { get; init; }
    public int Threads { get; init; } = Environment.ProcessorCount;
}

/// <summary>
/// One case to generate. <see cref="ClassIndex"/> drives the phantom even for unlabelled (pretrain)
/// cases; <see cref="Labelled"/> says whether the manifest shows it. <see cref="Patient"/> numbers patients
/// across all splits (the manifest's group); <see cref="PatientInSplit"/> and <see cref="IndexInSplit"/> seed
/// the phantom and the slice, so a split's cases do not change when another split's count does.
/// </summary>
public sealed record SyntheticCase(int Index, string Id, string Split, int Patient, int SliceInPatient, int ClassIndex, bool Labelled,
                                   int PatientInSplit, int IndexInSplit)
{
    public string Group => $"P{Patient:D4}";
}

/// <summary>A generated image and its mask (null when the task has none).</summary>
public sealed record SyntheticSample(Volume Image, Volume? Mask);

/// <summary>A synthetic task: plans its cases from the options, then renders each one independently.</summary>
public abstract class SyntheticTask
{
    public abstract string Name { get; }
    public abstract string Summary { get; }
    public abstract IReadOnlyList<string> ClassNames { get; }
    public abstract (int Train, int Test, int Pretrain) DefaultCounts { get; }
    public abstract int DefaultSize { get; }
    public virtual int MinSize => 16;
    public virtual int MaxSize => 512;
    /// <summary>Channel counts the task can render.</summary>
    public virtual IReadOnlyList<int> AllowedChannels => [1];

    public abstract IReadOnlyList<SyntheticCase> Plan(SyntheticOptions options);

    /// <summary>Renders one case; depends only on (options, case), so cases can run in any order or in parallel.</summary>
    public abstract SyntheticSample Generate(SyntheticCase item, SyntheticOptions options);

    public static IReadOnlyList<SyntheticTask> All { get; } =
        [new BrainTumor3D(), new CardiacLevel2D(), new LiverLesion2D(), new FashionMnist()];

    public static SyntheticTask Get(string name) =>
        All.FirstOrDefault(t => t.Name == name)
        ?? throw new SyntheticOptionException("NAME", $"unknown dataset '{name}'; expected one of {string.Join(", ", All.Select(t => t.Name))}");

    /// <summary>Checks the options shared by every task and returns the effective size.</summary>
    protected int ValidatedSize(SyntheticOptions o)
    {
        int size = o.Size ?? DefaultSize;
        if (size < MinSize || size > MaxSize)
            throw new SyntheticOptionException("--size", $"{Name} accepts {MinSize}..{MaxSize} voxels per edge, got {size}");
        if (!AllowedChannels.Contains(o.Channels))
            throw new SyntheticOptionException("--channels", $"{Name} renders {string.Join(" or ", AllowedChannels)} channel(s), got {o.Channels}");
        return size;
    }

    protected (int Train, int Test, int Pretrain) ValidatedCounts(SyntheticOptions o)
    {
        var d = DefaultCounts;
        int train = o.Train ?? d.Train, test = o.Test ?? d.Test, pretrain = o.Pretrain ?? d.Pretrain;
        foreach (var (option, value) in new[] { ("--train", train), ("--test", test), ("--pretrain", pretrain) })
            if (value < 0) throw new SyntheticOptionException(option, $"must be 0 or more, got {value}");
        if (train + test + pretrain == 0) throw new SyntheticOptionException("--train/--test/--pretrain", "all counts are 0; nothing to generate");
        return (train, test, pretrain);
    }

    /// <summary>
    /// Plans pretrain, train and test cases (in that order) with patients never shared between splits.
    /// Classes are balanced within each split (round-robin, then shuffled by the seed). With
    /// <paramref name="classPerPatient"/> every slice of a patient has the patient's class (tumour or
    /// lesion type); otherwise each slice draws its own (cardiac level).
    /// </summary>
    protected IReadOnlyList<SyntheticCase> PlanSplits(SyntheticOptions o, int slicesPerPatient, bool classPerPatient)
    {
        var (train, test, pretrain) = ValidatedCounts(o);
        int classes = ClassNames.Count;
        var cases = new List<SyntheticCase>();
        int patient = 0;
        foreach (var (split, count) in new[] { ("pretrain", pretrain), ("train", train), ("test", test) })
        {
            if (count == 0) continue;
            var random = SyntheticRandom.For(o.Seed, Name + "/plan/" + split, 0);
            int patients = (count + slicesPerPatient - 1) / slicesPerPatient;
            var patientClass = Balanced(patients, classes, random);
            var sliceClass = Balanced(count, classes, random);
            for (int n = 0; n < count; n++)
            {
                int p = n / slicesPerPatient;
                int cls = classPerPatient ? patientClass[p] : sliceClass[n];
                cases.Add(new SyntheticCase(cases.Count, $"{split}-{n + 1:D4}", split, patient + p, n % slicesPerPatient, cls, split != "pretrain", p, n));
            }
            patient += patients;
        }
        return cases;
    }

    /// <summary>The random stream of a case's patient: the same body for every slice of that patient.</summary>
    protected SyntheticRandom PatientRandom(SyntheticOptions o, SyntheticCase item) =>
        SyntheticRandom.For(o.Seed, $"{Name}/phantom/{item.Split}", item.PatientInSplit);

    /// <summary>A random stream of one case (slice position, noise), named by <paramref name="purpose"/>.</summary>
    protected SyntheticRandom CaseRandom(SyntheticOptions o, SyntheticCase item, string purpose) =>
        SyntheticRandom.For(o.Seed, $"{Name}/{purpose}/{item.Split}", item.IndexInSplit);

    private static int[] Balanced(int count, int classes, SyntheticRandom random)
    {
        var list = Enumerable.Range(0, count).Select(i => i % classes).ToArray();
        random.Shuffle(list);
        return list;
    }

    /// <summary>Paths (relative to the output folder) of a case's files.</summary>
    public static (string Image, string Mask) RelativePaths(SyntheticCase item) =>
        ($"images/{item.Id}.nii.gz", $"masks/{item.Id}.nii.gz");
}

/// <summary>Renders a task's cases in parallel and writes NIfTI files plus manifest.csv.</summary>
public static class SyntheticDatasetWriter
{
    /// <summary>
    /// Writes every planned case under <paramref name="outDir"/> (images/, masks/, manifest.csv through
    /// <see cref="CsvManifest"/>, paths relative to <paramref name="outDir"/>) and returns the manifest rows. <paramref name="progress"/> is called after each case with (done, total), from worker threads.
    /// </summary>
    public static IReadOnlyList<DatasetItem> Write(SyntheticTask task, SyntheticOptions options, string outDir, Action<int, int>? progress = null, CancellationToken cancel = default)
    {
        if (options.Threads < 1) throw new SyntheticOptionException("--threads", $"must be 1 or more, got {options.Threads}");
        var plan = task.Plan(options);
        Directory.CreateDirectory(Path.Combine(outDir, "images"));
        var rows = new DatasetItem[plan.Count];
        int done = 0;
        Parallel.ForEach(plan, new ParallelOptions { MaxDegreeOfParallelism = options.Threads, CancellationToken = cancel }, item =>
        {
            var sample = task.Generate(item, options);
            var (image, mask) = SyntheticTask.RelativePaths(item);
            Formats.Nifti.Write(sample.Image, Path.Combine(outDir, image), compression: System.IO.Compression.CompressionLevel.Fastest);
            if (sample.Mask is not null)
                Formats.Nifti.Write(sample.Mask, Path.Combine(outDir, mask), compression: System.IO.Compression.CompressionLevel.Fastest);
            rows[item.Index] = new DatasetItem(item.Id, [image], sample.Mask is null ? null : mask,
                item.Labelled ? task.ClassNames[item.ClassIndex] : null, item.Group, item.Split);
            progress?.Invoke(Interlocked.Increment(ref done), plan.Count);
        });
        CsvManifest.Write(Path.Combine(outDir, "manifest.csv"), rows);
        return rows;
    }
}
