using MlNetMedical.Data;
using MlNetMedical.Pipeline;
using MlNetMedical.Serialization;

namespace MlNetMedical.Trainers;

/// <summary>
/// Nearest-centroid classifier over a feature vector: a fast, deterministic sanity baseline for any feature
/// extractor (if a learned classifier does not beat it, something is wrong). Fitting stores the mean feature
/// vector of each class.
/// </summary>
/// <remarks>
/// Scores are probabilities: softmax over classes of −‖x − c_k‖² / s, where s is the mean squared distance of
/// training rows to their own class centroid (1 if that is 0), so the sharpness does not depend on feature scale.
/// A class with no training rows gets probability 0 and is never predicted.
/// </remarks>
public sealed class NearestCentroidTrainer(string labelColumnName = DefaultColumnNames.Label, string featureColumnName = DefaultColumnNames.Features)
    : EstimatorBase<NearestCentroidTransformer>
{
    /// <inheritdoc/>
    public override string StageName => "NearestCentroid";

    /// <inheritdoc/>
    protected override IReadOnlyList<ColumnRequirement> RequiredColumns =>
        [ColumnRequirement.Key(labelColumnName), ColumnRequirement.SingleVector(featureColumnName)];

    /// <inheritdoc/>
    protected override IReadOnlyList<SchemaShape.Column> GetOutputColumns(SchemaShape inputSchema) =>
    [
        new(DefaultColumnNames.Score, SchemaShape.VectorKind.Vector, NumberDataViewType.Single, false),
        inputSchema.Find(labelColumnName)! with { Name = DefaultColumnNames.PredictedLabel },
    ];

    /// <inheritdoc/>
    protected override NearestCentroidTransformer FitCore(IDataView input)
    {
        var labelType = (KeyDataViewType)input.Schema[labelColumnName].Type;
        var dimension = ((VectorDataViewType)input.Schema[featureColumnName].Type).Size;
        var k = labelType.Count;
        var sums = new double[k * dimension];
        var counts = new long[k];
        var (classes, features) = LabelledVectors.ReadAll(input, labelColumnName, featureColumnName, StageName);
        for (var i = 0; i < classes.Count; i++)
        {
            var x = features[i];
            if (!x.All(float.IsFinite)) throw new InvalidOperationException($"{StageName}: feature column '{featureColumnName}' has a non-finite value at row {i}");
            counts[classes[i]]++;
            for (var j = 0; j < dimension; j++) sums[classes[i] * dimension + j] += x[j];
        }
        if (classes.Count == 0) throw new InvalidOperationException($"{StageName}: there are no training rows");
        var centroids = new float[k * dimension];
        for (var c = 0; c < k; c++)
            for (var j = 0; j < dimension; j++)
                centroids[c * dimension + j] = counts[c] == 0 ? float.NaN : (float)(sums[c * dimension + j] / counts[c]);
        var spread = classes.Select((c, i) => NearestCentroidTransformer.SquaredDistance(features[i], centroids.AsSpan(c * dimension, dimension))).Average();
        return new NearestCentroidTransformer(featureColumnName, labelType, dimension, centroids, spread > 0 ? spread : 1.0);
    }
}

/// <summary>A fitted nearest-centroid classifier: writes <c>Score</c> (class probabilities) and <c>PredictedLabel</c>.</summary>
public sealed class NearestCentroidTransformer : RowMappingTransformer
{
    private readonly float[] _centroids;

    internal NearestCentroidTransformer(string featureColumnName, KeyDataViewType labelType, int dimension, float[] centroids, double scale)
    {
        FeatureColumnName = featureColumnName;
        LabelType = labelType;
        Dimension = dimension;
        _centroids = centroids;
        Scale = scale;
    }

    /// <summary>The feature column read.</summary>
    public string FeatureColumnName { get; }

    /// <summary>The label key type (class names).</summary>
    public KeyDataViewType LabelType { get; }

    /// <summary>Feature vector length.</summary>
    public int Dimension { get; }

    /// <summary>The distance scale s of the softmax.</summary>
    public double Scale { get; }

    /// <summary>Centroid of class k (key k + 1); NaN for a class without training rows.</summary>
    public ReadOnlySpan<float> Centroid(int classIndex) => _centroids.AsSpan(classIndex * Dimension, Dimension);

    /// <inheritdoc/>
    public override string StageName => "NearestCentroid";

    /// <inheritdoc/>
    protected override IReadOnlyList<ColumnRequirement> RequiredColumns => [ColumnRequirement.SingleVector(FeatureColumnName)];

    /// <inheritdoc/>
    protected override IReadOnlyList<DataViewSchema.DetachedColumn> GetOutputColumns(DataViewSchema inputSchema)
    {
        var size = ((VectorDataViewType)inputSchema[FeatureColumnName].Type).Size;
        if (size != Dimension)
            throw new SchemaMismatchException(StageName, FeatureColumnName, $"a vector of {Dimension} Single", $"Vector<Single, {size}>", inputSchema.Describe());
        return
        [
            new(DefaultColumnNames.Score, new VectorDataViewType(NumberDataViewType.Single, LabelType.Count)),
            new(DefaultColumnNames.PredictedLabel, LabelType),
        ];
    }

    /// <inheritdoc/>
    protected override void MapRow(DataViewRow input, object?[] outputs)
    {
        var x = input.GetValue<float[]>(FeatureColumnName);
        var k = LabelType.Count;
        var logits = new double[k];
        var best = double.NegativeInfinity;
        for (var c = 0; c < k; c++)
        {
            var centroid = Centroid(c);
            logits[c] = float.IsNaN(centroid[0]) ? double.NegativeInfinity : -SquaredDistance(x, centroid) / Scale;
            best = Math.Max(best, logits[c]);
        }
        var probabilities = new float[k];
        double total = 0;
        for (var c = 0; c < k; c++) total += Math.Exp(logits[c] - best);
        var predicted = 0;
        for (var c = 0; c < k; c++)
        {
            probabilities[c] = (float)(Math.Exp(logits[c] - best) / total);
            if (logits[c] > logits[predicted]) predicted = c;
        }
        outputs[0] = probabilities;
        outputs[1] = (uint)(predicted + 1);
    }

    internal static double SquaredDistance(ReadOnlySpan<float> x, ReadOnlySpan<float> centroid)
    {
        double sum = 0;
        for (var j = 0; j < x.Length; j++)
        {
            var d = (double)x[j] - centroid[j];
            sum += d * d;
        }
        return sum;
    }

    /// <inheritdoc/>
    public override void Save(ModelSaveContext context)
    {
        context.WriteConfig(new Config(FeatureColumnName, LabelType.KeyNames, Dimension, Scale));
        context.WriteSingles("centroids", _centroids);
    }

    internal static NearestCentroidTransformer Load(ModelLoadContext context)
    {
        var c = context.ReadConfig<Config>();
        if (c.Dimension < 1 || c.ClassNames.Count < 1 || !(c.Scale > 0))
            throw new InvalidDataException($"{context.Where}: config has dimension {c.Dimension}, {c.ClassNames.Count} classes, scale {c.Scale}");
        var centroids = context.ReadSingles("centroids", c.ClassNames.Count * c.Dimension);
        return new NearestCentroidTransformer(c.FeatureColumnName, new KeyDataViewType(c.ClassNames), c.Dimension, centroids, c.Scale);
    }

    private sealed record Config(string FeatureColumnName, IReadOnlyList<string> ClassNames, int Dimension, double Scale);
}
