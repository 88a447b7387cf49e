namespace MlNetMedical.Cli.Yaml;

/// <summary>A config file that cannot be read into its typed classes: the message names the file, line and column,
/// and what was expected (allowed keys, allowed values, the expected type).</summary>
public sealed class YamlConfigException(string where, string problem) : Exception($"{where}: {problem}")
{
    /// <summary>"FILE:LINE:COLUMN", or "--set KEY=VALUE" for an override.</summary>
    public string Where { get; } = where;
    public string Problem { get; } = problem;
}
