using MlNetMedical.Torch.Interop;
using static MlNetMedical.Torch.Interop.NativeMethods;

namespace MlNetMedical.Torch;

// Reductions. Without dims they reduce every dimension to a 0-d tensor; with dims, keepDim keeps them as size 1.
public sealed partial class Tensor
{
    private unsafe Tensor Reduce(ReduceOp op, ReadOnlySpan<long> dims, bool hasDims, bool keepDim, long correction = 1)
    {
        fixed (long* d = dims)
            return FromStatus(mlnm_reduce(op, this, d, dims.Length, hasDims ? 1 : 0, keepDim ? 1 : 0, correction, out var r), r);
    }

    public Tensor Sum() => Reduce(ReduceOp.Sum, [], false, false);
    public Tensor Sum(long dim, bool keepDim = false) => Reduce(ReduceOp.Sum, [dim], true, keepDim);
    public Tensor Sum(ReadOnlySpan<long> dims, bool keepDim = false) => Reduce(ReduceOp.Sum, dims, true, keepDim);

    public Tensor Mean() => Reduce(ReduceOp.Mean, [], false, false);
    public Tensor Mean(long dim, bool keepDim = false) => Reduce(ReduceOp.Mean, [dim], true, keepDim);
    public Tensor Mean(ReadOnlySpan<long> dims, bool keepDim = false) => Reduce(ReduceOp.Mean, dims, true, keepDim);

    public Tensor Prod() => Reduce(ReduceOp.Prod, [], false, false);
    public Tensor Prod(long dim, bool keepDim = false) => Reduce(ReduceOp.Prod, [dim], true, keepDim);

    /// <summary>Standard deviation; <paramref name="unbiased"/> divides by N - 1 (torch's default).</summary>
    public Tensor Std(bool unbiased = true) => Reduce(ReduceOp.Std, [], false, false, unbiased ? 1 : 0);
    public Tensor Std(long dim, bool unbiased = true, bool keepDim = false) => Reduce(ReduceOp.Std, [dim], true, keepDim, unbiased ? 1 : 0);
    public Tensor Std(ReadOnlySpan<long> dims, bool unbiased = true, bool keepDim = false) => Reduce(ReduceOp.Std, dims, true, keepDim, unbiased ? 1 : 0);

    public Tensor Var(bool unbiased = true) => Reduce(ReduceOp.Var, [], false, false, unbiased ? 1 : 0);
    public Tensor Var(long dim, bool unbiased = true, bool keepDim = false) => Reduce(ReduceOp.Var, [dim], true, keepDim, unbiased ? 1 : 0);
    public Tensor Var(ReadOnlySpan<long> dims, bool unbiased = true, bool keepDim = false) => Reduce(ReduceOp.Var, dims, true, keepDim, unbiased ? 1 : 0);

    /// <summary>Largest element, as a 0-d tensor.</summary>
    public Tensor Max() => Reduce(ReduceOp.Amax, [], false, false);
    public Tensor Min() => Reduce(ReduceOp.Amin, [], false, false);

    /// <summary>Largest values along <paramref name="dim"/> and where they are.</summary>
    public (Tensor Values, Tensor Indices) Max(long dim, bool keepDim = false) => MaxMin(dim, keepDim, isMin: false);
    public (Tensor Values, Tensor Indices) Min(long dim, bool keepDim = false) => MaxMin(dim, keepDim, isMin: true);

    private (Tensor Values, Tensor Indices) MaxMin(long dim, bool keepDim, bool isMin)
    {
        Check(mlnm_max_dim(this, dim, keepDim ? 1 : 0, isMin ? 1 : 0, out var values, out var indices));
        return (new Tensor(values), new Tensor(indices));
    }

    /// <summary>Largest values over several dims (no indices).</summary>
    public Tensor Amax(ReadOnlySpan<long> dims, bool keepDim = false) => Reduce(ReduceOp.Amax, dims, true, keepDim);
    public Tensor Amin(ReadOnlySpan<long> dims, bool keepDim = false) => Reduce(ReduceOp.Amin, dims, true, keepDim);

    /// <summary>Index of the largest element of the flattened tensor.</summary>
    public Tensor Argmax() => FromStatus(mlnm_argmax(this, 0, 0, 0, 0, out var r), r);
    public Tensor Argmax(long dim, bool keepDim = false) => FromStatus(mlnm_argmax(this, dim, 1, keepDim ? 1 : 0, 0, out var r), r);
    public Tensor Argmin() => FromStatus(mlnm_argmax(this, 0, 0, 0, 1, out var r), r);
    public Tensor Argmin(long dim, bool keepDim = false) => FromStatus(mlnm_argmax(this, dim, 1, keepDim ? 1 : 0, 1, out var r), r);

    public Tensor LogSumExp(long dim, bool keepDim = false) => Reduce(ReduceOp.LogSumExp, [dim], true, keepDim);
    public Tensor LogSumExp(ReadOnlySpan<long> dims, bool keepDim = false) => Reduce(ReduceOp.LogSumExp, dims, true, keepDim);

    /// <summary>True when every element is non-zero (0-d bool tensor).</summary>
    public Tensor All() => Reduce(ReduceOp.All, [], false, false);
    public Tensor All(long dim, bool keepDim = false) => Reduce(ReduceOp.All, [dim], true, keepDim);
    public Tensor Any() => Reduce(ReduceOp.Any, [], false, false);
    public Tensor Any(long dim, bool keepDim = false) => Reduce(ReduceOp.Any, [dim], true, keepDim);

    /// <summary>The p-norm over all elements (p = 2: Euclidean/Frobenius).</summary>
    public Tensor Norm(double p = 2) => NormCore(p, [], false, false);
    public Tensor Norm(double p, long dim, bool keepDim = false) => NormCore(p, [dim], true, keepDim);
    public Tensor Norm(double p, ReadOnlySpan<long> dims, bool keepDim = false) => NormCore(p, dims, true, keepDim);

    private unsafe Tensor NormCore(double p, ReadOnlySpan<long> dims, bool hasDims, bool keepDim)
    {
        fixed (long* d = dims)
            return FromStatus(mlnm_norm(this, p, d, dims.Length, hasDims ? 1 : 0, keepDim ? 1 : 0, out var r), r);
    }
}
