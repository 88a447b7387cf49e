using MlNetMedical.Torch.Interop;
using static MlNetMedical.Torch.Interop.NativeMethods;

namespace MlNetMedical.Torch;

// Arithmetic, elementwise functions and comparisons. Methods ending in '_' work in place and return this tensor.
// Scalar overloads come as double and long: a long keeps integer tensors integral (int tensor + 1 stays int64),
// a double promotes them to floating point, as in PyTorch.
public sealed partial class Tensor
{
    internal Tensor Unary(UnaryOp op) => FromStatus(mlnm_unary(op, this, out var r), r);

    internal Tensor UnaryInPlace(UnaryOp op)
    {
        Check(mlnm_unary_(op, this));
        return this;
    }

    internal Tensor Binary(BinaryOp op, Tensor other) => FromStatus(mlnm_binary(op, this, other, out var r), r);

    internal Tensor BinaryInPlace(BinaryOp op, Tensor other)
    {
        Check(mlnm_binary_(op, this, other));
        return this;
    }

    internal Tensor Binary(BinaryOp op, double value, bool integral) =>
        FromStatus(mlnm_binary_scalar(op, this, value, integral ? 1 : 0, out var r), r);

    internal Tensor BinaryInPlace(BinaryOp op, double value, bool integral)
    {
        Check(mlnm_binary_scalar_(op, this, value, integral ? 1 : 0));
        return this;
    }

    // A whole-number alpha is passed as an integer so it also works on integer tensors (exact either way).
    private static bool IsWhole(double v) => Math.Abs(v) < 9.0e15 && v == Math.Floor(v);

    private unsafe Tensor AddScaled(Tensor other, double alpha, bool subtract)
    {
        IntPtr r;
        Check(mlnm_add_scaled(this, other, alpha, IsWhole(alpha) ? 1 : 0, subtract ? 1 : 0, &r));
        return new Tensor(r);
    }

    private unsafe Tensor AddScaledInPlace(Tensor other, double alpha, bool subtract)
    {
        Check(mlnm_add_scaled(this, other, alpha, IsWhole(alpha) ? 1 : 0, subtract ? 1 : 0, null));
        return this;
    }

    // ---- arithmetic ----
    public Tensor Add(Tensor other) => Binary(BinaryOp.Add, other);
    /// <summary>this + alpha * other.</summary>
    public Tensor Add(Tensor other, double alpha) => AddScaled(other, alpha, subtract: false);
    public Tensor Add(double value) => Binary(BinaryOp.Add, value, false);
    public Tensor Add(long value) => Binary(BinaryOp.Add, value, true);
    public Tensor Add_(Tensor other) => BinaryInPlace(BinaryOp.Add, other);
    /// <summary>this += alpha * other (the SGD update form).</summary>
    public Tensor Add_(Tensor other, double alpha) => AddScaledInPlace(other, alpha, subtract: false);
    public Tensor Add_(double value) => BinaryInPlace(BinaryOp.Add, value, false);
    public Tensor Add_(long value) => BinaryInPlace(BinaryOp.Add, value, true);

    public Tensor Sub(Tensor other) => Binary(BinaryOp.Sub, other);
    /// <summary>this - alpha * other.</summary>
    public Tensor Sub(Tensor other, double alpha) => AddScaled(other, alpha, subtract: true);
    public Tensor Sub(double value) => Binary(BinaryOp.Sub, value, false);
    public Tensor Sub(long value) => Binary(BinaryOp.Sub, value, true);
    public Tensor Sub_(Tensor other) => BinaryInPlace(BinaryOp.Sub, other);
    public Tensor Sub_(Tensor other, double alpha) => AddScaledInPlace(other, alpha, subtract: true);
    public Tensor Sub_(double value) => BinaryInPlace(BinaryOp.Sub, value, false);
    public Tensor Sub_(long value) => BinaryInPlace(BinaryOp.Sub, value, true);

    public Tensor Mul(Tensor other) => Binary(BinaryOp.Mul, other);
    public Tensor Mul(double value) => Binary(BinaryOp.Mul, value, false);
    public Tensor Mul(long value) => Binary(BinaryOp.Mul, value, true);
    public Tensor Mul_(Tensor other) => BinaryInPlace(BinaryOp.Mul, other);
    public Tensor Mul_(double value) => BinaryInPlace(BinaryOp.Mul, value, false);
    public Tensor Mul_(long value) => BinaryInPlace(BinaryOp.Mul, value, true);

