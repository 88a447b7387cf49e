using System.Runtime.CompilerServices;

namespace MlNetMedical.Models.Tests;

/// <summary>Applies the process-wide libtorch settings (threads, allocator, NNPACK off, oneDNN check) before any test
/// touches torch, as every trainer and the CLI do.</summary>
internal static class TestSetup
{
#pragma warning disable CA2255 // a module initializer is what a test assembly needs here
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Initialize() => TorchRuntime.Initialize();
}
