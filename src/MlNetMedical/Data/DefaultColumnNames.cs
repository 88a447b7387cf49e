namespace MlNetMedical.Data;

/// <summary>Conventional column names, as in ML.NET plus the medical ones.</summary>
public static class DefaultColumnNames
{
    /// <summary>The image volume.</summary>
    public const string Image = "Image";
    /// <summary>The segmentation mask volume.</summary>
    public const string Mask = "Mask";
    /// <summary>The class label (a key column).</summary>
    public const string Label = "Label";
    /// <summary>The feature vector.</summary>
    public const string Features = "Features";
    /// <summary>The grouping (sampling) key, e.g. the patient: rows sharing it stay on one side of a split.</summary>
    public const string GroupId = "GroupId";
    /// <summary>The split name of a row ("train", "validation", "test").</summary>
    public const string Split = "Split";
    /// <summary>Per-class probabilities output by classifiers.</summary>
    public const string Score = "Score";
    /// <summary>The predicted class (a key column).</summary>
    public const string PredictedLabel = "PredictedLabel";
    /// <summary>The predicted mask output by segmenters.</summary>
    public const string PredictedMask = "PredictedMask";
}
