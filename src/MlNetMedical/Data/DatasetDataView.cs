using MlNetMedical.Imaging;
using MlNetMedical.Imaging.Datasets;
using MlNetMedical.Imaging.Preprocessing;
using MlNetMedical.Pipeline;

namespace MlNetMedical.Data;

/// <summary>
/// A lazy ML.NET view over imaging-layer dataset items (manifest, Decathlon): columns <c>Id</c> (text), <c>Image</c>
/// (image volume, with the <see cref="PreprocessingAnnotation"/>), <c>Mask</c> (mask volume, null when the item has none),
/// <c>Label</c> (key; KeyValues = the sorted distinct class labels, 0 = no label), <c>GroupId</c> and <c>Split</c> (text).
/// Volumes are read (and the preprocessing chain applied) when a cursor reads them, through the imaging layer's on-disk
/// <see cref="SampleCache"/> when one is given. A cursor that reads <c>Image</c> or <c>Mask</c> loads up to <c>prefetch</c>
/// rows ahead on background tasks (the imaging layer's <see cref="Prefetcher"/>), in row order; 0 loads each row when it is read.
/// </summary>
internal sealed class DatasetDataView : IDataView
{
    /// <summary>Rows loaded ahead by default.</summary>
    public const int DefaultPrefetch = 4;

    /// <summary>The item id column.</summary>
    public const string IdColumnName = "Id";

    private const int IdIndex = 0, ImageIndex = 1, MaskIndex = 2, LabelIndex = 3, GroupIndex = 4;

    private readonly IReadOnlyList<DatasetItem> _items;
    private readonly TransformChain? _chain;
    private readonly SampleCache? _cache;
    private readonly Dictionary<string, uint> _keys;
    private readonly int _prefetch;

    public DatasetDataView(IReadOnlyList<DatasetItem> items, TransformChain? chain, string? cacheFolder, string source, int prefetch = DefaultPrefetch)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentOutOfRangeException.ThrowIfNegative(prefetch);
        if (items.Count == 0) throw new InvalidDataException($"{source}: the dataset has no items");
        var names = items.Select(i => i.ClassLabel).OfType<string>().Where(s => s.Length > 0).Distinct().Order(StringComparer.Ordinal).ToArray();
        (_items, _chain, _prefetch) = (items, chain, prefetch);
        _cache = cacheFolder is null ? null : new SampleCache(cacheFolder, chain ?? new TransformChain());
        // A key type needs at least one value: a dataset without class labels gets one placeholder name, and every row is 0 (missing).
        _keys = names.Select((n, i) => (n, (uint)(i + 1))).ToDictionary(p => p.n, p => p.Item2, StringComparer.Ordinal);
        Schema = CreateSchema(names.Length == 0 ? ["(none)"] : names, chain);
    }

    private DatasetDataView(DatasetDataView whole, IReadOnlyList<DatasetItem> items)
    {
        (_items, _chain, _cache, _keys, _prefetch, Schema) = (items, whole._chain, whole._cache, whole._keys, whole._prefetch, whole.Schema);
    }

    /// <summary>The rows at the given positions, in order, as a dataset view of its own (same schema and label names), so
    /// splits and split filters prefetch only the rows they keep.</summary>
    public DatasetDataView Subset(Func<int, DatasetItem, bool> keep) => new(this, _items.Where((item, i) => keep(i, item)).ToList());

    private static DataViewSchema CreateSchema(IReadOnlyList<string> classNames, TransformChain? chain)
    {
        var (labelType, labelAnnotations) = SchemaShapes.ClassKey(classNames);
        var builder = new DataViewSchema.Builder();
        builder.AddColumn(IdColumnName, TextDataViewType.Instance);
        builder.AddColumn(DefaultColumnNames.Image, new VolumeDataViewType(VolumeKind.Image, typeof(Volume)), PreprocessingAnnotation.Create(chain));
        builder.AddColumn(DefaultColumnNames.Mask, new VolumeDataViewType(VolumeKind.Mask, typeof(Volume)));
        builder.AddColumn(DefaultColumnNames.Label, labelType, labelAnnotations);
        builder.AddColumn(DefaultColumnNames.GroupId, TextDataViewType.Instance);
        builder.AddColumn(DefaultColumnNames.Split, TextDataViewType.Instance);
        return builder.ToSchema();
    }

    public DataViewSchema Schema { get; }

    public bool CanShuffle => false;

    public long? GetRowCount() => _items.Count;

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        ArgumentNullException.ThrowIfNull(columnsNeeded);
        var columns = columnsNeeded.ToList();
        var index = -1;
        Sample? loaded = null;
        var readsVolumes = columns.Any(c => c.Index is ImageIndex or MaskIndex);
        var ahead = _prefetch > 0 && readsVolumes
            ? Prefetcher.Prefetch(_items, Load, workers: Math.Min(2, _prefetch), capacity: _prefetch).GetEnumerator()
            : null;
        return new BoxedRowCursor(Schema, columns, () =>
        {
            loaded = null;
            if (++index >= _items.Count) return false;
            if (ahead is not null)
            {
                ahead.MoveNext(); // the same row: the prefetcher yields the items in order
                loaded = ahead.Current;
            }
            return true;
        }, column =>
        {
            var item = _items[index];
            return column switch
            {
                IdIndex => item.Id.AsMemory(),
                ImageIndex => (loaded ??= Load(item)).Image,
                MaskIndex => item.Mask is null ? null : (loaded ??= Load(item)).Label,
                LabelIndex => string.IsNullOrEmpty(item.ClassLabel) ? 0u : _keys[item.ClassLabel],
                GroupIndex => item.GroupKey.AsMemory(),
                _ => (item.Split ?? "").AsMemory(),
            };
        }, () => ahead?.Dispose());
    }

    private Sample Load(DatasetItem item) => _cache?.Get(item) ?? item.Load(_chain);
}
