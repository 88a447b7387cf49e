using MlNetMedical.Data;
using MlNetMedical.Imaging;
using MlNetMedical.Pipeline;
using MlNetMedical.Serialization;
using MlNetMedical.Models;
using TorchSharp;
using static TorchSharp.torch;
using MlNetMedical.Training;

namespace MlNetMedical.Trainers;

/// <summary>
/// A classifier on a feature vector: standardisation (train mean/sd), then an MLP with <see cref="HiddenUnits"/> (ReLU, dropout)
/// and a linear output (ML.NET has no MLP; for linear models use its <c>LbfgsMaximumEntropy</c> or <c>SdcaMaximumEntropy</c>).
/// </summary>
public sealed class VectorClassifierNetwork : nn.Module<Tensor, Tensor>, IUsesGenerator
{
    // Children are registered by name in the constructor; TorchSharp's reflection would add each again under its backing field's name.
    protected override void RegisterComponents() { }

    private readonly Tensor mean;
    private readonly Tensor scale;
    private readonly List<TorchSharp.Modules.Linear> linears = [];

    /// <summary>Builds the network for <paramref name="inputs"/> features and <paramref name="classes"/> classes
    /// (initial weights from <see cref="WeightInit.Current"/>).</summary>
    public VectorClassifierNetwork(int inputs, int classes, int[] hiddenUnits, double dropout, float[] mean, float[] scale) : base(nameof(VectorClassifierNetwork))
    {
        HiddenUnits = hiddenUnits;
        Dropout = dropout;
        this.mean = torch.tensor(mean);
        this.scale = torch.tensor(scale);
        register_buffer("mean", this.mean);
        register_buffer("scale", this.scale);
        // Layer names as PyTorch's nn.Sequential of Linear, ReLU[, Dropout] would give them (layers.0, layers.3, ...).
        var layers = nn.Sequential();
        var width = (long)inputs;
        foreach (var h in hiddenUnits)
        {
            var linear = Models.Layers.Linear(width, h);
            linears.Add(linear);
            layers.append(linear);
            layers.append(nn.ReLU());
            if (dropout > 0) layers.append(nn.Identity()); // dropout's slot; the draw happens in forward, from Generator
            width = h;
        }
        var output = Models.Layers.Linear(width, classes);
        linears.Add(output);
        layers.append(output);
        Layers = layers;
        register_module("layers", layers);
    }

    /// <summary>The generator dropout draws from (null: libtorch's default).</summary>
    public Generator? Generator { get; private set; }

    /// <inheritdoc/>
    public void UseGenerator(Generator? generator) => Generator = generator;

    /// <summary>Hidden layer widths.</summary>
    public int[] HiddenUnits { get; }

    /// <summary>Dropout after each hidden layer.</summary>
    public double Dropout { get; }

    /// <summary>The layers (linear, ReLU, dropout slot, ..., linear).</summary>
    public TorchSharp.Modules.Sequential Layers { get; }

    /// <summary>Number of input features.</summary>
    public int Inputs => (int)mean.shape[0];

    /// <summary>The standardisation and the linear layers (ReLU between them), as the ONNX export writes them.</summary>
    internal OnnxFeatureClassifier ForOnnx() => new(mean, scale, linears);

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        var x = (input - mean) / scale;
        for (var i = 0; i < linears.Count - 1; i++)
            x = Models.Layers.Dropout(nn.functional.relu(linears[i].call(x)), Dropout, training, Generator);
        return scope.MoveToOuter(linears[^1].call(x));
    }
}

