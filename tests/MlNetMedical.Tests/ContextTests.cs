using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;

namespace MlNetMedical.Tests;

/// <summary>What <c>ml.Medical()</c> adds to an <see cref="MLContext"/>: the device check behind <see cref="MLContext.GpuDeviceId"/>
/// (through <see cref="MedicalSettings.DeviceProbe"/>) and per-context settings.</summary>
[Collection("Torch")]   // swaps the process-wide device probe
public class ContextTests
{
    private sealed class FakeProbe(int count) : IComputeDeviceProbe
    {
        public int CudaDeviceCount => count;
        public string? CudaUnavailableReason => count == 0 ? "no driver" : null;
    }

    private static T WithProbe<T>(IComputeDeviceProbe probe, Func<T> body)
    {
        var saved = MedicalSettings.DeviceProbe;
        MedicalSettings.DeviceProbe = probe;
        try { return body(); }
        finally { MedicalSettings.DeviceProbe = saved; }
    }

    [Fact]
    public void DeviceComesFromGpuDeviceIdAndIsValidated()
    {
        Assert.Equal("cpu", new MLContext(seed: 1).Medical().Device);
        Assert.Equal("cpu", new MLContext(seed: 1).Medical().Compute.Device);

        var noCuda = Assert.Throws<InvalidOperationException>(() => WithProbe(new FakeProbe(0), () => new MLContext(seed: 1) { GpuDeviceId = 0 }.Medical().Device));
        Assert.Contains("MLContext.GpuDeviceId is 0, but CUDA is not available (no driver)", noCuda.Message);
        Assert.Contains("FallbackToCpu = true", noCuda.Message);
        Assert.Equal("cpu", WithProbe(new FakeProbe(0), () => new MLContext(seed: 1) { GpuDeviceId = 0, FallbackToCpu = true }.Medical().Device));

        Assert.Equal("cuda:1", WithProbe(new FakeProbe(2), () => new MLContext(seed: 1) { GpuDeviceId = 1 }.Medical().Device));
        Assert.Equal("cuda:1", WithProbe(new FakeProbe(2), () => new MLContext(seed: 1) { GpuDeviceId = 1 }.Medical().Compute.Device));
        var tooHigh = Assert.Throws<InvalidOperationException>(() => WithProbe(new FakeProbe(2), () => new MLContext(seed: 1) { GpuDeviceId = 2 }.Medical().Device));
        Assert.Contains("only 2 CUDA device(s) exist (0..1)", tooHigh.Message);
        Assert.Contains("≥ 0", Assert.Throws<InvalidOperationException>(() => WithProbe(new FakeProbe(2), () => new MLContext(seed: 1) { GpuDeviceId = -1 }.Medical().Device)).Message);
    }

    [Fact]
    public void ModelLoadingChecksTheDeviceBeforeReadingTheFile()
    {
        // LoadMedical reads the context's device first: a context asking for a missing GPU fails with the device error, not a file error.
        var ml = new MLContext(seed: 1) { GpuDeviceId = 0 };
        var e = Assert.Throws<InvalidOperationException>(() => WithProbe(new FakeProbe(0), () => ml.Model.LoadMedical(new MemoryStream([1, 2, 3]), out _)));
        Assert.Contains("MLContext.GpuDeviceId is 0", e.Message);
    }

    [Fact]
    public void SettingsArePerContextAndThreadsAreChecked()
    {
        var ml = new MLContext(seed: 1);
        Assert.Same(ml.Medical(), ml.Medical());
        Assert.NotSame(ml.Medical(), new MLContext(seed: 1).Medical());
        // The framework's default seed follows the context's, so seeded contexts give reproducible runs.
        Assert.Equal(new MLContext(seed: 5).Medical().Seed, new MLContext(seed: 5).Medical().Seed);
        ml.Medical().Threads = 3;
        Assert.Equal(3, ml.Medical().Compute.Threads);
        Assert.Throws<ArgumentOutOfRangeException>(() => ml.Medical().Threads = 0);
    }
}
