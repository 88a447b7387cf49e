namespace MlNetMedical.Torch;

/// <summary>An error reported by libtorch through the shim; the message is libtorch's own explanation.</summary>
public sealed class TorchException : Exception
{
    public TorchException(string message) : base(string.IsNullOrEmpty(message) ? "libtorch reported an error without a message" : message) { }
}
