using MlNetMedical.Pipeline;

namespace MlNetMedical.Trainers;

/// <summary>Finds the network stage inside a fitted model.</summary>
internal static class NetworkModel
{
    /// <summary>The last <see cref="ImageNetworkTransformer"/> in <paramref name="model"/> (itself, or inside ML.NET's
    /// <c>TransformerChain</c>, nested); null for null.</summary>
    public static ImageNetworkTransformer? Find(ITransformer? model) => model switch
    {
        null => null,
        ImageNetworkTransformer n => n,
        IEnumerable<ITransformer> => All(model).LastOrDefault()
            ?? throw new ArgumentException("the model has no network stage (segmentation, classifier or joint network)", nameof(model)),
        _ => throw new ArgumentException($"the model ({model.GetType().Name}) is not a network model", nameof(model)),
    };

    /// <summary>Every <see cref="ImageNetworkTransformer"/> in <paramref name="model"/> (itself, or inside chains, nested).</summary>
    public static IEnumerable<ImageNetworkTransformer> All(ITransformer model) => model switch
    {
        ImageNetworkTransformer n => [n],
        IEnumerable<ITransformer> chain => chain.SelectMany(All), // ML.NET's TransformerChain, nested chains included
        _ => [],
    };
}
