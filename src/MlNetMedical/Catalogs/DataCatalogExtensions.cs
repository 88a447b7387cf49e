using MlNetMedical.Catalogs;
using MlNetMedical.Data;
using MlNetMedical.Imaging.Datasets;
using MlNetMedical.Imaging.Preprocessing;

namespace MlNetMedical;

/// <summary>
/// Medical-dataset loading, split filtering and an in-memory cache that keeps volume columns, on ML.NET's <c>ml.Data</c>.
/// Everything else (LoadFromEnumerable, LoadFromTextFile, CreateEnumerable, Cache, TrainTestSplit, CrossValidationSplit) is ML.NET's own.
/// </summary>
public static class DataCatalogExtensions
{
    /// <summary>
    /// A lazy view over a CSV manifest (header <c>id,image[,mask][,label][,group][,split]</c>, paths relative to the CSV's folder;
    /// see the imaging layer's <c>CsvManifest</c>). Columns: <c>Id</c> (text), <c>Image</c> (image volume, with the
    /// <see cref="PreprocessingAnnotation"/>), <c>Mask</c> (mask volume, null for rows without one), <c>Label</c> (key; KeyValues =
    /// the sorted distinct class labels; 0 = no label), <c>GroupId</c> (text: the group, else the id) and <c>Split</c> (text, "" when none).
    /// Volumes are read when rows are read, with <paramref name="preprocessing"/> applied and cached under <paramref name="cacheFolder"/>
    /// when given; a cursor reading volumes loads up to <paramref name="prefetch"/> rows ahead on background tasks, in row order (0 = off).
    /// For a manifest with other tabular columns, use <c>ml.Data.LoadFromTextFile</c> and <see cref="MedicalImageLoadingExtensions.LoadMedicalImages"/>.
    /// </summary>
    /// <param name="catalog">ML.NET's data catalog (<c>ml.Data</c>).</param>
    /// <param name="path">The manifest CSV.</param>
    /// <param name="preprocessing">The chain applied to each image (and mask) when loaded; null = none.</param>
    /// <param name="cacheFolder">Folder of the on-disk cache of preprocessed samples; null = no cache.</param>
    /// <param name="prefetch">Rows loaded ahead (≥ 0).</param>
    public static IDataView LoadFromManifest(this DataOperationsCatalog catalog, string path, TransformChain? preprocessing = null,
        string? cacheFolder = null, int prefetch = DatasetDataView.DefaultPrefetch)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(path);
        return new DatasetDataView(CsvManifest.Read(path), preprocessing, cacheFolder, $"manifest '{path}'", prefetch);
    }

    /// <summary>A lazy view over a Medical Segmentation Decathlon folder (its dataset.json); same columns, preprocessing, cache and
    /// prefetch as <see cref="LoadFromManifest"/>.</summary>
    /// <param name="catalog">ML.NET's data catalog (<c>ml.Data</c>).</param>
    /// <param name="folder">The task folder holding dataset.json.</param>
    /// <param name="preprocessing">The chain applied to each image and mask when loaded; null = none.</param>
    /// <param name="cacheFolder">Folder of the on-disk cache of preprocessed samples; null = no cache.</param>
    /// <param name="prefetch">Rows loaded ahead (≥ 0).</param>
    public static IDataView LoadFromDecathlon(this DataOperationsCatalog catalog, string folder, TransformChain? preprocessing = null,
        string? cacheFolder = null, int prefetch = DatasetDataView.DefaultPrefetch)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(folder);
        return new DatasetDataView(Layouts.Decathlon(folder), preprocessing, cacheFolder, $"Decathlon folder '{folder}'", prefetch);
    }

    /// <summary>
    /// The rows whose text column <paramref name="splitColumnName"/> equals <paramref name="split"/> (ordinal, case-sensitive), lazily,
    /// in order. On a view from <see cref="LoadFromManifest"/>/<see cref="LoadFromDecathlon"/> only the kept rows are loaded and prefetched.
    /// </summary>
    /// <param name="catalog">ML.NET's data catalog (<c>ml.Data</c>).</param>
    /// <param name="data">The rows to filter.</param>
    /// <param name="split">The split name to keep, e.g. "train".</param>
    /// <param name="splitColumnName">A scalar text column.</param>
    public static IDataView FilterBySplit(this DataOperationsCatalog catalog, IDataView data, string split, string splitColumnName = DefaultColumnNames.Split)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(split);
        ArgumentNullException.ThrowIfNull(splitColumnName);
        var column = data.Schema.GetColumnOrNull(splitColumnName)
            ?? throw new ArgumentException($"FilterBySplit: there is no split column '{splitColumnName}'; columns: {data.Schema.Describe()}", nameof(splitColumnName));
        if (column.Type is not TextDataViewType)
            throw new ArgumentException($"FilterBySplit: split column '{splitColumnName}' is {column.Type}, expected a scalar Text column", nameof(splitColumnName));
        if (data is DatasetDataView dataset && splitColumnName == DefaultColumnNames.Split)
            return dataset.Subset((_, item) => string.Equals(item.Split ?? "", split, StringComparison.Ordinal)); // prefetches only kept rows
        return new ColumnFilterDataView<string>(data, column, v => string.Equals(v, split, StringComparison.Ordinal));
    }

    /// <summary>
    /// A view that reads every column of <paramref name="data"/> once, on first use, and then serves the rows from memory, so later
    /// passes (training epochs) neither reload images nor recompute upstream transforms. Use it instead of ML.NET's
    /// <c>ml.Data.Cache</c> for views with image or mask columns: ML.NET's cache keeps only columns of ML.NET's own types and
    /// silently drops volume columns. Everything is held in memory: filter to the rows you need first.
    /// </summary>
    /// <param name="catalog">ML.NET's data catalog (<c>ml.Data</c>).</param>
    /// <param name="data">The rows to cache.</param>
    public static IDataView CacheInMemory(this DataOperationsCatalog catalog, IDataView data)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(data);
        return new InMemoryDataView(data);
    }
}