    /// <summary>True division (integer tensors give floating point, as torch.div).</summary>
    public Tensor Div(Tensor other) => Binary(BinaryOp.Div, other);
    public Tensor Div(double value) => Binary(BinaryOp.Div, value, false);
    public Tensor Div(long value) => Binary(BinaryOp.Div, value, true);
    public Tensor Div_(Tensor other) => BinaryInPlace(BinaryOp.Div, other);
    public Tensor Div_(double value) => BinaryInPlace(BinaryOp.Div, value, false);
    public Tensor Div_(long value) => BinaryInPlace(BinaryOp.Div, value, true);

    public Tensor Pow(Tensor exponent) => Binary(BinaryOp.Pow, exponent);
    public Tensor Pow(double exponent) => Binary(BinaryOp.Pow, exponent, false);
    public Tensor Pow(long exponent) => Binary(BinaryOp.Pow, exponent, true);
    public Tensor Pow_(double exponent) => BinaryInPlace(BinaryOp.Pow, exponent, false);
    public Tensor Pow_(long exponent) => BinaryInPlace(BinaryOp.Pow, exponent, true);

    public Tensor Remainder(Tensor other) => Binary(BinaryOp.Remainder, other);
    public Tensor Remainder(double value) => Binary(BinaryOp.Remainder, value, false);
    public Tensor Remainder(long value) => Binary(BinaryOp.Remainder, value, true);
    public Tensor FloorDivide(Tensor other) => Binary(BinaryOp.FloorDivide, other);
    public Tensor FloorDivide(long value) => Binary(BinaryOp.FloorDivide, value, true);

    /// <summary>Elementwise maximum of two tensors.</summary>
    public Tensor Maximum(Tensor other) => Binary(BinaryOp.Maximum, other);
    public Tensor Minimum(Tensor other) => Binary(BinaryOp.Minimum, other);
    public Tensor Atan2(Tensor other) => Binary(BinaryOp.Atan2, other);

    /// <summary>this + value * t1 * t2.</summary>
    public unsafe Tensor Addcmul(Tensor t1, Tensor t2, double value = 1)
    {
        IntPtr r;
        Check(mlnm_addcmul(this, t1, t2, value, 0, &r));
        return new Tensor(r);
    }

    /// <summary>this += value * t1 * t2 (Adam's second-moment update).</summary>
    public unsafe Tensor Addcmul_(Tensor t1, Tensor t2, double value = 1)
    {
        Check(mlnm_addcmul(this, t1, t2, value, 0, null));
        return this;
    }

    /// <summary>this + value * t1 / t2.</summary>
    public unsafe Tensor Addcdiv(Tensor t1, Tensor t2, double value = 1)
    {
        IntPtr r;
        Check(mlnm_addcmul(this, t1, t2, value, 1, &r));
        return new Tensor(r);
    }

    /// <summary>this += value * t1 / t2 (Adam's parameter update).</summary>
    public unsafe Tensor Addcdiv_(Tensor t1, Tensor t2, double value = 1)
    {
        Check(mlnm_addcmul(this, t1, t2, value, 1, null));
        return this;
    }

    /// <summary>this + weight * (end - this).</summary>
    public unsafe Tensor Lerp(Tensor end, double weight)
    {
        IntPtr r;
        Check(mlnm_lerp(this, end, weight, &r));
        return new Tensor(r);
    }

    /// <summary>this += weight * (end - this) (exponential moving averages).</summary>
    public unsafe Tensor Lerp_(Tensor end, double weight)
    {
        Check(mlnm_lerp(this, end, weight, null));
        return this;
    }

    /// <summary>Matrix product with broadcasting (torch.matmul).</summary>
    public Tensor Matmul(Tensor other) => Binary(BinaryOp.Matmul, other);
    /// <summary>2-D matrix product.</summary>
    public Tensor Mm(Tensor other) => Binary(BinaryOp.Mm, other);
    /// <summary>Batched matrix product of [b, n, m] and [b, m, p].</summary>
    public Tensor Bmm(Tensor other) => Binary(BinaryOp.Bmm, other);

    // ---- in-place fills and copies ----
    public Tensor Zero_() => UnaryInPlace(UnaryOp.ZerosLike);

    public Tensor Fill_(double value)
    {
        Check(mlnm_fill_(this, value, 0));
        return this;
    }

    public Tensor Fill_(long value)
    {
        Check(mlnm_fill_(this, value, 1));
        return this;
    }

    /// <summary>Copies src's values (broadcast, converted to this dtype and device) into this tensor.</summary>
    public Tensor Copy_(Tensor src)
    {
        Check(mlnm_copy_(this, src));
        return this;
    }

