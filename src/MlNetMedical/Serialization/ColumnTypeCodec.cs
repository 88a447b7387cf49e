using System.Text.Json.Serialization;
using MlNetMedical.Data;

namespace MlNetMedical.Serialization;

/// <summary>A column type as stored in a model manifest.</summary>
public sealed record ColumnTypeRecord(
    string Kind,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Item = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] int Size = 0,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? KeyNames = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ClrType = null);

/// <summary>A named column as stored in a model manifest.</summary>
public sealed record ColumnRecord(string Name, ColumnTypeRecord Type);

/// <summary>Converts column types to and from their manifest records.</summary>
/// <remarks>
/// A volume column's CLR type is stored by name (<c>"Namespace.Type, Assembly"</c>). Loading never resolves a name from the file
/// by reflection: it looks it up in an allow-list that holds the library's own volume types (<see cref="Imaging.Volume"/> and
/// <see cref="LabelMap"/>) and the types registered with <see cref="RegisterVolumeType{TVolume}"/>; any other name is an
/// <see cref="InvalidDataException"/> naming it.
/// </remarks>
public static class ColumnTypeCodec
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Type> VolumeTypes = new(StringComparer.Ordinal)
    {
        [NameOf(typeof(Imaging.Volume))] = typeof(Imaging.Volume),
        [NameOf(typeof(LabelMap))] = typeof(LabelMap),
    };

    /// <summary>
    /// Allows <typeparamref name="TVolume"/> as a volume column type in the input schemas of loaded models. Needed only for
    /// your own <c>[VolumeColumn]</c> property types (the library's <see cref="Imaging.Volume"/> and <see cref="LabelMap"/> are
    /// allowed already); register it once at startup, before loading. Registering it again is allowed.
    /// </summary>
    public static void RegisterVolumeType<TVolume>() where TVolume : class => VolumeTypes[NameOf(typeof(TVolume))] = typeof(TVolume);

    /// <summary>How a volume type is named in the manifest: <c>"Namespace.Type, Assembly"</c>.</summary>
    private static string NameOf(Type type) => $"{type.FullName}, {type.Assembly.GetName().Name}";

    /// <summary>The record of <paramref name="type"/>.</summary>
    public static ColumnTypeRecord ToRecord(DataViewType type) => type switch
    {
        NumberDataViewType n => new("Number", n.RawType.Name),
        TextDataViewType => new("Text"),
        BooleanDataViewType => new("Boolean"),
        KeyDataViewType k => new("Key", KeyNames: k.KeyNames),
        VectorDataViewType v => new("Vector", v.ItemType.RawType.Name, v.Size),
        VolumeDataViewType v => new(v.Kind == VolumeKind.Image ? "ImageVolume" : "MaskVolume", ClrType: NameOf(v.RawType)),
        _ => throw new NotSupportedException($"column type {type} has no manifest form"),
    };

    /// <summary>The column type of <paramref name="record"/>; <paramref name="where"/> names the place for errors.</summary>
    public static DataViewType FromRecord(ColumnTypeRecord record, string where)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.Kind is null) throw new InvalidDataException($"{where}: column type without a kind");
        NumberDataViewType Number(string? name) => name switch
        {
            "Single" => NumberDataViewType.Single,
            "Double" => NumberDataViewType.Double,
            "Int32" => NumberDataViewType.Int32,
            "Int64" => NumberDataViewType.Int64,
            "UInt32" => NumberDataViewType.UInt32,
            _ => throw new InvalidDataException($"{where}: unknown number type '{name}'"),
        };
        return record.Kind switch
        {
            "Number" => Number(record.Item),
            "Text" => TextDataViewType.Instance,
            "Boolean" => BooleanDataViewType.Instance,
            "Key" => Key(record.KeyNames),
            "Vector" => record.Size >= 0 ? new VectorDataViewType(Number(record.Item), record.Size)
                : throw new InvalidDataException($"{where}: vector size {record.Size} is negative"),
            "ImageVolume" or "MaskVolume" => new VolumeDataViewType(
                record.Kind == "ImageVolume" ? VolumeKind.Image : VolumeKind.Mask,
                record.ClrType is not null && VolumeTypes.TryGetValue(record.ClrType, out var type) ? type
                    : throw new InvalidDataException($"{where}: volume type '{record.ClrType}' is not allowed (allowed: "
                                                     + $"{string.Join(" and ", VolumeTypes.Keys.Order(StringComparer.Ordinal).Select(k => $"'{k}'"))}); "
                                                     + "register your own with ColumnTypeCodec.RegisterVolumeType<T>() before loading")),
            _ => throw new InvalidDataException($"{where}: unknown column kind '{record.Kind}'"),
        };

        KeyDataViewType Key(IReadOnlyList<string>? names)
        {
            if (names is null || names.Any(n => n is null)) throw new InvalidDataException($"{where}: key type without names, or with a null name");
            try { return new KeyDataViewType(names); }
            catch (ArgumentException e) { throw new InvalidDataException($"{where}: key type is not valid: {e.Message}", e); }
        }
    }

    /// <summary>The records of every column of <paramref name="schema"/>.</summary>
    public static IReadOnlyList<ColumnRecord> ToRecords(DataViewSchema schema) =>
        schema.Select(c => new ColumnRecord(c.Name, ToRecord(c.Type))).ToArray();

    /// <summary>The schema described by <paramref name="records"/>.</summary>
    public static DataViewSchema FromRecords(IReadOnlyList<ColumnRecord> records, string where, Imaging.Preprocessing.TransformChain? preprocessing = null)
    {
        ArgumentNullException.ThrowIfNull(records);
        var columns = records.Select(r => r?.Name is null || r.Type is null
            ? throw new InvalidDataException($"{where}: a column without a name or type")
            : new DataViewSchema.DetachedColumn(r.Name, FromRecord(r.Type, $"{where}, column '{r.Name}'"))).ToArray();
        try { return new DataViewSchema(columns, preprocessing); }
        catch (ArgumentException e) { throw new InvalidDataException($"{where}: {e.Message}", e); }
    }
}
