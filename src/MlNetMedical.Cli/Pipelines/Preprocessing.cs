using MlNetMedical.Cli.Yaml;
using MlNetMedical.Imaging.Preprocessing;

namespace MlNetMedical.Cli.Pipelines;

/// <summary>preprocessing: entries as the imaging layer's transforms.</summary>
internal static class Preprocessing
{
    public static VolumeTransform ToTransform(PreprocessingStep step) => step switch
    {
        { ToCanonical: not null } => new ToCanonical(),
        { Zscore: { } z } => new ZScore { Mask = YamlNaming.EnumValue(z.Mask.ToString()), ZeroOutside = z.ZeroOutside },
        { PercentileClip: { } p } => new PercentileClip { Lower = p.Lower, Upper = p.Upper },
        { CtWindow: { } w } => new CtWindow { Center = w.Center, Width = w.Width, Rescale = w.Rescale },
        { PadOrCrop: { } s } => new PadOrCrop { Size = s.Size },
        { CenterCrop: { } s } => new CenterCrop { Size = s.Size },
        _ => throw new InvalidOperationException("a preprocessing step without a kind passed validation"),
    };
}