    /// <summary>Fills with uniform samples in [0, 1) in place.</summary>
    public Tensor Uniform_() => UnaryInPlace(UnaryOp.RandLike);
    /// <summary>Fills with standard normal samples in place.</summary>
    public Tensor Normal_() => UnaryInPlace(UnaryOp.RandnLike);

    // ---- elementwise functions ----
    public Tensor Neg() => Unary(UnaryOp.Neg);
    public Tensor Neg_() => UnaryInPlace(UnaryOp.Neg);
    public Tensor Exp() => Unary(UnaryOp.Exp);
    public Tensor Exp_() => UnaryInPlace(UnaryOp.Exp);
    public Tensor Log() => Unary(UnaryOp.Log);
    public Tensor Log_() => UnaryInPlace(UnaryOp.Log);
    public Tensor Log2() => Unary(UnaryOp.Log2);
    public Tensor Log10() => Unary(UnaryOp.Log10);
    public Tensor Log1p() => Unary(UnaryOp.Log1p);
    public Tensor Expm1() => Unary(UnaryOp.Expm1);
    public Tensor Sqrt() => Unary(UnaryOp.Sqrt);
    public Tensor Sqrt_() => UnaryInPlace(UnaryOp.Sqrt);
    public Tensor Rsqrt() => Unary(UnaryOp.Rsqrt);
    public Tensor Abs() => Unary(UnaryOp.Abs);
    public Tensor Abs_() => UnaryInPlace(UnaryOp.Abs);
    public Tensor Sign() => Unary(UnaryOp.Sign);
    public Tensor Sigmoid() => Unary(UnaryOp.Sigmoid);
    public Tensor Sigmoid_() => UnaryInPlace(UnaryOp.Sigmoid);
    public Tensor Tanh() => Unary(UnaryOp.Tanh);
    public Tensor Tanh_() => UnaryInPlace(UnaryOp.Tanh);
    public Tensor Relu() => Unary(UnaryOp.Relu);
    public Tensor Relu_() => UnaryInPlace(UnaryOp.Relu);
    public Tensor Floor() => Unary(UnaryOp.Floor);
    public Tensor Ceil() => Unary(UnaryOp.Ceil);
    public Tensor Round() => Unary(UnaryOp.Round);
    public Tensor Trunc() => Unary(UnaryOp.Trunc);
    public Tensor Sin() => Unary(UnaryOp.Sin);
    public Tensor Cos() => Unary(UnaryOp.Cos);
    public Tensor Erf() => Unary(UnaryOp.Erf);
    public Tensor Reciprocal() => Unary(UnaryOp.Reciprocal);
    public Tensor Square() => Unary(UnaryOp.Square);
    public Tensor Square_() => UnaryInPlace(UnaryOp.Square);

    /// <summary>Clamps to [min, max]; either bound may be null, not both.</summary>
    public unsafe Tensor Clamp(double? min = null, double? max = null)
    {
        IntPtr r;
        Check(mlnm_clamp(this, min ?? 0, min.HasValue ? 1 : 0, max ?? 0, max.HasValue ? 1 : 0, 0, &r));
        return new Tensor(r);
    }

    public unsafe Tensor Clamp_(double? min = null, double? max = null)
    {
        Check(mlnm_clamp(this, min ?? 0, min.HasValue ? 1 : 0, max ?? 0, max.HasValue ? 1 : 0, 0, null));
        return this;
    }

    /// <summary>Elementwise max(this, value).</summary>
    public Tensor ClampMin(double value) => Binary(BinaryOp.Maximum, value, false);
    /// <summary>Elementwise min(this, value).</summary>
    public Tensor ClampMax(double value) => Binary(BinaryOp.Minimum, value, false);

    public Tensor Softmax(long dim) => FromStatus(mlnm_softmax(this, dim, 0, out var r), r);
    public Tensor LogSoftmax(long dim) => FromStatus(mlnm_softmax(this, dim, 1, out var r), r);

