using System.Runtime.InteropServices;
using static MlNetMedical.Torch.Interop.NativeMethods;

namespace MlNetMedical.Torch.Optim;

/// <summary>
/// Parameters that share a learning rate and weight decay (e.g. a pretrained encoder at 1e-4 and a new head at 1e-3).
/// Null values take the optimizer's defaults. Group i here is param group i of the libtorch optimizer.
/// </summary>
public sealed record ParamGroup(IReadOnlyList<Tensor> Parameters, double? LearningRate = null, double? WeightDecay = null, string? Name = null)
{
    public ParamGroup(IEnumerable<Tensor> parameters, double? learningRate = null, double? weightDecay = null, string? name = null)
        : this(parameters.ToList(), learningRate, weightDecay, name) { }
}

/// <summary>
/// A libtorch optimizer (torch::optim) over one or more <see cref="ParamGroup"/>s. The native optimizer keeps its own
/// references to the parameter tensors, so it stays valid while the module that owns them lives (and after
/// <c>Module.To</c>, which moves tensors in place). Frozen parameters (no gradient) are skipped by <see cref="Step"/>.
/// </summary>
public abstract class Optimizer : IDisposable
{
    // Must match Slot in native/optim.cpp.
    private protected enum Slot { Lr, WeightDecay, Momentum, Dampening, Nesterov, Beta1, Beta2, Eps, Amsgrad, Alpha, Centered, Count }

    private protected enum Kind { Sgd = 0, Adam = 1, AdamW = 2, Rmsprop = 3 }

    private IntPtr handle;
    private readonly List<ParamGroup> groups;

    private protected unsafe Optimizer(Kind kind, IEnumerable<ParamGroup> parameterGroups, double defaultLr, double defaultWeightDecay, Action<double[]> setOptions)
    {
        groups = parameterGroups.ToList();
        if (groups.Count == 0) throw new ArgumentException("an optimizer needs at least one parameter group", nameof(parameterGroups));
        if (defaultLr < 0) throw new ArgumentOutOfRangeException(nameof(defaultLr), defaultLr, "learning rate must be >= 0");
        var all = groups.SelectMany(g => g.Parameters).ToList();
        if (all.Count != all.Distinct(ReferenceEqualityComparer.Instance).Count())
            throw new ArgumentException("a parameter appears in more than one group (or twice in one)", nameof(parameterGroups));
        var handles = new IntPtr[all.Count];
        for (int i = 0; i < all.Count; i++)
        {
            ObjectDisposedException.ThrowIf(all[i].IsClosed, all[i]);
            handles[i] = all[i].DangerousGetHandle();
        }
        var sizes = groups.Select(g => (long)g.Parameters.Count).ToArray();
        var options = new double[groups.Count * (int)Slot.Count];
        for (int g = 0; g < groups.Count; g++)
        {
            var row = new double[(int)Slot.Count];
            setOptions(row);
            row[(int)Slot.Lr] = groups[g].LearningRate ?? defaultLr;
            row[(int)Slot.WeightDecay] = groups[g].WeightDecay ?? defaultWeightDecay;
            row.CopyTo(options, g * (int)Slot.Count);
        }
        fixed (IntPtr* ph = handles)
        fixed (long* ps = sizes)
        fixed (double* po = options)
            Check(mlnm_optim_new((int)kind, ph, ps, groups.Count, po, (int)Slot.Count, out handle));
        GC.KeepAlive(all);
    }

    private protected static Action<double[]> Options(params (Slot Slot, double Value)[] values) => row =>
    {
        foreach (var (slot, value) in values) row[(int)slot] = value;
    };

    public IReadOnlyList<ParamGroup> Groups => groups;

    /// <summary>Every parameter, group after group.</summary>
    public IEnumerable<Tensor> Parameters => groups.SelectMany(g => g.Parameters);

    private IntPtr Handle
    {
        get
        {
            ObjectDisposedException.ThrowIf(handle == IntPtr.Zero, this);
            return handle;
        }
    }

    /// <summary>Updates every parameter that has a gradient.</summary>
    public void Step() => Check(mlnm_optim_step(Handle));

    /// <summary>Zeroes the gradients, or drops them with <paramref name="setToNone"/> (cheaper; the next backward allocates them).</summary>
    public void ZeroGrad(bool setToNone = false) => Check(mlnm_optim_zero_grad(Handle, setToNone ? 1 : 0));

    public double GetLearningRate(int group)
    {
        Check(mlnm_optim_get_lr(Handle, group, out var lr));
        return lr;
    }

    public void SetLearningRate(int group, double lr) => Check(mlnm_optim_set_lr(Handle, group, lr));

    /// <summary>Current learning rate of every group.</summary>
    public double[] LearningRates => Enumerable.Range(0, groups.Count).Select(GetLearningRate).ToArray();

    /// <summary>
    /// The optimizer state (per-parameter moments, momentum buffers, step counts) as libtorch's serialized
    /// archive (torch::serialize, a zip of tensors). Learning rates are not part of it: schedulers restore them.
    /// Load it into an optimizer of the same kind built over the same parameter groups in the same order.
    /// </summary>
    public byte[] SaveState()
    {
        Check(mlnm_optim_save(Handle, out var data, out var size));
        try
        {
            var bytes = new byte[size];
            Marshal.Copy(data, bytes, 0, checked((int)size));
            return bytes;
        }
        finally { mlnm_optim_buffer_free(data); }
    }

