using MlNetMedical.Training;

namespace MlNetMedical.Catalogs;

/// <summary>How the catalog extensions hand a context's settings to the trainers they create.</summary>
internal static class TrainerSettings
{
    /// <summary>The options a trainer runs with: <paramref name="training"/> (else <paramref name="defaults"/>, else the defaults of
    /// <see cref="TrainingOptions"/>), with the context's progress hook where the options name none.</summary>
    public static TrainingOptions Options(MedicalSettings settings, TrainingOptions? training, TrainingOptions? defaults = null)
    {
        var options = training ?? defaults ?? new TrainingOptions();
        return options.Progress is null && settings.Progress is { } progress ? options with { Progress = progress } : options;
    }
}
