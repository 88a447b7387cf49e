using MlNetMedical.Trainers;
using MlNetMedical.Transforms;

namespace MlNetMedical.Serialization;

/// <summary>Registers the library's own transformers with <see cref="ModelRegistry"/> (names are part of the file format).
/// ML.NET's transformers (MapValueToKey, Concatenate, trainers…) are not listed: the model file stores them as ML.NET saves them.</summary>
internal static class BuiltInTransformers
{
    public static void Register()
    {
        // ImageNetworkTransformer also serves EncoderFeatures (a frozen encoder with a Features output).
        ModelRegistry.Register(ImageNetworkTransformer.RegisteredName, 1, ImageNetworkTransformer.Load);
        ModelRegistry.Register(VectorClassifierTransformer.RegisteredName, 1, VectorClassifierTransformer.Load);
        ModelRegistry.Register(AugmentTransformer.RegisteredName, 1, AugmentTransformer.Load);
        ModelRegistry.Register(MedicalImageLoadingTransformer.RegisteredName, 1, MedicalImageLoadingTransformer.Load);
        ModelRegistry.Register(ImageNetPixelsTransformer.RegisteredName, 1, ImageNetPixelsTransformer.Load);
    }
}
