using MlNetMedical.Models;

namespace MlNetMedical.Trainers;

/// <summary>Which encoder parameters train during fine-tuning.</summary>
public enum FreezeMode
{
    /// <summary>Everything trains.</summary>
    None,
    /// <summary>The whole encoder is frozen (weights and normalisation statistics).</summary>
    WholeEncoder,
    /// <summary>Encoder levels 0..k−1 are frozen (<see cref="FineTuneSettings.FrozenLevels"/>).</summary>
    FirstLevels,
    /// <summary>Starts frozen; every <see cref="FineTuneSettings.EpochsPerUnfreeze"/> epochs one more level unfreezes, deepest first.</summary>
    HierarchicalUnfreezing,
}

/// <summary>Transfer settings shared by fine-tuning and joint training: freezing and the encoder's learning rate.</summary>
public sealed record FineTuneSettings
{
    /// <summary>Freeze mode.</summary>
    public FreezeMode Freeze { get; init; } = FreezeMode.None;
    /// <summary>Levels frozen with <see cref="FreezeMode.FirstLevels"/>.</summary>
    public int FrozenLevels { get; init; } = 1;
    /// <summary>Epochs between unfreezing steps with <see cref="FreezeMode.HierarchicalUnfreezing"/>.</summary>
    public int EpochsPerUnfreeze { get; init; } = 2;
    /// <summary>Encoder learning rate as a fraction of the head's (the papers fine-tune at 1e-4 vs 1e-3).</summary>
    public double EncoderLearningRateFactor { get; init; } = 0.1;

    /// <summary>Applies the freeze state for <paramref name="epoch"/>.</summary>
    internal void Apply(EncoderNetwork network, int epoch)
    {
        var levels = network.Encoder.Levels;
        switch (Freeze)
        {
            case FreezeMode.None: network.UnfreezeEncoder(); break;
            case FreezeMode.WholeEncoder: network.FreezeEncoder(); break;
            case FreezeMode.FirstLevels:
                if (FrozenLevels < 0 || FrozenLevels > levels)
                    throw new ArgumentOutOfRangeException(nameof(FrozenLevels), FrozenLevels, $"the encoder has {levels} levels");
                network.FreezeEncoderLevels(FrozenLevels);
                break;
            default:
                if (EpochsPerUnfreeze < 1) throw new ArgumentOutOfRangeException(nameof(EpochsPerUnfreeze), EpochsPerUnfreeze, "must be ≥ 1");
                network.FreezeEncoderLevels(Math.Max(0, levels - epoch / EpochsPerUnfreeze));
                break;
        }
    }

    /// <summary>One group per encoder level at the encoder rate, one for the rest at the base rate.</summary>
    internal IReadOnlyList<NamedParameterGroup> Groups(EncoderNetwork network, double learningRate) =>
        network.LevelParameterGroups(learningRate * EncoderLearningRateFactor, learningRate);
}
