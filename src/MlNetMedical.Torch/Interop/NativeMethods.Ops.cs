using System.Runtime.InteropServices;

namespace MlNetMedical.Torch.Interop;

// Op codes: mirror the enums in native/mlnm.h (same order, same values).
internal enum UnaryOp
{
    Neg, Exp, Log, Sqrt, Rsqrt, Abs, Sign, Sigmoid, Tanh, Relu, Floor, Ceil, Round, Sin, Cos, Log1p, Expm1,
    Reciprocal, Square, IsNaN, IsFinite, IsInf, LogicalNot, Clone, Contiguous, Detach, ZerosLike, OnesLike,
    RandLike, RandnLike, Erf, Log2, Log10, Trunc,
}

internal enum BinaryOp
{
    Add, Sub, Mul, Div, Pow, Remainder, Maximum, Minimum, Eq, Ne, Lt, Le, Gt, Ge, LogicalAnd, LogicalOr,
    LogicalXor, Matmul, Mm, Bmm, Atan2, FloorDivide, RSub, RDiv, RPow,
}

internal enum ReduceOp { Sum, Mean, Prod, Amax, Amin, LogSumExp, All, Any, Std, Var, NanSum }

internal enum FactoryOp { Zeros, Ones, Empty, Full, Rand, Randn, RandInt }

internal enum ShapeOp { Reshape, View, Permute, Expand, Repeat, Flip, SqueezeDims, BroadcastTo }

internal static unsafe partial class NativeMethods
{
    // ops_pointwise.cpp (a null result pointer means "in place" where the C side says so)
    [LibraryImport(Library)] internal static partial int mlnm_unary(UnaryOp op, Tensor x, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_unary_(UnaryOp op, Tensor x);
    [LibraryImport(Library)] internal static partial int mlnm_binary(BinaryOp op, Tensor a, Tensor b, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_binary_(BinaryOp op, Tensor a, Tensor b);
    [LibraryImport(Library)] internal static partial int mlnm_binary_scalar(BinaryOp op, Tensor a, double value, int integral, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_binary_scalar_(BinaryOp op, Tensor a, double value, int integral);
    [LibraryImport(Library)] internal static partial int mlnm_add_scaled(Tensor a, Tensor b, double alpha, int alphaIntegral, int subtract, IntPtr* result);
    [LibraryImport(Library)] internal static partial int mlnm_addcmul(Tensor self, Tensor t1, Tensor t2, double value, int divide, IntPtr* result);
    [LibraryImport(Library)] internal static partial int mlnm_lerp(Tensor self, Tensor end, double weight, IntPtr* result);
    [LibraryImport(Library)] internal static partial int mlnm_clamp(Tensor t, double min, int hasMin, double max, int hasMax, int integral, IntPtr* result);
    [LibraryImport(Library)] internal static partial int mlnm_fill_(Tensor t, double value, int integral);
    [LibraryImport(Library)] internal static partial int mlnm_copy_(Tensor dst, Tensor src);
    [LibraryImport(Library)] internal static partial int mlnm_softmax(Tensor t, long dim, int log, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_where(Tensor condition, Tensor a, Tensor b, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_masked_fill(Tensor t, Tensor mask, double value, int integral, IntPtr* result);
    [LibraryImport(Library)] internal static partial int mlnm_allclose(Tensor a, Tensor b, double rtol, double atol, out int result);

    // ops_reduce.cpp
    [LibraryImport(Library)] internal static partial int mlnm_reduce(ReduceOp op, Tensor t, long* dims, long ndims, int hasDims, int keepdim, long correction, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_norm(Tensor t, double p, long* dims, long ndims, int hasDims, int keepdim, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_max_dim(Tensor t, long dim, int keepdim, int isMin, out IntPtr values, out IntPtr indices);
    [LibraryImport(Library)] internal static partial int mlnm_argmax(Tensor t, long dim, int hasDim, int keepdim, int isMin, out IntPtr result);

    // ops_shape.cpp
    [LibraryImport(Library)] internal static partial int mlnm_shape_op(ShapeOp op, Tensor t, long* values, long count, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_transpose(Tensor t, long dim0, long dim1, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_unsqueeze(Tensor t, long dim, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_flatten(Tensor t, long startDim, long endDim, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_narrow(Tensor t, long dim, long start, long length, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_select(Tensor t, long dim, long index, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_slice(Tensor t, long dim, long start, long end, long step, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_index(Tensor t, long* items, long count, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_cat(IntPtr* tensors, long count, long dim, int stack, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_split(Tensor t, long size, long dim, int chunk, IntPtr* result, long capacity, out long count);
    [LibraryImport(Library)] internal static partial int mlnm_split_sizes(Tensor t, long* sizes, long nsizes, long dim, IntPtr* result, long capacity, out long count);
    [LibraryImport(Library)] internal static partial int mlnm_index_select(Tensor t, long dim, Tensor index, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_gather(Tensor t, long dim, Tensor index, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_scatter(Tensor t, long dim, Tensor index, Tensor src, int add, IntPtr* result);
    [LibraryImport(Library)] internal static partial int mlnm_scatter_value(Tensor t, long dim, Tensor index, double value, int integral, IntPtr* result);
    [LibraryImport(Library)] internal static partial int mlnm_pad(Tensor t, long* pads, long npads, int mode, double value, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_roll(Tensor t, long* shifts, long nshifts, long* dims, long ndims, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_one_hot(Tensor t, long numClasses, out IntPtr result);

    // autograd.cpp
    [LibraryImport(Library)] internal static partial int mlnm_requires_grad(Tensor t, out int value);
    [LibraryImport(Library)] internal static partial int mlnm_set_requires_grad(Tensor t, int value);
    [LibraryImport(Library)] internal static partial int mlnm_is_leaf(Tensor t, out int value);
    [LibraryImport(Library)] internal static partial int mlnm_retain_grad(Tensor t);
    [LibraryImport(Library)] internal static partial int mlnm_grad(Tensor t, out IntPtr result);
    [LibraryImport(Library)] internal static partial int mlnm_set_grad(Tensor t, IntPtr grad);
    [LibraryImport(Library)] internal static partial int mlnm_zero_grad(Tensor t, int setToNone);
    [LibraryImport(Library)] internal static partial int mlnm_backward(Tensor t, IntPtr grad, int retainGraph, int createGraph);
    [LibraryImport(Library)] internal static partial int mlnm_set_grad_enabled(int enabled, out int previous);
    [LibraryImport(Library)] internal static partial int mlnm_is_grad_enabled(out int enabled);
}