/// <summary>
/// Trains a <see cref="VectorClassifierNetwork"/> (an MLP) on a features column with the shared training loop.
/// </summary>
public sealed class VectorClassifierTrainer(string name, int[] hiddenUnits, double dropout, string labelColumnName, string featureColumnName,
    TrainingOptions training, int seed) : EstimatorBase<VectorClassifierTransformer>
{
    /// <inheritdoc/>
    public override string StageName => $"MulticlassClassification.{name}";

    /// <summary>What the last fit did, per epoch.</summary>
    public TrainingHistory? LastHistory { get; private set; }

    /// <summary>Device and thread budget for training (the context's, when created through a catalog).</summary>
    public ComputeResources Compute { get; init; } = ComputeResources.Default;

    /// <summary>Where log messages go (the context's, when created through a catalog).</summary>
    internal Action<LogKind, string, string>? Log { get; init; }

    /// <inheritdoc/>
    protected override IReadOnlyList<ColumnRequirement> RequiredColumns => [ColumnRequirement.Key(labelColumnName), ColumnRequirement.SingleVector(featureColumnName)];

    /// <inheritdoc/>
    protected override IReadOnlyList<SchemaShape.Column> GetOutputColumns(SchemaShape inputSchema) =>
        ImageNetworkTransformer.ClassificationShapes(inputSchema.Find(labelColumnName)!.Value);

    /// <inheritdoc/>
    protected override VectorClassifierTransformer FitCore(IDataView input)
    {
        var classNames = input.Schema[labelColumnName].ClassNames();
        var group = training.ResolveGroupColumn(input.Schema, StageName, m => Log?.Invoke(LogKind.Warning, StageName, m));
        var samples = TrainingSamples.Read(input, featureColumnName, null, labelColumnName, group, StageName);
        if (samples.Count == 0) throw new InvalidOperationException($"{StageName}: there are no training rows");
        samples = TrainingSamples.Trainable(samples, usesMask: false, labelColumnName, StageName, (kind, m) => Log?.Invoke(kind, StageName, m));
        var validation = training.ValidationData is { } held ? TrainingSamples.Read(held, featureColumnName, null, labelColumnName, null, StageName + " (ValidationData)").Where(s => s.HasLabel).ToList() : null;
        var dims = samples[0].Image.Length;
        if (samples.Any(s => s.Image.Length != dims)) throw new InvalidOperationException($"{StageName}: feature column '{featureColumnName}' has vectors of different lengths");
        if (samples.Any(s => !s.Image.All(float.IsFinite))) throw new InvalidOperationException($"{StageName}: feature column '{featureColumnName}' has non-finite values");
        var mean = new float[dims];
        var scale = new float[dims];
        for (var j = 0; j < dims; j++)
        {
            var m = samples.Average(x => (double)x.Image[j]);
            var sd = Math.Sqrt(samples.Average(x => (x.Image[j] - m) * (x.Image[j] - m)));
            mean[j] = (float)m;
            scale[j] = sd > 1e-8 ? (float)sd : 1f;
        }
        var runSeed = training.Seed ?? seed;
        using var threads = Compute.Enter();
        using var weights = new Generator((ulong)runSeed);
        VectorClassifierNetwork network;
        using (WeightInit.Use(weights)) network = new VectorClassifierNetwork(dims, classNames.Length, hiddenUnits, dropout, mean, scale);
        try
        {
            LastHistory = new TrainingLoop(training, runSeed, StageName) { Device = Compute.TorchDevice, ClassCount = classNames.Length }
                .Run(new VectorTask(network, Compute.TorchDevice), samples, validation);
        }
        catch
        {
            network.Dispose();
            throw;
        }
        network.to(torch.CPU); // inference on single feature vectors stays on the CPU
        return new VectorClassifierTransformer(network, featureColumnName, classNames);
    }

    private sealed class VectorTask(VectorClassifierNetwork network, torch.Device device) : ITrainingTask
    {
        public nn.Module Network => network;
        public string DefaultMetric => "accuracy";
        public IReadOnlyList<NamedParameterGroup> ParameterGroups(double learningRate) => [new NamedParameterGroup("all", network.parameters().ToArray(), null)];

        public Tensor Loss(IReadOnlyList<TrainingSample> batch, Tensor? classWeights) =>
            nn.functional.cross_entropy(network.call(TrainingBatches.Images(batch, device)), TrainingBatches.Labels(batch, device), classWeights);

        public IReadOnlyDictionary<string, double> Evaluate(IReadOnlyList<TrainingSample> samples) =>
            ImageClassificationTrainer.ClassificationMetricsOf(TrainingBatches.MapBatches(samples, 256, network.call, device), samples);
    }
}

/// <summary>A fitted vector classifier: writes <c>Score</c> and <c>PredictedLabel</c>; saved as config plus safetensors weights.</summary>
public sealed class VectorClassifierTransformer : RowMappingTransformer, IDisposable
{
    internal const string RegisteredName = "VectorClassifier";
    private readonly object _gate = new();

