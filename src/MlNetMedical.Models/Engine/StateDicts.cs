using TorchSharp;
using static TorchSharp.torch;

namespace MlNetMedical.Models;

/// <summary>A key whose tensor has another shape in the module than in the state dict.</summary>
public sealed record ShapeMismatch(string Key, long[] Expected, long[] Found)
{
    public override string ToString() => $"{Key}: module has [{string.Join(", ", Expected)}], state dict has [{string.Join(", ", Found)}]";
}

/// <summary>What <see cref="StateDicts.LoadStateDict"/> did: keys loaded, missing from the state dict, unexpected by the
/// module, of the wrong shape, and outside the source prefix.</summary>
public sealed record LoadResult(
    IReadOnlyList<string> Loaded,
    IReadOnlyList<string> Missing,
    IReadOnlyList<string> Unexpected,
    IReadOnlyList<ShapeMismatch> ShapeMismatched,
    IReadOnlyList<string> Ignored)
{
    public bool IsExact => Missing.Count == 0 && Unexpected.Count == 0 && ShapeMismatched.Count == 0;

    public override string ToString() =>
        $"{Loaded.Count} loaded; missing: [{string.Join(", ", Missing)}]; unexpected: [{string.Join(", ", Unexpected)}]; " +
        $"shape mismatches: [{string.Join("; ", ShapeMismatched)}]; ignored: {Ignored.Count}";
}

/// <summary>Thrown by strict loading when keys or shapes do not match; nothing was copied.</summary>
public sealed class StateDictMismatchException(string moduleName, LoadResult result)
    : InvalidOperationException($"state dict does not match {moduleName}: {result}")
{
    public LoadResult Result { get; } = result;
}

/// <summary>State-dict loading with PyTorch's strict key and shape checks, plus prefix mapping (encoder transfer).</summary>
public static class StateDicts
{
    /// <summary>
    /// Copies tensors from <paramref name="stateDict"/> into <paramref name="module"/>'s parameters and persistent buffers.
    /// Only keys starting with <paramref name="sourcePrefix"/> are considered, the prefix replaced by
    /// <paramref name="targetPrefix"/> (load <c>encoder.</c> of a U-Net into <c>encoder.</c> of a classifier); other keys
    /// are reported as ignored, and only the module's keys under <paramref name="targetPrefix"/> can be missing.
    /// Strict loading throws <see cref="StateDictMismatchException"/> on any missing, unexpected or mis-shaped key and then
    /// changes nothing; non-strict loading copies what matches and reports the rest. Source dtypes are converted.
    /// </summary>
    public static LoadResult LoadStateDict(this nn.Module module, IReadOnlyDictionary<string, Tensor> stateDict, bool strict = true,
                                           string sourcePrefix = "", string targetPrefix = "")
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(stateDict);
        var own = module.state_dict();
        var missing = new List<string>();
        var unexpected = new List<string>();
        var mismatched = new List<ShapeMismatch>();
        var ignored = new List<string>();
        var matches = new List<(Tensor Destination, Tensor Source)>();
        var loaded = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (key, source) in stateDict)
        {
            if (!key.StartsWith(sourcePrefix, StringComparison.Ordinal)) { ignored.Add(key); continue; }
            var target = targetPrefix + key[sourcePrefix.Length..];
            if (!own.TryGetValue(target, out var destination)) { unexpected.Add(key); continue; }
            seen.Add(target);
            if (!destination.shape.SequenceEqual(source.shape)) { mismatched.Add(new ShapeMismatch(target, destination.shape, source.shape)); continue; }
            matches.Add((destination, source));
            loaded.Add(target);
        }
        foreach (var key in own.Keys)
            if (!seen.Contains(key) && key.StartsWith(targetPrefix, StringComparison.Ordinal)) missing.Add(key);

        var result = new LoadResult(loaded, missing, unexpected, mismatched, ignored);
        if (strict && !result.IsExact) throw new StateDictMismatchException(module.GetName(), result);
        using (torch.no_grad())
            foreach (var (destination, source) in matches) destination.copy_(source);
        return result;
    }
}
