using System.Text.Json;
using System.Text.Json.Serialization;
using MlNetMedical.Data;
using MlNetMedical.Imaging.Preprocessing;
using MlNetMedical.Pipeline;

namespace MlNetMedical.Serialization;

/// <summary>A column type as stored in a model manifest.</summary>
/// <param name="Kind">Number, Text, Boolean, DateTime, DateTimeOffset, TimeSpan, Key, Vector, ImageVolume or MaskVolume.</param>
/// <param name="Item">Number: the CLR type's name (Single, Int32…); Key: its raw type's name (UInt32…).</param>
/// <param name="Count">Key: the number of values.</param>
/// <param name="KeyNames">Key: the text KeyValues annotation (the class names), when the column has one.</param>
/// <param name="ItemType">Vector: the item type.</param>
/// <param name="Dimensions">Vector: the dimensions (a 0 marks a variable size).</param>
/// <param name="ClrType">Volume: the full name of the value type, looked up in <see cref="VolumeTypes"/>.</param>
public sealed record ColumnTypeRecord(
    string Kind,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Item = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] ulong Count = 0,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? KeyNames = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ColumnTypeRecord? ItemType = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<int>? Dimensions = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ClrType = null);

/// <summary>A named column as stored in a model manifest, with the preprocessing chain annotated on it (the
/// <see cref="TransformChain"/> JSON document; see <see cref="PreprocessingAnnotation"/>), if any.</summary>
public sealed record ColumnRecord(
    string Name,
    ColumnTypeRecord Type,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] JsonElement? Preprocessing = null);

/// <summary>Converts ML.NET column types to and from their manifest records.</summary>
/// <remarks>
/// Recorded: number, text, boolean, date/time, key (with text class names), vector (of those) and volume types, and the
/// preprocessing annotation; other annotations (slot names, non-text key values) are not. A volume column's CLR type is stored
/// by full name; loading never resolves a name from the file by reflection: it looks it up in <see cref="VolumeTypes"/>
/// (the library's own volume types and those added with <see cref="VolumeTypes.Register{T}"/>); any other name is an
/// <see cref="InvalidDataException"/> naming it.
/// </remarks>
public static class ColumnTypeCodec
{
    private static readonly Dictionary<string, PrimitiveDataViewType> Primitives = new(StringComparer.Ordinal)
    {
        ["SByte"] = NumberDataViewType.SByte,
        ["Byte"] = NumberDataViewType.Byte,
        ["Int16"] = NumberDataViewType.Int16,
        ["UInt16"] = NumberDataViewType.UInt16,
        ["Int32"] = NumberDataViewType.Int32,
        ["UInt32"] = NumberDataViewType.UInt32,
        ["Int64"] = NumberDataViewType.Int64,
        ["UInt64"] = NumberDataViewType.UInt64,
        ["Single"] = NumberDataViewType.Single,
        ["Double"] = NumberDataViewType.Double,
    };

    private static readonly Dictionary<string, Type> KeyRawTypes = new(StringComparer.Ordinal)
    {
        ["Byte"] = typeof(byte),
        ["UInt16"] = typeof(ushort),
        ["UInt32"] = typeof(uint),
        ["UInt64"] = typeof(ulong),
    };

    /// <summary>The record of <paramref name="type"/>; <paramref name="annotations"/> supply a key's class names.</summary>
    public static ColumnTypeRecord ToRecord(DataViewType type, DataViewSchema.Annotations? annotations = null) => type switch
    {
        NumberDataViewType n => new("Number", n.RawType.Name),
        TextDataViewType => new("Text"),
        BooleanDataViewType => new("Boolean"),
        DateTimeDataViewType => new("DateTime"),
        DateTimeOffsetDataViewType => new("DateTimeOffset"),
        TimeSpanDataViewType => new("TimeSpan"),
        KeyDataViewType k => new("Key", k.RawType.Name, k.Count, KeyNames: annotations is null ? null : TextKeyValues(annotations, k.Count)),
        VectorDataViewType v => new("Vector", ItemType: ToRecord(v.ItemType), Dimensions: v.Dimensions.ToArray()),
        VolumeDataViewType v => new(v.Kind == VolumeKind.Image ? "ImageVolume" : "MaskVolume", ClrType: v.RawType.FullName),
        _ => throw new NotSupportedException($"column type {type} cannot be recorded in a model file's input schema"),
    };

