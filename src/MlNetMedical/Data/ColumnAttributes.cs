namespace MlNetMedical.Data;

/// <summary>Names the column a property maps to (default: the property name).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ColumnNameAttribute(string name) : Attribute
{
    /// <summary>The column name.</summary>
    public string Name { get; } = name;
}

/// <summary>Leaves a property out of the schema.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class NoColumnAttribute : Attribute;

/// <summary>Declares the fixed length of an array property's vector column.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class VectorTypeAttribute(int size) : Attribute
{
    /// <summary>Length of every vector.</summary>
    public int Size { get; } = size;
}

/// <summary>Makes a <c>uint</c> property a key column with these category names (key k is names[k − 1], 0 is missing).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class KeyTypeAttribute(params string[] names) : Attribute
{
    /// <summary>Category names.</summary>
    public IReadOnlyList<string> Names { get; } = names;
}

/// <summary>Makes a property of a volume type (e.g. the imaging layer's) an image or mask column.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class VolumeColumnAttribute(VolumeKind kind) : Attribute
{
    /// <summary>Image or mask.</summary>
    public VolumeKind Kind { get; } = kind;
}
