using MlNetMedical.Imaging;
using MlNetMedical.Imaging.Datasets;
using MlNetMedical.Imaging.Preprocessing;

namespace MlNetMedical.Data;

/// <summary>
/// A lazy view over imaging-layer dataset items (manifest, Decathlon): columns <c>Id</c>, <c>Image</c> (image volume),
/// <c>Mask</c> (mask volume, null when the item has none), <c>Label</c> (key; names = the sorted distinct class labels,
/// 0 = no label), <c>GroupId</c> and <c>Split</c>. Volumes are read (and the preprocessing chain applied) when a cursor
/// reads them, through the imaging layer's on-disk <see cref="SampleCache"/> when one is given. A cursor that reads
/// <c>Image</c> or <c>Mask</c> loads up to <c>prefetch</c> rows ahead on background tasks (the imaging layer's
/// <see cref="Prefetcher"/>), in row order; 0 loads each row when it is read.
/// </summary>
internal sealed class DatasetDataView : IDataView
{
    /// <summary>Rows loaded ahead by default.</summary>
    public const int DefaultPrefetch = 4;

    private readonly IReadOnlyList<DatasetItem> _items;
    private readonly TransformChain? _chain;
    private readonly SampleCache? _cache;
    private readonly KeyDataViewType _labelType;
    private readonly int _prefetch;

    public DatasetDataView(IReadOnlyList<DatasetItem> items, TransformChain? chain, string? cacheFolder, string source, int prefetch = DefaultPrefetch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(prefetch);
        if (items.Count == 0) throw new InvalidDataException($"{source}: the dataset has no items");
        var names = items.Select(i => i.ClassLabel).OfType<string>().Where(s => s.Length > 0).Distinct().Order(StringComparer.Ordinal).ToArray();
        (_items, _chain, _prefetch) = (items, chain, prefetch);
        _cache = cacheFolder is null ? null : new SampleCache(cacheFolder, chain ?? new TransformChain());
        _labelType = new KeyDataViewType(names.Length == 0 ? ["(none)"] : names);
        Schema = CreateSchema(_labelType, chain);
    }

    private DatasetDataView(DatasetDataView whole, IReadOnlyList<DatasetItem> items)
    {
        (_items, _chain, _cache, _labelType, _prefetch, Schema) = (items, whole._chain, whole._cache, whole._labelType, whole._prefetch, whole.Schema);
    }

    /// <summary>The rows at the given positions, in order, as a dataset view of its own (same schema and label names), so
    /// splits and split filters prefetch only the rows they keep.</summary>
    public DatasetDataView Subset(Func<int, DatasetItem, bool> keep) => new(this, _items.Where((item, i) => keep(i, item)).ToList());

    private static DataViewSchema CreateSchema(KeyDataViewType labelType, TransformChain? chain) => new(
        [
            new("Id", TextDataViewType.Instance),
            new(DefaultColumnNames.Image, new VolumeDataViewType(VolumeKind.Image, typeof(Volume))),
            new(DefaultColumnNames.Mask, new VolumeDataViewType(VolumeKind.Mask, typeof(Volume))),
            new(DefaultColumnNames.Label, labelType),
            new(DefaultColumnNames.GroupId, TextDataViewType.Instance),
            new(DefaultColumnNames.Split, TextDataViewType.Instance),
        ], chain);

    public DataViewSchema Schema { get; }

    public long? GetRowCount() => _items.Count;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded)
    {
        var columns = columnsNeeded.ToList();
        var index = -1;
        Sample? loaded = null;
        var readsVolumes = columns.Any(c => c.Name is DefaultColumnNames.Image or DefaultColumnNames.Mask);
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
            switch (column)
            {
                case 0: return item.Id;
                case 1: return (loaded ??= Load(item)).Image;
                case 2: return item.Mask is null ? null : (loaded ??= Load(item)).Label;
                case 3:
                    if (string.IsNullOrEmpty(item.ClassLabel)) return 0u;
                    return (uint)(_labelType.KeyNames.ToList().IndexOf(item.ClassLabel) + 1);
                case 4: return item.GroupKey;
                default: return item.Split ?? "";
            }
        }, () => ahead?.Dispose());
    }

    private Sample Load(DatasetItem item) => _cache?.Get(item) ?? item.Load(_chain);
}
