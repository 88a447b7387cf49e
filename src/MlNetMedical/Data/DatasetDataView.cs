using MlNetMedical.Imaging;
using MlNetMedical.Imaging.Datasets;
using MlNetMedical.Imaging.Preprocessing;

namespace MlNetMedical.Data;

/// <summary>
/// A lazy view over imaging-layer dataset items (manifest, Decathlon): columns <c>Id</c>, <c>Image</c> (image volume),
/// <c>Mask</c> (mask volume, null when the item has none), <c>Label</c> (key; names = the sorted distinct class labels,
/// 0 = no label), <c>GroupId</c> and <c>Split</c>. Volumes are read (and the preprocessing chain applied) when a cursor
/// reads them, through the imaging layer's on-disk <see cref="SampleCache"/> when one is given.
/// </summary>
internal sealed class DatasetDataView : IDataView
{
    private readonly IReadOnlyList<DatasetItem> _items;
    private readonly TransformChain? _chain;
    private readonly SampleCache? _cache;
    private readonly KeyDataViewType _labelType;

    public DatasetDataView(IReadOnlyList<DatasetItem> items, TransformChain? chain, string? cacheFolder, string source)
    {
        _items = items;
        _chain = chain;
        _cache = cacheFolder is null ? null : new SampleCache(cacheFolder, chain ?? new TransformChain());
        var names = items.Select(i => i.ClassLabel).OfType<string>().Where(s => s.Length > 0).Distinct().Order(StringComparer.Ordinal).ToArray();
        if (items.Count == 0) throw new InvalidDataException($"{source}: the dataset has no items");
        _labelType = new KeyDataViewType(names.Length == 0 ? ["(none)"] : names);
        Schema = new DataViewSchema(
        [
            new("Id", TextDataViewType.Instance),
            new(DefaultColumnNames.Image, new VolumeDataViewType(VolumeKind.Image, typeof(Volume))),
            new(DefaultColumnNames.Mask, new VolumeDataViewType(VolumeKind.Mask, typeof(Volume))),
            new(DefaultColumnNames.Label, _labelType),
            new(DefaultColumnNames.GroupId, TextDataViewType.Instance),
            new(DefaultColumnNames.Split, TextDataViewType.Instance),
        ]);
    }

    public DataViewSchema Schema { get; }

    public long? GetRowCount() => _items.Count;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded)
    {
        var index = -1;
        Sample? loaded = null;
        return new BoxedRowCursor(Schema, columnsNeeded, () =>
        {
            loaded = null;
            return ++index < _items.Count;
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
        });
    }

    private Sample Load(DatasetItem item) => _cache?.Get(item) ?? item.Load(_chain);
}
