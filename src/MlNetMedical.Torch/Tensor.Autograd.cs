using static MlNetMedical.Torch.Interop.NativeMethods;

namespace MlNetMedical.Torch;

// Autograd: gradient tracking flags, backward and the accumulated gradients.
public sealed partial class Tensor
{
    /// <summary>Whether autograd records operations on this tensor.</summary>
    public bool RequiresGrad
    {
        get { Check(mlnm_requires_grad(this, out var v)); return v != 0; }
        set => Check(mlnm_set_requires_grad(this, value ? 1 : 0));
    }

    /// <summary>Sets <see cref="RequiresGrad"/> and returns this tensor.</summary>
    public Tensor RequiresGrad_(bool value = true)
    {
        RequiresGrad = value;
        return this;
    }

    /// <summary>True for tensors created by the user rather than by a recorded operation.</summary>
    public bool IsLeaf
    {
        get { Check(mlnm_is_leaf(this, out var v)); return v != 0; }
    }

    /// <summary>
    /// The accumulated gradient, or null before any backward pass. Each read returns a new handle onto the
    /// same storage (dispose it, or read it inside a dispose scope); the setter replaces it (null clears it).
    /// </summary>
    public Tensor? Grad
    {
        get
        {
            Check(mlnm_grad(this, out var g));
            return g == IntPtr.Zero ? null : new Tensor(g);
        }
        set
        {
            var added = false;
            try
            {
                var g = BorrowOptional(value, ref added);
                Check(mlnm_set_grad(this, g));
            }
            finally
            {
                if (added) value!.DangerousRelease();
            }
        }
    }

    /// <summary>Keeps the gradient of this non-leaf tensor after backward.</summary>
    public void RetainGrad() => Check(mlnm_retain_grad(this));

    /// <summary>Zeroes the gradient in place, or drops it when <paramref name="setToNone"/>; nothing happens without one.</summary>
    public void ZeroGrad(bool setToNone = false) => Check(mlnm_zero_grad(this, setToNone ? 1 : 0));

    /// <summary>
    /// Backpropagates from this tensor, accumulating into the leaves' <see cref="Grad"/>. A non-scalar tensor needs
    /// <paramref name="gradient"/> (d loss / d this).
    /// </summary>
    public void Backward(Tensor? gradient = null, bool retainGraph = false, bool createGraph = false)
    {
        var added = false;
        try
        {
            var g = BorrowOptional(gradient, ref added);
            Check(mlnm_backward(this, g, retainGraph ? 1 : 0, createGraph ? 1 : 0));
        }
        finally
        {
            if (added) gradient!.DangerousRelease();
        }
    }

    /// <summary>A tensor sharing this one's storage, cut from the autograd graph.</summary>
    public Tensor Detach() => Unary(Interop.UnaryOp.Detach);

    /// <summary>Cuts this tensor from the autograd graph in place.</summary>
    public Tensor Detach_() => UnaryInPlace(Interop.UnaryOp.Detach);

    /// <summary>A copy with its own storage (gradients flow back to this tensor).</summary>
    public Tensor Clone() => Unary(Interop.UnaryOp.Clone);

    /// <summary>This tensor if already contiguous in memory, else a contiguous copy.</summary>
    public Tensor Contiguous() => Unary(Interop.UnaryOp.Contiguous);
}
