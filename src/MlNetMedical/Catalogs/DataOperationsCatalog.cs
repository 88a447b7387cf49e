using MlNetMedical.Data;

namespace MlNetMedical.Catalogs;

/// <summary>Loading, filtering and splitting data (ML.NET's <c>DataOperationsCatalog</c>).</summary>
public sealed partial class DataOperationsCatalog : CatalogBase
{
    internal DataOperationsCatalog(MedicalContext context) : base(context) { }

    /// <summary>A lazy view over in-memory rows: one column per public property of <typeparamref name="TRow"/>
    /// (see <see cref="ColumnNameAttribute"/>, <see cref="KeyTypeAttribute"/>, <see cref="VectorTypeAttribute"/>,
    /// <see cref="VolumeColumnAttribute"/>, <see cref="NoColumnAttribute"/>).</summary>
    public IDataView LoadFromEnumerable<TRow>(IEnumerable<TRow> rows) where TRow : class => new EnumerableDataView<TRow>(rows);

    /// <summary>Reads the rows of <paramref name="data"/> back as objects, lazily: each writable mapped property of
    /// <typeparamref name="TRow"/> is set from the column of the same name (e.g. to read predictions).</summary>
    public IEnumerable<TRow> CreateEnumerable<TRow>(IDataView data) where TRow : class, new() => RowObjects.Create<TRow>(data);

    /// <summary>A view that reads <paramref name="data"/> once, on first use, and then serves every row from memory
    /// (all columns), so repeated passes do not recompute upstream transforms.</summary>
    public IDataView Cache(IDataView data) => new CachedDataView(data ?? throw new ArgumentNullException(nameof(data)));

    /// <summary>The rows whose text column <paramref name="splitColumnName"/> equals <paramref name="split"/> (ordinal, case-sensitive).</summary>
    public IDataView FilterBySplit(IDataView data, string split, string splitColumnName = DefaultColumnNames.Split)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(split);
        var column = data.Schema.GetColumnOrNull(splitColumnName)
            ?? throw new ArgumentException($"there is no split column '{splitColumnName}'; columns: {data.Schema.Describe()}", nameof(splitColumnName));
        if (column.Type is not TextDataViewType)
            throw new ArgumentException($"split column '{splitColumnName}' must be Text, but it is {column.Type}", nameof(splitColumnName));
        if (data is DatasetDataView dataset && splitColumnName == DefaultColumnNames.Split)
            return dataset.Subset((_, item) => string.Equals(item.Split ?? "", split, StringComparison.Ordinal)); // prefetches only kept rows
        return new ColumnFilterDataView<string>(data, column, v => string.Equals(v, split, StringComparison.Ordinal));
    }

    /// <summary>
    /// Splits into train and test sets (ML.NET's <c>TrainTestSplit</c>, plus stratification). Rows sharing a
    /// <paramref name="samplingKeyColumnName"/> value (e.g. a patient id) stay together; with <paramref name="stratify"/>,
    /// label proportions are kept. The same seed gives the same split.
    /// </summary>
    /// <param name="data">The rows to split.</param>
    /// <param name="testFraction">Target fraction of rows in the test set, in (0, 1); met as closely as whole groups allow.</param>
    /// <param name="samplingKeyColumnName">Grouping column, or null to treat every row as its own group.</param>
    /// <param name="stratify">Keep the proportions of <paramref name="labelColumnName"/> in both sets.</param>
    /// <param name="seed">Shuffling seed; default the context's.</param>
    /// <param name="labelColumnName">The label column used when stratifying.</param>
    public TrainTestData TrainTestSplit(IDataView data, double testFraction = 0.1, string? samplingKeyColumnName = null,
        bool stratify = false, int? seed = null, string labelColumnName = DefaultColumnNames.Label)
    {
        var split = DataSplitter.TrainTest(data, testFraction, samplingKeyColumnName, stratify ? labelColumnName : null, SeedOr(seed));
        Context.WriteLog(LogKind.Info, "Data", $"TrainTestSplit: {split.TrainSet.GetRowCount()} train rows, {split.TestSet.GetRowCount()} test rows");
        return split;
    }

    /// <summary>
    /// Splits into <paramref name="numberOfFolds"/> folds; fold i is the test set of the i-th pair and the rest its train
    /// set (ML.NET's <c>CrossValidationSplit</c>, plus stratification). Groups and seed work as in <see cref="TrainTestSplit"/>.
    /// </summary>
    public IReadOnlyList<TrainTestData> CrossValidationSplit(IDataView data, int numberOfFolds = 5, string? samplingKeyColumnName = null,
        bool stratify = false, int? seed = null, string labelColumnName = DefaultColumnNames.Label) =>
        DataSplitter.Folds(data, numberOfFolds, samplingKeyColumnName, stratify ? labelColumnName : null, SeedOr(seed));
}
