namespace MlNetMedical.Data;

/// <summary>
/// The type of a column. Each type has one CLR <see cref="RawType"/>: the type a cursor getter hands out.
/// </summary>
public abstract class DataViewType : IEquatable<DataViewType>
{
    private protected DataViewType(Type rawType) => RawType = rawType;

    /// <summary>The CLR type of the column's values.</summary>
    public Type RawType { get; }

    /// <inheritdoc/>
    public abstract bool Equals(DataViewType? other);

    /// <inheritdoc/>
    public sealed override bool Equals(object? obj) => obj is DataViewType other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => RawType.GetHashCode();
}

/// <summary>Scalars of a numeric CLR type: <c>float</c>, <c>double</c>, <c>int</c>, <c>long</c>, <c>uint</c>.</summary>
public sealed class NumberDataViewType : DataViewType
{
    private NumberDataViewType(Type rawType) : base(rawType) { }

    /// <summary>32-bit float (<c>float</c>).</summary>
    public static NumberDataViewType Single { get; } = new(typeof(float));
    /// <summary>64-bit float (<c>double</c>).</summary>
    public static NumberDataViewType Double { get; } = new(typeof(double));
    /// <summary>32-bit integer (<c>int</c>).</summary>
    public static NumberDataViewType Int32 { get; } = new(typeof(int));
    /// <summary>64-bit integer (<c>long</c>).</summary>
    public static NumberDataViewType Int64 { get; } = new(typeof(long));
    /// <summary>Unsigned 32-bit integer (<c>uint</c>): also the storage type of keys, as in ML.NET.</summary>
    public static NumberDataViewType UInt32 { get; } = new(typeof(uint));

    /// <summary>The number type for a CLR type, or null.</summary>
    public static NumberDataViewType? FromClrType(Type type) =>
        type == typeof(float) ? Single : type == typeof(double) ? Double : type == typeof(int) ? Int32 : type == typeof(long) ? Int64 : type == typeof(uint) ? UInt32 : null;

    /// <inheritdoc/>
    public override bool Equals(DataViewType? other) => ReferenceEquals(this, other);

    /// <inheritdoc/>
    public override string ToString() => RawType.Name;
}

/// <summary>Text (<c>string</c>). Split and group-key columns are usually text.</summary>
public sealed class TextDataViewType : DataViewType
{
    private TextDataViewType() : base(typeof(string)) { }
    /// <summary>The one text type.</summary>
    public static TextDataViewType Instance { get; } = new();
    /// <inheritdoc/>
    public override bool Equals(DataViewType? other) => other is TextDataViewType;
    /// <inheritdoc/>
    public override string ToString() => "Text";
}

/// <summary>Booleans (<c>bool</c>).</summary>
public sealed class BooleanDataViewType : DataViewType
{
    private BooleanDataViewType() : base(typeof(bool)) { }
    /// <summary>The one boolean type.</summary>
    public static BooleanDataViewType Instance { get; } = new();
    /// <inheritdoc/>
    public override bool Equals(DataViewType? other) => other is BooleanDataViewType;
    /// <inheritdoc/>
    public override string ToString() => "Boolean";
}

/// <summary>
/// A categorical value stored as a <c>uint</c> key, as in ML.NET: 1..<see cref="Count"/> are the categories
/// and 0 means missing. <see cref="KeyNames"/>[k − 1] names key k. Class labels are key columns.
/// </summary>
public sealed class KeyDataViewType : DataViewType
{
    /// <summary>Creates a key type with <paramref name="names"/>.Count categories.</summary>
    public KeyDataViewType(IReadOnlyList<string> names) : base(typeof(uint))
    {
        ArgumentNullException.ThrowIfNull(names);
        if (names.Count == 0) throw new ArgumentException("a key type needs at least one category", nameof(names));
        if (names.Distinct(StringComparer.Ordinal).Count() != names.Count)
            throw new ArgumentException($"key names must be distinct: [{string.Join(", ", names)}]", nameof(names));
        KeyNames = names.ToArray();
    }

    /// <summary>Number of categories.</summary>
    public int Count => KeyNames.Count;

    /// <summary>Category names, by key − 1.</summary>
    public IReadOnlyList<string> KeyNames { get; }

    /// <inheritdoc/>
    public override bool Equals(DataViewType? other) => other is KeyDataViewType k && k.KeyNames.SequenceEqual(KeyNames, StringComparer.Ordinal);
    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(RawType, Count);
    /// <inheritdoc/>
    public override string ToString() => $"Key<{Count}>";
}

/// <summary>
/// A vector of numbers (e.g. a <c>Features</c> column), handed out as a <c>T[]</c> to treat as read-only.
/// <see cref="Size"/> 0 means the length varies by row.
/// </summary>
public sealed class VectorDataViewType : DataViewType
{
    /// <summary>Creates a vector type of <paramref name="itemType"/>; <paramref name="size"/> 0 for variable length.</summary>
    public VectorDataViewType(NumberDataViewType itemType, int size = 0) : base(itemType.RawType.MakeArrayType())
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        ItemType = itemType;
        Size = size;
    }

    /// <summary>Type of the items.</summary>
    public NumberDataViewType ItemType { get; }

    /// <summary>Length of every vector, or 0 when it varies.</summary>
    public int Size { get; }

    /// <summary>True when every row has the same length.</summary>
    public bool IsKnownSize => Size > 0;

    /// <inheritdoc/>
    public override bool Equals(DataViewType? other) => other is VectorDataViewType v && v.ItemType.Equals(ItemType) && v.Size == Size;
    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(RawType, Size);
    /// <inheritdoc/>
    public override string ToString() => $"Vector<{ItemType}{(Size > 0 ? ", " + Size : "")}>";
}

/// <summary>What a volume column holds.</summary>
public enum VolumeKind
{
    /// <summary>Intensities (CT, MR, X-ray…).</summary>
    Image,
    /// <summary>Integer labels per voxel (segmentation masks).</summary>
    Mask,
}

/// <summary>
/// An image or mask volume column. The CLR type is pluggable: the core understands <see cref="LabelMap"/> masks,
/// and the imaging layer adds its volume type (a mask type also registers a converter in <see cref="MaskConverters"/>).
/// </summary>
public sealed class VolumeDataViewType : DataViewType
{
    /// <summary>Creates a volume type of <paramref name="kind"/> whose values are <paramref name="rawType"/>.</summary>
    public VolumeDataViewType(VolumeKind kind, Type rawType) : base(rawType)
    {
        ArgumentNullException.ThrowIfNull(rawType);
        if (rawType.IsValueType) throw new ArgumentException($"volume type {rawType} must be a reference type", nameof(rawType));
        Kind = kind;
    }

    /// <summary>Image or mask.</summary>
    public VolumeKind Kind { get; }

    /// <summary>A mask column of <see cref="LabelMap"/> values.</summary>
    public static VolumeDataViewType LabelMapMask { get; } = new(VolumeKind.Mask, typeof(LabelMap));

    /// <inheritdoc/>
    public override bool Equals(DataViewType? other) => other is VolumeDataViewType v && v.Kind == Kind && v.RawType == RawType;
    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(RawType, Kind);
    /// <inheritdoc/>
    public override string ToString() => $"{Kind}Volume<{RawType.Name}>";
}
