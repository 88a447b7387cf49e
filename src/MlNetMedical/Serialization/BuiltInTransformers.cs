using MlNetMedical.Pipeline;

namespace MlNetMedical.Serialization;

/// <summary>Registers the library's own transformers with <see cref="ModelRegistry"/> (names are part of the file format).</summary>
internal static class BuiltInTransformers
{
    public static void Register()
    {
        ModelRegistry.RegisterGeneric(typeof(TransformerChain<>), "TransformerChain", 1, TransformerChain<ITransformer>.Load);
    }
}