    // ---- comparisons and logic (bool results; C# == stays reference equality) ----
    public Tensor Eq(Tensor other) => Binary(BinaryOp.Eq, other);
    public Tensor Eq(double value) => Binary(BinaryOp.Eq, value, false);
    public Tensor Eq(long value) => Binary(BinaryOp.Eq, value, true);
    public Tensor Ne(Tensor other) => Binary(BinaryOp.Ne, other);
    public Tensor Ne(double value) => Binary(BinaryOp.Ne, value, false);
    public Tensor Ne(long value) => Binary(BinaryOp.Ne, value, true);
    public Tensor Lt(Tensor other) => Binary(BinaryOp.Lt, other);
    public Tensor Lt(double value) => Binary(BinaryOp.Lt, value, false);
    public Tensor Lt(long value) => Binary(BinaryOp.Lt, value, true);
    public Tensor Le(Tensor other) => Binary(BinaryOp.Le, other);
    public Tensor Le(double value) => Binary(BinaryOp.Le, value, false);
    public Tensor Le(long value) => Binary(BinaryOp.Le, value, true);
    public Tensor Gt(Tensor other) => Binary(BinaryOp.Gt, other);
    public Tensor Gt(double value) => Binary(BinaryOp.Gt, value, false);
    public Tensor Gt(long value) => Binary(BinaryOp.Gt, value, true);
    public Tensor Ge(Tensor other) => Binary(BinaryOp.Ge, other);
    public Tensor Ge(double value) => Binary(BinaryOp.Ge, value, false);
    public Tensor Ge(long value) => Binary(BinaryOp.Ge, value, true);
    public Tensor LogicalAnd(Tensor other) => Binary(BinaryOp.LogicalAnd, other);
    public Tensor LogicalOr(Tensor other) => Binary(BinaryOp.LogicalOr, other);
    public Tensor LogicalXor(Tensor other) => Binary(BinaryOp.LogicalXor, other);
    public Tensor LogicalNot() => Unary(UnaryOp.LogicalNot);
    public Tensor IsNaN() => Unary(UnaryOp.IsNaN);
    public Tensor IsFinite() => Unary(UnaryOp.IsFinite);
    public Tensor IsInf() => Unary(UnaryOp.IsInf);

    /// <summary>True when both have the same shape and |a - b| &lt;= atol + rtol * |b| everywhere.</summary>
    public bool AllClose(Tensor other, double rtol = 1e-5, double atol = 1e-8)
    {
        Check(mlnm_allclose(this, other, rtol, atol, out var r));
        return r != 0;
    }

    /// <summary>Elements of <paramref name="x"/> where <paramref name="condition"/> is true, else of <paramref name="y"/> (broadcast).</summary>
    public static Tensor Where(Tensor condition, Tensor x, Tensor y) => FromStatus(mlnm_where(condition, x, y, out var r), r);

    /// <summary>A copy with <paramref name="value"/> wherever the bool <paramref name="mask"/> is true.</summary>
    public unsafe Tensor MaskedFill(Tensor mask, double value)
    {
        IntPtr r;
        Check(mlnm_masked_fill(this, mask, value, 0, &r));
        return new Tensor(r);
    }

    public unsafe Tensor MaskedFill_(Tensor mask, double value)
    {
        Check(mlnm_masked_fill(this, mask, value, 0, null));
        return this;
    }

    // ---- operators ----
    public static Tensor operator +(Tensor a, Tensor b) => a.Add(b);
    public static Tensor operator +(Tensor a, double b) => a.Add(b);
    public static Tensor operator +(Tensor a, long b) => a.Add(b);
    public static Tensor operator +(double a, Tensor b) => b.Add(a);
    public static Tensor operator +(long a, Tensor b) => b.Add(a);
    public static Tensor operator -(Tensor a, Tensor b) => a.Sub(b);
    public static Tensor operator -(Tensor a, double b) => a.Sub(b);
    public static Tensor operator -(Tensor a, long b) => a.Sub(b);
    public static Tensor operator -(double a, Tensor b) => b.Binary(BinaryOp.RSub, a, false);
    public static Tensor operator -(long a, Tensor b) => b.Binary(BinaryOp.RSub, a, true);
    public static Tensor operator *(Tensor a, Tensor b) => a.Mul(b);
    public static Tensor operator *(Tensor a, double b) => a.Mul(b);
    public static Tensor operator *(Tensor a, long b) => a.Mul(b);
    public static Tensor operator *(double a, Tensor b) => b.Mul(a);
    public static Tensor operator *(long a, Tensor b) => b.Mul(a);
    public static Tensor operator /(Tensor a, Tensor b) => a.Div(b);
    public static Tensor operator /(Tensor a, double b) => a.Div(b);
    public static Tensor operator /(Tensor a, long b) => a.Div(b);
    public static Tensor operator /(double a, Tensor b) => b.Binary(BinaryOp.RDiv, a, false);
    public static Tensor operator /(long a, Tensor b) => b.Binary(BinaryOp.RDiv, a, true);
    public static Tensor operator -(Tensor a) => a.Neg();
}