    internal VectorClassifierTransformer(VectorClassifierNetwork network, string featureColumnName, IReadOnlyList<string> classNames)
    {
        Network = network;
        FeatureColumnName = featureColumnName;
        ClassNames = classNames.ToArray();
        network.eval();
    }

    /// <summary>The network (eval mode).</summary>
    public VectorClassifierNetwork Network { get; }

    /// <summary>The feature column read.</summary>
    public string FeatureColumnName { get; }

    /// <summary>Class names (the label's key values, in key order).</summary>
    public IReadOnlyList<string> ClassNames { get; }

    private int Inputs => Network.Inputs;

    /// <inheritdoc/>
    public override string StageName => "VectorClassifier";

    /// <inheritdoc/>
    protected override IReadOnlyList<ColumnRequirement> RequiredColumns => [ColumnRequirement.SingleVector(FeatureColumnName)];

    /// <inheritdoc/>
    protected override IReadOnlyList<DataViewSchema.DetachedColumn> GetOutputColumns(DataViewSchema inputSchema)
    {
        var size = ((VectorDataViewType)inputSchema[FeatureColumnName].Type).Size;
        if (size != Inputs) throw new SchemaMismatchException(StageName, FeatureColumnName, $"a vector of {Inputs} Single", $"Vector<Single, {size}>", inputSchema.Describe());
        return ImageNetworkTransformer.ClassificationColumns(ClassNames);
    }

    /// <inheritdoc/>
    protected override void MapRow(DataViewRow input, object?[] outputs)
    {
        var x = input.GetClrValue<float[]>(FeatureColumnName);
        float[] p;
        lock (_gate)
        {
            using var noGrad = torch.no_grad();
            using var scope = torch.NewDisposeScope();
            p = Network.call(torch.tensor(x, [1, x.Length])).softmax(1).ToHostArray<float>();
        }
        outputs[0] = p;
        outputs[1] = (uint)(TaskMetrics.ArgMax(p) + 1);
    }

    /// <inheritdoc/>
    public override void SaveToArchive(ArchiveSaveContext context)
    {
        context.WriteConfig(new Config(FeatureColumnName, ClassNames, Inputs, Network.HiddenUnits, Network.Dropout));
        context.WriteBlob("weights.safetensors", TrainingLoop.Serialize(Network));
    }

    internal static VectorClassifierTransformer Load(ArchiveLoadContext context)
    {
        var c = context.ReadConfig<Config>();
        if (c.ClassNames is null || c.HiddenUnits is null)
            throw new InvalidDataException($"{context.Where}: config lacks classNames or hiddenUnits");
        if (c.Inputs < 1 || c.ClassNames.Count < 1 || c.HiddenUnits.Any(h => h < 1))
            throw new InvalidDataException($"{context.Where}: config has {c.Inputs} inputs, {c.ClassNames.Count} classes, hidden [{string.Join(", ", c.HiddenUnits)}]");
        // The network holds every weight the blob must hold (float32): refuse a config that asks for more than the blob could
        // hold before building it, so a crafted config cannot make the loader allocate beyond the file's own size.
        var weights = context.ReadBlob("weights.safetensors");
        System.Numerics.BigInteger floats = 2 * (long)c.Inputs, width = c.Inputs;
        foreach (var units in c.HiddenUnits.Append(c.ClassNames.Count))
        {
            floats += width * units + units;
            width = units;
        }
        if (floats * sizeof(float) > weights.Length)
            throw new InvalidDataException($"{context.Where}: config asks for {floats:N0} weights, but weights.safetensors holds {weights.Length:N0} bytes");
        var network = new VectorClassifierNetwork(c.Inputs, c.ClassNames.Count, c.HiddenUnits, c.Dropout, new float[c.Inputs], new float[c.Inputs]);
        try
        {
            TrainingLoop.Restore(network, weights, "weights.safetensors");
        }
        catch (Exception e) when (e is StateDictMismatchException or FormatException)
        {
            network.Dispose();
            throw new InvalidDataException($"{context.Where}: weights.safetensors does not match the config: {e.Message}", e);
        }
        return new VectorClassifierTransformer(network, c.FeatureColumnName, c.ClassNames);
    }

    /// <summary>Frees the network's tensors.</summary>
    public void Dispose() => Network.Dispose();

    private sealed record Config(string FeatureColumnName, IReadOnlyList<string> ClassNames, int Inputs, int[] HiddenUnits, double Dropout);
}
