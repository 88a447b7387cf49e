using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMedical.Catalogs;
using MlNetMedical.Pipeline;
using Xunit;

namespace MlNetMedical.Tests.Pipeline;

/// <summary>
/// The two places the framework reads Microsoft.ML internals (pinned to 6.0.0): <c>MlNetInternals</c> (SchemaShape.Column's
/// internal constructor, behind <see cref="SchemaShapes"/>) and <c>CatalogContexts</c> (the MLContext behind an ML.NET catalog).
/// These tests fail loudly when a Microsoft.ML upgrade moves them.
/// </summary>
public class MlNetInternalsTests
{
    private static string LoadedMicrosoftML =>
        typeof(MLContext).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    [Fact]
    public void TheReferencedMicrosoftMLIsThePinnedVersion()
    {
        // On an upgrade: re-check both internals (the tests below), then move the pins.
        Assert.StartsWith(MlNetInternals.PinnedVersion, MlNetInternals.LoadedVersion);
        Assert.StartsWith(CatalogContexts.PinnedMicrosoftMLVersion, LoadedMicrosoftML);
        Assert.Equal(MlNetInternals.PinnedVersion, CatalogContexts.PinnedMicrosoftMLVersion);
    }

    [Fact]
    public void SchemaShapeColumnsAreBuiltThroughTheInternalConstructor()
    {
        var column = MlNetInternals.NewColumn("Features", SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, false, null);
        Assert.Equal(("Features", SchemaShape.Column.VectorKind.Vector, (DataViewType)NumberDataViewType.Single, false), (column.Name, column.Kind, column.ItemType, column.IsKey));
        Assert.Empty(column.Annotations);
    }

    public sealed class Row
    {
        public string Diagnosis { get; set; } = "";
        [VectorType(2)] public float[] Features { get; set; } = [];
        public float[] Ragged { get; set; } = [];
        public float Age { get; set; }
    }

    [Fact]
    public void SchemaShapesCreateMatchesMLNetsOwnShapes()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(new[] { new Row { Diagnosis = "a", Features = [1, 2], Ragged = [1], Age = 3 }, new Row { Diagnosis = "b", Features = [3, 4], Ragged = [], Age = 5 } });
        var key = ml.Transforms.Conversion.MapValueToKey("Label", "Diagnosis");
        var keyed = key.Fit(data).Transform(data);

        var shape = SchemaShapes.Create(keyed.Schema);
        var label = shape.Find("Label")!.Value;
        Assert.True(label.IsKey);
        Assert.Equal(SchemaShape.Column.VectorKind.Scalar, label.Kind);
        Assert.Equal(NumberDataViewType.UInt32, label.ItemType);   // as ML.NET's SchemaShape.Create: the key's raw type, with IsKey
        Assert.Contains(label.Annotations, a => a.Name == SchemaShapes.AnnotationKinds.KeyValues && a.Kind == SchemaShape.Column.VectorKind.Vector
                                                 && a.ItemType is TextDataViewType);
        Assert.Equal(["a", "b"], keyed.Schema["Label"].ClassNames());
        Assert.Equal(SchemaShape.Column.VectorKind.Vector, shape.Find("Features")!.Value.Kind);
        Assert.Equal(SchemaShape.Column.VectorKind.VariableVector, shape.Find("Ragged")!.Value.Kind);
        Assert.Equal(SchemaShape.Column.VectorKind.Scalar, shape.Find("Age")!.Value.Kind);
        Assert.Null(shape.Find("Nope"));

        // ML.NET's own estimator, given our input shape, agrees with the shape we build from its transformer's output schema.
        var theirs = key.GetOutputSchema(SchemaShapes.Create(data.Schema)).Find("Label")!.Value;
        Assert.Equal((theirs.Kind, theirs.IsKey, theirs.ItemType), (label.Kind, label.IsKey, label.ItemType));
        Assert.Equal(theirs.Annotations.Select(a => a.Name), label.Annotations.Select(a => a.Name));
        // And an ML.NET trainer accepts our shapes (it checks IsKey and the Features vector).
        var scored = ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy().GetOutputSchema(shape);
        Assert.True(scored.Find("PredictedLabel")!.Value.IsKey);

        var (type, annotations) = SchemaShapes.ClassKey(["x", "y", "z"]);
        var made = SchemaShapes.ColumnOf("Label", type, annotations);
        Assert.True(made.IsKey);
        Assert.Contains(made.Annotations, a => a.Name == SchemaShapes.AnnotationKinds.KeyValues);
    }

    [Fact]
    public void CatalogContextsFindsTheContextOfCatalogsByReflection()
    {
        // Fresh contexts, never passed to ml.Medical() or ml.Segmentation: only the reflection path can find them.
        var a = new MLContext(seed: 1);
        Assert.Same(a, CatalogContexts.OfByReflection(a.Model));
        var b = new MLContext(seed: 1);
        Assert.Same(b, CatalogContexts.OfByReflection(b.Transforms));
        var c = new MLContext(seed: 1);
        Assert.Same(c, CatalogContexts.OfByReflection(c.MulticlassClassification.Trainers));
        var d = new MLContext(seed: 1);
        Assert.Same(d, CatalogContexts.OfByReflection(d.Data));
        Assert.Same(d, CatalogContexts.OfByReflection(d.Transforms.Conversion));
        Assert.NotSame(a, CatalogContexts.OfByReflection(new MLContext(seed: 1).Model));
        Assert.Same(a, CatalogContexts.Of(a.Model));
        Assert.Contains("is not an ML.NET catalog", Assert.Throws<ArgumentException>(() => CatalogContexts.OfByReflection(new object())).Message);
    }

    [Fact]
    public void CatalogExtensionsUseTheirOwnContextsSettings()
    {
        // A context reached only through its catalog (ml.Model here): its own settings, not another context's.
        var ml = new MLContext(seed: 1);
        var log = new List<string>();
        ml.Medical().Log += (_, e) => log.Add(e.Message);
        var other = new MLContext(seed: 1);
        var path = Path.Combine(Path.GetTempPath(), $"mlnm-{Guid.NewGuid():N}.zip");
        try
        {
            other.Model.SaveMedical(new VectorScaler("Features", 1f), null, path);
            Assert.Empty(log);
            ml.Model.SaveMedical(new VectorScaler("Features", 1f), null, path);
            Assert.Equal([$"saved model to {path}"], log);
        }
        finally { File.Delete(path); }
    }
}
