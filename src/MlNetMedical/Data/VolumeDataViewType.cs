namespace MlNetMedical.Data;

/// <summary>What a volume column holds.</summary>
public enum VolumeKind
{
    /// <summary>Intensities (CT, MR, X-ray…).</summary>
    Image,
    /// <summary>Integer labels per voxel (segmentation masks).</summary>
    Mask,
}

/// <summary>
/// A column of images or masks that keep their geometry (an ML.NET structured type, as ImageAnalytics' image type):
/// each value is a <see cref="DataViewType.RawType"/> object, by default the imaging layer's <c>Volume</c> or a
/// <see cref="LabelMap"/>, and null where a row has none (a mask-less row in joint training).
/// </summary>
public sealed class VolumeDataViewType : StructuredDataViewType
{
    /// <summary>Creates the type of a column of <paramref name="kind"/> holding <paramref name="rawType"/> values.</summary>
    public VolumeDataViewType(VolumeKind kind, Type rawType) : base(rawType ?? throw new ArgumentNullException(nameof(rawType)))
    {
        if (rawType.IsValueType) throw new ArgumentException($"a volume column holds objects; {rawType.Name} is a value type", nameof(rawType));
        Kind = kind;
    }

    /// <summary>Image or mask.</summary>
    public VolumeKind Kind { get; }

    /// <inheritdoc/>
    public override bool Equals(DataViewType? other) => other is VolumeDataViewType v && v.Kind == Kind && v.RawType == RawType;

    /// <inheritdoc/>
    public override bool Equals(object? other) => other is DataViewType t && Equals(t);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Kind, RawType);

    /// <inheritdoc/>
    public override string ToString() => $"Volume<{Kind}, {RawType.Name}>";
}

/// <summary>
/// Marks a property of a row class as a volume column, for <c>ml.Data.LoadFromEnumerable</c> and <c>CreateEnumerable</c>
/// (as ImageAnalytics' <c>ImageType</c> attribute): <c>[VolumeColumn(VolumeKind.Mask)] public Volume? Mask { get; set; }</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class VolumeColumnAttribute(VolumeKind kind) : DataViewTypeAttribute
{
    /// <summary>Image or mask.</summary>
    public VolumeKind Kind { get; } = kind;

    /// <inheritdoc/>
    public override bool Equals(DataViewTypeAttribute? other) => other is VolumeColumnAttribute v && v.Kind == Kind;

    /// <inheritdoc/>
    public override int GetHashCode() => Kind.GetHashCode();

    /// <summary>Called by ML.NET for the property's type: registers the volume type of that CLR type and kind.</summary>
    public override void Register() => VolumeTypes.RegisterAll(Kind);
}

/// <summary>The CLR types a volume column may hold: the imaging layer's <c>Volume</c>, <see cref="LabelMap"/>, and types
/// added with <see cref="Register{T}"/> (your own row property types; also the allow-list for model files).</summary>
public static class VolumeTypes
{
    private static readonly object Gate = new();
    private static readonly List<Type> Types = [typeof(MlNetMedical.Imaging.Volume), typeof(LabelMap)];
    private static readonly HashSet<(Type, VolumeKind)> Registered = [];

    /// <summary>Allows <typeparamref name="T"/> as the value type of volume columns (row classes and model files).</summary>
    public static void Register<T>() where T : class
    {
        lock (Gate)
            if (!Types.Contains(typeof(T))) Types.Add(typeof(T));
        RegisterAll(VolumeKind.Image);
        RegisterAll(VolumeKind.Mask);
    }

    /// <summary>The allowed types.</summary>
    public static IReadOnlyList<Type> All
    {
        get { lock (Gate) return Types.ToArray(); }
    }

    /// <summary>The allowed type with this full name, or null (model files name types; nothing is resolved by reflection).</summary>
    public static Type? Find(string fullName) => All.FirstOrDefault(t => t.FullName == fullName);

    internal static void RegisterAll(VolumeKind kind)
    {
        lock (Gate)
            foreach (var type in Types)
                if (Registered.Add((type, kind)))
                    DataViewTypeManager.Register(new VolumeDataViewType(kind, type), type, new VolumeColumnAttribute(kind));
    }
}
