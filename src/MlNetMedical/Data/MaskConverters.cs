using System.Collections.Concurrent;

namespace MlNetMedical.Data;

/// <summary>
/// Turns mask-column values into <see cref="LabelMap"/>s for evaluation. <see cref="LabelMap"/> itself is built in;
/// the imaging layer registers its volume type here.
/// </summary>
public static class MaskConverters
{
    private static readonly ConcurrentDictionary<Type, Func<object, LabelMap>> Converters = new()
    {
        [typeof(LabelMap)] = value => (LabelMap)value,
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
}
