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
public static class ColumnTypeCodec
{
    /// <summary>The record of <paramref name="type"/>.</summary>
    public static ColumnTypeRecord ToRecord(DataViewType type) => type switch
    {
        NumberDataViewType n => new("Number", n.RawType.Name),
        TextDataViewType => new("Text"),
        BooleanDataViewType => new("Boolean"),
        KeyDataViewType k => new("Key", KeyNames: k.KeyNames),
        VectorDataViewType v => new("Vector", v.ItemType.RawType.Name, v.Size),
        VolumeDataViewType v => new(v.Kind == VolumeKind.Image ? "ImageVolume" : "MaskVolume",
            ClrType: $"{v.RawType.FullName}, {v.RawType.Assembly.GetName().Name}"),
        _ => throw new NotSupportedException($"column type {type} has no manifest form"),
    };

    /// <summary>The column type of <paramref name="record"/>; <paramref name="where"/> names the place for errors.</summary>
    public static DataViewType FromRecord(ColumnTypeRecord record, string where)
    {
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
            "Key" => new KeyDataViewType(record.KeyNames ?? throw new InvalidDataException($"{where}: key type without names")),
            "Vector" => new VectorDataViewType(Number(record.Item), record.Size),
            "ImageVolume" or "MaskVolume" => new VolumeDataViewType(
                record.Kind == "ImageVolume" ? VolumeKind.Image : VolumeKind.Mask,
                Type.GetType(record.ClrType ?? "") ?? throw new InvalidDataException($"{where}: volume type '{record.ClrType}' cannot be found; load the assembly that defines it first")),
            _ => throw new InvalidDataException($"{where}: unknown column kind '{record.Kind}'"),
        };
    }

    /// <summary>The records of every column of <paramref name="schema"/>.</summary>
    public static IReadOnlyList<ColumnRecord> ToRecords(DataViewSchema schema) =>
        schema.Select(c => new ColumnRecord(c.Name, ToRecord(c.Type))).ToArray();

    /// <summary>The schema described by <paramref name="records"/>.</summary>
    public static DataViewSchema FromRecords(IReadOnlyList<ColumnRecord> records, string where, Imaging.Preprocessing.TransformChain? preprocessing = null) =>
        new(records.Select(r => new DataViewSchema.DetachedColumn(r.Name, FromRecord(r.Type, $"{where}, column '{r.Name}'"))), preprocessing);
}
