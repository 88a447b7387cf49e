using System.Collections.Concurrent;
using MlNetMedical.Imaging;

namespace MlNetMedical.Data;

/// <summary>
/// Turns mask-column values into <see cref="LabelMap"/>s for evaluation. <see cref="LabelMap"/> and the imaging layer's
/// <see cref="Volume"/> (the Mask column of <c>ml.Data.LoadFromManifest</c>/<c>LoadFromDecathlon</c>) are built in;
/// other mask types plug in with <see cref="Register{TMask}"/>.
/// </summary>
public static class MaskConverters
{
    private static readonly ConcurrentDictionary<Type, Func<object, LabelMap>> Converters = new()
    {
        [typeof(LabelMap)] = value => (LabelMap)value,
        [typeof(Volume)] = value => FromVolume((Volume)value),
    };

    /// <summary>Registers (or replaces) the converter for mask values of type <typeparamref name="TMask"/>.</summary>
    public static void Register<TMask>(Func<TMask, LabelMap> toLabelMap) where TMask : class
    {
        ArgumentNullException.ThrowIfNull(toLabelMap);
        Converters[typeof(TMask)] = value => toLabelMap((TMask)value);
    }

    /// <summary>Whether mask values of <paramref name="type"/> can be converted.</summary>
    public static bool CanConvert(Type type) => Converters.ContainsKey(type);

    /// <summary>Converts one mask value; throws naming the type when no converter is registered.</summary>
    public static LabelMap ToLabelMap(object value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return Converters.TryGetValue(value.GetType(), out var convert)
            ? convert(value)
            : throw new InvalidOperationException($"no mask converter for {value.GetType().FullName}; call MaskConverters.Register<{value.GetType().Name}>(…)");
    }

    /// <summary>
    /// A single-channel volume of integer labels ≥ 0 as a label map in tensor axis order (the volume's spatial axes
    /// reversed, as the networks see them and predict masks), with its spacing reordered to match.
    /// Throws <see cref="ArgumentException"/> for several channels, a 1D volume or a voxel that is not an integer ≥ 0.
    /// </summary>
    public static LabelMap FromVolume(Volume mask)
    {
        ArgumentNullException.ThrowIfNull(mask);
        if (mask.Channels != 1) throw new ArgumentException($"the mask has {mask.Channels} channels, expected one channel of integer labels", nameof(mask));
        if (mask.SpatialRank < 2) throw new ArgumentException("the mask is 1D, expected a 2D or 3D label map", nameof(mask));
        var values = mask.ToFloatArray();
        var labels = new int[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            var v = values[i];
            if (!(v >= 0) || v != MathF.Round(v))
                throw new ArgumentException($"voxel {i} of the mask holds {v}, expected integer labels ≥ 0", nameof(mask));
            labels[i] = (int)v;
        }
        return new LabelMap(mask.Shape.Take(mask.SpatialRank).Reverse().ToArray(), labels, TensorSpacing(mask));
    }

    /// <summary>The voxel spacing of <paramref name="volume"/> in tensor axis order (spatial axes reversed).</summary>
    public static double[] TensorSpacing(Volume volume)
    {
        ArgumentNullException.ThrowIfNull(volume);
        return volume.Spacing.Take(volume.SpatialRank).Reverse().ToArray();
    }
}