    /// <summary>The column type of <paramref name="record"/>, and its annotations (a key's class names);
    /// <paramref name="where"/> names the place for errors.</summary>
    public static (DataViewType Type, DataViewSchema.Annotations? Annotations) FromRecord(ColumnTypeRecord record, string where)
    {
        if (record?.Kind is null) throw new InvalidDataException($"{where}: column type without a kind");
        switch (record.Kind)
        {
            case "Number":
                return (record.Item is not null && Primitives.TryGetValue(record.Item, out var number) ? number
                    : throw new InvalidDataException($"{where}: unknown number type '{record.Item}'"), null);
            case "Text": return (TextDataViewType.Instance, null);
            case "Boolean": return (BooleanDataViewType.Instance, null);
            case "DateTime": return (DateTimeDataViewType.Instance, null);
            case "DateTimeOffset": return (DateTimeOffsetDataViewType.Instance, null);
            case "TimeSpan": return (TimeSpanDataViewType.Instance, null);
            case "Key": return Key(record, where);
            case "Vector":
                if (record.ItemType is null) throw new InvalidDataException($"{where}: vector type without an item type");
                if (record.ItemType.Kind is "Vector" or "ImageVolume" or "MaskVolume")
                    throw new InvalidDataException($"{where}: a vector cannot hold {record.ItemType.Kind} items");
                var (item, _) = FromRecord(record.ItemType, where + ", vector item");
                var dims = record.Dimensions ?? [];
                if (dims.Count == 0 || dims.Any(d => d < 0) || dims.Aggregate(1L, (p, d) => p * Math.Max(d, 1)) > int.MaxValue)
                    throw new InvalidDataException($"{where}: vector dimensions [{string.Join(", ", dims)}] are not valid");
                try { return (new VectorDataViewType((PrimitiveDataViewType)item, dims.ToArray()), null); }
                catch (ArgumentException e) { throw new InvalidDataException($"{where}: vector type is not valid: {e.Message}", e); }
            case "ImageVolume" or "MaskVolume":
                var type = record.ClrType is null ? null : VolumeTypes.Find(record.ClrType);
                if (type is null)
                    throw new InvalidDataException($"{where}: volume type '{record.ClrType}' is not allowed (allowed: "
                                                   + $"{string.Join(" and ", VolumeTypes.All.Select(t => $"'{t.FullName}'").Order(StringComparer.Ordinal))}); "
                                                   + "add your own with VolumeTypes.Register<T>() before loading");
                return (new VolumeDataViewType(record.Kind == "ImageVolume" ? VolumeKind.Image : VolumeKind.Mask, type), null);
            default:
                throw new InvalidDataException($"{where}: unknown column kind '{record.Kind}'");
        }
    }

    private static (DataViewType, DataViewSchema.Annotations?) Key(ColumnTypeRecord record, string where)
    {
        if (record.Item is null || !KeyRawTypes.TryGetValue(record.Item, out var raw))
            throw new InvalidDataException($"{where}: unknown key type '{record.Item}' (expected Byte, UInt16, UInt32 or UInt64)");
        if (record.KeyNames is { } names)
        {
            if (names.Any(n => n is null)) throw new InvalidDataException($"{where}: key type with a null class name");
            if ((ulong)names.Count != record.Count)
                throw new InvalidDataException($"{where}: key type has {record.Count} values but {names.Count} class names");
            if (raw == typeof(uint) && names.Count > 0) return SchemaShapes.ClassKey(names);
        }
        KeyDataViewType key;
        try { key = new KeyDataViewType(raw, record.Count); }
        catch (ArgumentException e) { throw new InvalidDataException($"{where}: key type is not valid: {e.Message}", e); }
        if (record.KeyNames is not { Count: > 0 } keyNames) return (key, null);
        return (key, SchemaShapes.NamesAnnotation(SchemaShapes.AnnotationKinds.KeyValues, keyNames));
    }

