using static MlNetMedical.Torch.Interop.NativeMethods;

namespace MlNetMedical.Torch.Nn;

/// <summary>The nonlinearity that follows a layer, for the gain of Kaiming initialisation.</summary>
public enum Nonlinearity { Linear = 0, Conv1D = 1, Conv2D = 2, Conv3D = 3, Sigmoid = 4, Tanh = 5, Relu = 6, LeakyRelu = 7 }

/// <summary>
/// In-place initialisers (<c>torch.nn.init</c>), run by libtorch on its default generator, so a manual seed
/// makes them reproducible. They do not record autograd history.
/// </summary>
public static class Init
{
    private static Tensor Fill(Tensor t, int kind, double a = 0, double b = 0, bool fanOut = false, Nonlinearity nl = Nonlinearity.LeakyRelu)
    {
        Check(mlnm_nn_init(t, kind, a, b, fanOut ? 1 : 0, (int)nl));
        return t;
    }

    public static Tensor Zeros(Tensor t) => Fill(t, 0);
    public static Tensor Constant(Tensor t, double value) => Fill(t, 1, value);
    public static Tensor Uniform(Tensor t, double low = 0, double high = 1) => Fill(t, 2, low, high);
    public static Tensor Normal(Tensor t, double mean = 0, double std = 1) => Fill(t, 3, mean, std);

    /// <summary>He initialisation, uniform: bound = gain·√(3/fan). <paramref name="a"/> is the leaky-ReLU slope.</summary>
    public static Tensor KaimingUniform(Tensor t, double a = 0, bool fanOut = false, Nonlinearity nonlinearity = Nonlinearity.LeakyRelu) =>
        Fill(t, 4, a, 0, fanOut, nonlinearity);

    public static Tensor KaimingNormal(Tensor t, double a = 0, bool fanOut = false, Nonlinearity nonlinearity = Nonlinearity.LeakyRelu) =>
        Fill(t, 5, a, 0, fanOut, nonlinearity);

    /// <summary>Glorot initialisation, uniform: bound = gain·√(6/(fan_in + fan_out)).</summary>
    public static Tensor XavierUniform(Tensor t, double gain = 1) => Fill(t, 6, gain);
    public static Tensor XavierNormal(Tensor t, double gain = 1) => Fill(t, 7, gain);

    /// <summary>Fan-in of a weight shaped (out, in, k...) as PyTorch computes it: in × prod(k).</summary>
    public static long FanIn(long[] weightShape)
    {
        if (weightShape.Length < 2) throw new ArgumentException("fan-in needs a weight with at least 2 dims", nameof(weightShape));
        long fan = weightShape[1];
        for (int i = 2; i < weightShape.Length; i++) fan *= weightShape[i];
        return fan;
    }

    /// <summary>PyTorch's default for Linear and Conv: weight Kaiming-uniform with a = √5, bias uniform ±1/√fan_in.</summary>
    internal static void DefaultLayerInit(Tensor weight, Tensor? bias, long fanIn)
    {
        KaimingUniform(weight, Math.Sqrt(5));
        if (bias != null && fanIn > 0)
        {
            var bound = 1 / Math.Sqrt(fanIn);
            Uniform(bias, -bound, bound);
        }
    }
}