    public unsafe void LoadState(byte[] state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Length == 0) throw new ArgumentException("optimizer state is empty", nameof(state));
        fixed (byte* p = state) Check(mlnm_optim_load(Handle, p, state.Length));
    }

    public void Dispose()
    {
        if (handle != IntPtr.Zero)
        {
            mlnm_optim_free(handle);
            handle = IntPtr.Zero;
        }
        GC.SuppressFinalize(this);
    }

    ~Optimizer()
    {
        if (handle != IntPtr.Zero) mlnm_optim_free(handle);
    }
}

/// <summary>Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and L2 weight decay.</summary>
public sealed class Sgd(IEnumerable<ParamGroup> groups, double lr, double momentum = 0, double dampening = 0, double weightDecay = 0, bool nesterov = false)
    : Optimizer(Kind.Sgd, groups, lr, weightDecay, CheckedOptions(momentum, dampening, nesterov))
{
    public Sgd(IEnumerable<Tensor> parameters, double lr, double momentum = 0, double dampening = 0, double weightDecay = 0, bool nesterov = false)
        : this([new ParamGroup(parameters)], lr, momentum, dampening, weightDecay, nesterov) { }

    private static Action<double[]> CheckedOptions(double momentum, double dampening, bool nesterov)
    {
        if (nesterov && (momentum <= 0 || dampening != 0))
            throw new ArgumentException("Nesterov momentum needs momentum > 0 and dampening = 0");
        return Options((Slot.Momentum, momentum), (Slot.Dampening, dampening), (Slot.Nesterov, nesterov ? 1 : 0));
    }
}

/// <summary>Adam (L2 weight decay added to the gradient).</summary>
public sealed class Adam(IEnumerable<ParamGroup> groups, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0, bool amsgrad = false)
    : Optimizer(Kind.Adam, groups, lr, weightDecay, Options((Slot.Beta1, beta1), (Slot.Beta2, beta2), (Slot.Eps, eps), (Slot.Amsgrad, amsgrad ? 1 : 0)))
{
    public Adam(IEnumerable<Tensor> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0, bool amsgrad = false)
        : this([new ParamGroup(parameters)], lr, beta1, beta2, eps, weightDecay, amsgrad) { }
}

/// <summary>AdamW (decoupled weight decay; default 1e-2 as in PyTorch).</summary>
public sealed class AdamW(IEnumerable<ParamGroup> groups, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 1e-2, bool amsgrad = false)
    : Optimizer(Kind.AdamW, groups, lr, weightDecay, Options((Slot.Beta1, beta1), (Slot.Beta2, beta2), (Slot.Eps, eps), (Slot.Amsgrad, amsgrad ? 1 : 0)))
{
    public AdamW(IEnumerable<Tensor> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 1e-2, bool amsgrad = false)
        : this([new ParamGroup(parameters)], lr, beta1, beta2, eps, weightDecay, amsgrad) { }
}

/// <summary>RMSprop with optional momentum and centering.</summary>
public sealed class RmsProp(IEnumerable<ParamGroup> groups, double lr = 1e-2, double alpha = 0.99, double eps = 1e-8, double weightDecay = 0, double momentum = 0, bool centered = false)
    : Optimizer(Kind.Rmsprop, groups, lr, weightDecay, Options((Slot.Alpha, alpha), (Slot.Eps, eps), (Slot.Momentum, momentum), (Slot.Centered, centered ? 1 : 0)))
{
    public RmsProp(IEnumerable<Tensor> parameters, double lr = 1e-2, double alpha = 0.99, double eps = 1e-8, double weightDecay = 0, double momentum = 0, bool centered = false)
        : this([new ParamGroup(parameters)], lr, alpha, eps, weightDecay, momentum, centered) { }
}

/// <summary>Gradient clipping (<c>torch.nn.utils.clip_grad_norm_</c>, <c>clip_grad_value_</c>); parameters without a gradient are skipped.</summary>
public static class GradClip
{
    /// <summary>Scales all gradients together so their joint <paramref name="normType"/>-norm is at most <paramref name="maxNorm"/>.
    /// Returns the norm before clipping. <paramref name="errorIfNonfinite"/> throws when that norm is NaN or infinite.</summary>
    public static unsafe double ByNorm(IEnumerable<Tensor> parameters, double maxNorm, double normType = 2, bool errorIfNonfinite = false)
    {
        var list = parameters.ToList();
        var handles = list.Select(Nn.Functional.Handle).ToArray();
        fixed (IntPtr* p = handles)
        {
            Check(mlnm_optim_clip_grad_norm(p, handles.Length, maxNorm, normType, errorIfNonfinite ? 1 : 0, out var norm));
            GC.KeepAlive(list);
            return norm;
        }
    }

    /// <summary>Clamps every gradient element to [−clipValue, clipValue].</summary>
    public static unsafe void ByValue(IEnumerable<Tensor> parameters, double clipValue)
    {
        var list = parameters.ToList();
        var handles = list.Select(Nn.Functional.Handle).ToArray();
        fixed (IntPtr* p = handles) Check(mlnm_optim_clip_grad_value(p, handles.Length, clipValue));
        GC.KeepAlive(list);
    }
}
