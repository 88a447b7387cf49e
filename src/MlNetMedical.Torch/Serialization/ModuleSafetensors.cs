using MlNetMedical.Torch.Nn;

namespace MlNetMedical.Torch.Serialization;

/// <summary>Module weights to and from safetensors files (PyTorch users read them with <c>safetensors.torch.load_file</c>).</summary>
public static class ModuleSafetensors
{
    /// <summary>Writes the module's state dict atomically to <paramref name="path"/>.</summary>
    public static void SaveSafetensors(this Module module, string path, IReadOnlyDictionary<string, string>? metadata = null) =>
        Safetensors.Save(path, module.StateDict(), metadata);

    /// <summary>Loads a safetensors file into the module (see <see cref="Module.LoadStateDict"/> for strict and prefix mapping).</summary>
    public static LoadResult LoadSafetensors(this Module module, string path, bool strict = true, string sourcePrefix = "", string targetPrefix = "")
    {
        var tensors = Safetensors.Load(path);
        try
        {
            return module.LoadStateDict(tensors, strict, sourcePrefix, targetPrefix);
        }
        catch (StateDictMismatchException e)
        {
            throw new StateDictMismatchException($"{module.GetType().Name} (from {path})", e.Result);
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }
}
