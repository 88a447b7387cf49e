namespace MlNetMedical.Torch;

/// <summary>Device kinds. The values are libtorch's c10::DeviceType codes.</summary>
public enum DeviceType
{
    Cpu = 0,
    Cuda = 1,
}

/// <summary>A compute device: "cpu", "cuda" or "cuda:N".</summary>
public readonly record struct Device(DeviceType Type, int Index = -1)
{
    public static readonly Device Cpu = new(DeviceType.Cpu);
    public static Device Cuda(int index = -1) => new(DeviceType.Cuda, index);

    /// <summary>Parses "cpu", "cuda" or "cuda:N".</summary>
    public static Device Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var t = text.Trim().ToLowerInvariant();
        if (t == "cpu") return Cpu;
        if (t == "cuda") return Cuda();
        if (t.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(t.AsSpan(5), out var i) && i >= 0) return Cuda(i);
        throw new FormatException($"device '{text}' is not one of cpu, cuda or cuda:N");
    }

    public override string ToString() => Type switch
    {
        DeviceType.Cpu => "cpu",
        _ => Index >= 0 ? $"cuda:{Index}" : "cuda",
    };
}
