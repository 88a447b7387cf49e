using MlNetMedical.Pipeline;
using MlNetMedical.Trainers;
using MlNetMedical.Transforms;

namespace MlNetMedical.Serialization;

/// <summary>Registers the library's own transformers with <see cref="ModelRegistry"/> (names are part of the file format).</summary>
internal static class BuiltInTransformers
{
    public static void Register()
    {
        ModelRegistry.RegisterGeneric(typeof(TransformerChain<>), "TransformerChain", 1, TransformerChain<ITransformer>.Load);
        ModelRegistry.Register("MapValueToKey", 1, ValueToKeyMappingTransformer.Load);
        ModelRegistry.Register("NearestCentroid", 1, NearestCentroidTransformer.Load);
        ModelRegistry.Register("Concatenate", 1, ColumnConcatenatingTransformer.Load);
        ModelRegistry.Register(ImageNetworkTransformer.RegisteredName, 1, ImageNetworkTransformer.Load);
        ModelRegistry.Register(VectorClassifierTransformer.RegisteredName, 1, VectorClassifierTransformer.Load);
        ModelRegistry.Register(AugmentTransformer.RegisteredName, 1, AugmentTransformer.Load);
    }
}