    // The key's text KeyValues annotation (the class names), or null when it has none or of another kind.
    private static string[]? TextKeyValues(DataViewSchema.Annotations annotations, ulong count)
    {
        if (annotations.Schema.GetColumnOrNull(SchemaShapes.AnnotationKinds.KeyValues) is not { Type: VectorDataViewType { ItemType: TextDataViewType } type }
            || (ulong)type.Size != count)
            return null;
        VBuffer<ReadOnlyMemory<char>> names = default;
        annotations.GetValue(SchemaShapes.AnnotationKinds.KeyValues, ref names);
        return ColumnValues.Dense(names).Select(n => n.ToString()).ToArray();
    }

    /// <summary>The records of every column of <paramref name="schema"/> (hidden ones too, in order, so loading hides them
    /// again). <paramref name="preprocessing"/>, if given, is recorded on the image column (see <see cref="PreprocessingColumn"/>)
    /// in place of the chain annotated there.</summary>
    public static IReadOnlyList<ColumnRecord> ToRecords(DataViewSchema schema, TransformChain? preprocessing = null)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var target = preprocessing is null ? null : PreprocessingColumn(schema)
            ?? throw new ArgumentException($"a preprocessing chain is recorded on the input schema's image column; the schema has no '{DefaultColumnNames.Image}' column "
                                           + $"and no single image volume column ({schema.Describe()})", nameof(preprocessing));
        var last = new Dictionary<string, int>(StringComparer.Ordinal);   // the visible column of each name
        foreach (var c in schema) last[c.Name] = c.Index;
        return schema.Select(c =>
        {
            var chain = c.Index == last[c.Name] && c.Name == target ? preprocessing : ReadChain(c);
            return new ColumnRecord(c.Name, ToRecord(c.Type, c.Annotations),
                chain is null ? null : JsonDocument.Parse(chain.ToJson()).RootElement.Clone());
        }).ToArray();

        TransformChain? ReadChain(DataViewSchema.Column c)
        {
            if (c.Annotations.Schema.GetColumnOrNull(PreprocessingAnnotation.Kind) is null) return null;
            var builder = new DataViewSchema.Builder();
            builder.AddColumn(c.Name, c.Type, c.Annotations);
            return PreprocessingAnnotation.Read(builder.ToSchema(), c.Name);
        }
    }

    /// <summary>The column a preprocessing chain given apart from the schema is recorded on: <c>Image</c> if the schema has it,
    /// else its only image volume column, else null.</summary>
    public static string? PreprocessingColumn(DataViewSchema schema)
    {
        ArgumentNullException.ThrowIfNull(schema);
        if (schema.GetColumnOrNull(DefaultColumnNames.Image) is not null) return DefaultColumnNames.Image;
        var images = schema.Where(c => !c.IsHidden && c.Type is VolumeDataViewType { Kind: VolumeKind.Image }).ToArray();
        return images.Length == 1 ? images[0].Name : null;
    }

    /// <summary>The schema described by <paramref name="records"/> (built with ML.NET's <see cref="DataViewSchema.Builder"/>).</summary>
    public static DataViewSchema FromRecords(IReadOnlyList<ColumnRecord> records, string where)
    {
        ArgumentNullException.ThrowIfNull(records);
        var builder = new DataViewSchema.Builder();
        foreach (var r in records)
        {
            if (r?.Name is null || r.Type is null) throw new InvalidDataException($"{where}: a column without a name or type");
            var at = $"{where}, column '{r.Name}'";
            var (type, annotations) = FromRecord(r.Type, at);
            if (r.Preprocessing is { ValueKind: not JsonValueKind.Null } json)
            {
                if (annotations is not null) throw new InvalidDataException($"{at}: a key column cannot carry a preprocessing chain");
                try { annotations = PreprocessingAnnotation.Create(TransformChain.FromJson(json.GetRawText())); }
                catch (Exception e) when (e is ArgumentException or JsonException or NotSupportedException)
                {
                    throw new InvalidDataException($"{at}: the preprocessing chain is not valid: {e.Message}", e);
                }
            }
            builder.AddColumn(r.Name, type, annotations);
        }
        return builder.ToSchema();
    }
}
