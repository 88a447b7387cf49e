// Elementwise and arithmetic ops, dispatched by op code (mlnm.h) so the ABI stays a handful of functions.
#include "shim.h"

using namespace mlnm;

namespace {

at::Tensor unary(int32_t op, const at::Tensor& x) {
  switch (op) {
    case MLNM_NEG: return at::neg(x);
    case MLNM_EXP: return at::exp(x);
    case MLNM_LOG: return at::log(x);
    case MLNM_SQRT: return at::sqrt(x);
    case MLNM_RSQRT: return at::rsqrt(x);
    case MLNM_ABS: return at::abs(x);
    case MLNM_SIGN: return at::sign(x);
    case MLNM_SIGMOID: return at::sigmoid(x);
    case MLNM_TANH: return at::tanh(x);
    case MLNM_RELU: return at::relu(x);
    case MLNM_FLOOR: return at::floor(x);
    case MLNM_CEIL: return at::ceil(x);
    case MLNM_ROUND: return at::round(x);
    case MLNM_SIN: return at::sin(x);
    case MLNM_COS: return at::cos(x);
    case MLNM_LOG1P: return at::log1p(x);
    case MLNM_EXPM1: return at::expm1(x);
    case MLNM_RECIPROCAL: return at::reciprocal(x);
    case MLNM_SQUARE: return at::square(x);
    case MLNM_ISNAN: return at::isnan(x);
    case MLNM_ISFINITE: return at::isfinite(x);
    case MLNM_ISINF: return at::isinf(x);
    case MLNM_LOGICAL_NOT: return at::logical_not(x);
    case MLNM_CLONE: return x.clone();
    case MLNM_CONTIGUOUS: return x.contiguous();
    case MLNM_DETACH: return x.detach();
    case MLNM_ZEROS_LIKE: return at::zeros_like(x);
    case MLNM_ONES_LIKE: return at::ones_like(x);
    case MLNM_RAND_LIKE: return at::rand_like(x);
    case MLNM_RANDN_LIKE: return at::randn_like(x);
    case MLNM_ERF: return at::erf(x);
    case MLNM_LOG2: return at::log2(x);
    case MLNM_LOG10: return at::log10(x);
    case MLNM_TRUNC: return at::trunc(x);
    default: throw std::invalid_argument("unknown unary op " + std::to_string(op));
  }
}

void unary_inplace(int32_t op, at::Tensor& x) {
  switch (op) {
    case MLNM_NEG: x.neg_(); break;
    case MLNM_EXP: x.exp_(); break;
    case MLNM_LOG: x.log_(); break;
    case MLNM_SQRT: x.sqrt_(); break;
    case MLNM_RSQRT: x.rsqrt_(); break;
    case MLNM_ABS: x.abs_(); break;
    case MLNM_SIGN: x.sign_(); break;
    case MLNM_SIGMOID: x.sigmoid_(); break;
    case MLNM_TANH: x.tanh_(); break;
    case MLNM_RELU: x.relu_(); break;
    case MLNM_FLOOR: x.floor_(); break;
    case MLNM_CEIL: x.ceil_(); break;
    case MLNM_ROUND: x.round_(); break;
    case MLNM_SIN: x.sin_(); break;
    case MLNM_COS: x.cos_(); break;
    case MLNM_LOG1P: x.log1p_(); break;
    case MLNM_EXPM1: x.expm1_(); break;
    case MLNM_RECIPROCAL: x.reciprocal_(); break;
    case MLNM_SQUARE: x.square_(); break;
    case MLNM_LOGICAL_NOT: x.logical_not_(); break;
    case MLNM_DETACH: x.detach_(); break;
    case MLNM_ZEROS_LIKE: x.zero_(); break;
    case MLNM_ONES_LIKE: x.fill_(1); break;
    case MLNM_RAND_LIKE: x.uniform_(); break;
    case MLNM_RANDN_LIKE: x.normal_(); break;
    case MLNM_ERF: x.erf_(); break;
    case MLNM_LOG2: x.log2_(); break;
    case MLNM_LOG10: x.log10_(); break;
    case MLNM_TRUNC: x.trunc_(); break;
    default: throw std::invalid_argument("unary op " + std::to_string(op) + " has no in-place form");
  }
}

at::Tensor binary(int32_t op, const at::Tensor& a, const at::Tensor& b) {
  switch (op) {
    case MLNM_ADD: return at::add(a, b);
    case MLNM_SUB: return at::sub(a, b);
    case MLNM_MUL: return at::mul(a, b);
    case MLNM_DIV: return at::div(a, b);
    case MLNM_POW: return at::pow(a, b);
    case MLNM_REMAINDER: return at::remainder(a, b);
    case MLNM_MAXIMUM: return at::maximum(a, b);
    case MLNM_MINIMUM: return at::minimum(a, b);
    case MLNM_EQ: return at::eq(a, b);
    case MLNM_NE: return at::ne(a, b);
    case MLNM_LT: return at::lt(a, b);
    case MLNM_LE: return at::le(a, b);
    case MLNM_GT: return at::gt(a, b);
    case MLNM_GE: return at::ge(a, b);
    case MLNM_LOGICAL_AND: return at::logical_and(a, b);
    case MLNM_LOGICAL_OR: return at::logical_or(a, b);
    case MLNM_LOGICAL_XOR: return at::logical_xor(a, b);
    case MLNM_MATMUL: return at::matmul(a, b);
    case MLNM_MM: return at::mm(a, b);
    case MLNM_BMM: return at::bmm(a, b);
    case MLNM_ATAN2: return at::atan2(a, b);
    case MLNM_FLOOR_DIVIDE: return at::floor_divide(a, b);
    default: throw std::invalid_argument("unknown tensor-tensor op " + std::to_string(op));
  }
}

void binary_inplace(int32_t op, at::Tensor& a, const at::Tensor& b) {
  switch (op) {
    case MLNM_ADD: a.add_(b); break;
    case MLNM_SUB: a.sub_(b); break;
    case MLNM_MUL: a.mul_(b); break;
    case MLNM_DIV: a.div_(b); break;
    case MLNM_POW: a.pow_(b); break;
    case MLNM_REMAINDER: a.remainder_(b); break;
    case MLNM_EQ: a.eq_(b); break;
    case MLNM_NE: a.ne_(b); break;
    case MLNM_LT: a.lt_(b); break;
    case MLNM_LE: a.le_(b); break;
    case MLNM_GT: a.gt_(b); break;
    case MLNM_GE: a.ge_(b); break;
    case MLNM_LOGICAL_AND: a.logical_and_(b); break;
    case MLNM_LOGICAL_OR: a.logical_or_(b); break;
    case MLNM_LOGICAL_XOR: a.logical_xor_(b); break;
    case MLNM_ATAN2: a.atan2_(b); break;
    case MLNM_FLOOR_DIVIDE: a.floor_divide_(b); break;
    default: throw std::invalid_argument("tensor-tensor op " + std::to_string(op) + " has no in-place form");
  }
}

at::Tensor binary_scalar(int32_t op, const at::Tensor& a, const at::Scalar& s) {
  switch (op) {
    case MLNM_ADD: return at::add(a, s);
    case MLNM_SUB: return at::sub(a, s);
    case MLNM_MUL: return at::mul(a, s);
    case MLNM_DIV: return at::div(a, s);
    case MLNM_POW: return at::pow(a, s);
    case MLNM_REMAINDER: return at::remainder(a, s);
    case MLNM_MAXIMUM: return at::clamp_min(a, s);
    case MLNM_MINIMUM: return at::clamp_max(a, s);
    case MLNM_EQ: return at::eq(a, s);
    case MLNM_NE: return at::ne(a, s);
    case MLNM_LT: return at::lt(a, s);
    case MLNM_LE: return at::le(a, s);
    case MLNM_GT: return at::gt(a, s);
    case MLNM_GE: return at::ge(a, s);
    case MLNM_FLOOR_DIVIDE: return at::floor_divide(a, s);
    case MLNM_RSUB: return at::rsub(a, s);
    case MLNM_RDIV: return at::mul(at::reciprocal(a), s);
    case MLNM_RPOW: return at::pow(s, a);
    default: throw std::invalid_argument("op " + std::to_string(op) + " has no tensor-scalar form");
  }
}

void binary_scalar_inplace(int32_t op, at::Tensor& a, const at::Scalar& s) {
  switch (op) {
    case MLNM_ADD: a.add_(s); break;
    case MLNM_SUB: a.sub_(s); break;
    case MLNM_MUL: a.mul_(s); break;
    case MLNM_DIV: a.div_(s); break;
    case MLNM_POW: a.pow_(s); break;
    case MLNM_REMAINDER: a.remainder_(s); break;
    case MLNM_MAXIMUM: a.clamp_min_(s); break;
    case MLNM_MINIMUM: a.clamp_max_(s); break;
    case MLNM_EQ: a.eq_(s); break;
    case MLNM_NE: a.ne_(s); break;
    case MLNM_LT: a.lt_(s); break;
    case MLNM_LE: a.le_(s); break;
    case MLNM_GT: a.gt_(s); break;
    case MLNM_GE: a.ge_(s); break;
    case MLNM_FLOOR_DIVIDE: a.floor_divide_(s); break;
    default: throw std::invalid_argument("op " + std::to_string(op) + " has no in-place tensor-scalar form");
  }
}

}  // namespace

extern "C" {

MLNM_API mlnm_status mlnm_unary(int32_t op, mlnm_tensor x, mlnm_tensor* out) {
  return guarded([&] { put(out, unary(op, unwrap(x))); });
}

MLNM_API mlnm_status mlnm_unary_(int32_t op, mlnm_tensor x) {
  return guarded([&] { unary_inplace(op, unwrap(x)); });
}

MLNM_API mlnm_status mlnm_binary(int32_t op, mlnm_tensor a, mlnm_tensor b, mlnm_tensor* out) {
  return guarded([&] { put(out, binary(op, unwrap(a), unwrap(b))); });
}

MLNM_API mlnm_status mlnm_binary_(int32_t op, mlnm_tensor a, mlnm_tensor b) {
  return guarded([&] { binary_inplace(op, unwrap(a), unwrap(b)); });
}

MLNM_API mlnm_status mlnm_binary_scalar(int32_t op, mlnm_tensor a, double value, int32_t integral, mlnm_tensor* out) {
  return guarded([&] { put(out, binary_scalar(op, unwrap(a), scalar(value, integral))); });
}

MLNM_API mlnm_status mlnm_binary_scalar_(int32_t op, mlnm_tensor a, double value, int32_t integral) {
  return guarded([&] { binary_scalar_inplace(op, unwrap(a), scalar(value, integral)); });
}

// a + alpha * b and a - alpha * b (the optimizer update form); in-place when out is null.
MLNM_API mlnm_status mlnm_add_scaled(mlnm_tensor a, mlnm_tensor b, double alpha, int32_t alpha_integral,
                                     int32_t subtract, mlnm_tensor* out) {
  return guarded([&] {
    auto& x = unwrap(a);
    auto s = scalar(subtract ? -alpha : alpha, alpha_integral);
    if (out == nullptr) x.add_(unwrap(b), s);
    else put(out, at::add(x, unwrap(b), s));
  });
}

// self + value * t1 * t2 (divide = 0) or self + value * t1 / t2 (divide = 1); in-place when out is null.
MLNM_API mlnm_status mlnm_addcmul(mlnm_tensor self, mlnm_tensor t1, mlnm_tensor t2, double value, int32_t divide,
                                  mlnm_tensor* out) {
  return guarded([&] {
    auto& x = unwrap(self);
    if (divide) {
      if (out == nullptr) x.addcdiv_(unwrap(t1), unwrap(t2), value);
      else put(out, at::addcdiv(x, unwrap(t1), unwrap(t2), value));
    } else {
      if (out == nullptr) x.addcmul_(unwrap(t1), unwrap(t2), value);
      else put(out, at::addcmul(x, unwrap(t1), unwrap(t2), value));
    }
  });
}

// self + weight * (end - self); in-place when out is null (EMA updates).
MLNM_API mlnm_status mlnm_lerp(mlnm_tensor self, mlnm_tensor end, double weight, mlnm_tensor* out) {
  return guarded([&] {
    auto& x = unwrap(self);
    if (out == nullptr) x.lerp_(unwrap(end), weight);
    else put(out, at::lerp(x, unwrap(end), weight));
  });
}

// Clamps to [min, max]; a bound is ignored when its has_ flag is 0. In-place when out is null.
MLNM_API mlnm_status mlnm_clamp(mlnm_tensor t, double min, int32_t has_min, double max, int32_t has_max,
                                int32_t integral, mlnm_tensor* out) {
  return guarded([&] {
    if (!has_min && !has_max) throw std::invalid_argument("clamp needs a min, a max or both");
    auto& x = unwrap(t);
    c10::optional<at::Scalar> lo = has_min ? c10::optional<at::Scalar>(scalar(min, integral)) : c10::nullopt;
    c10::optional<at::Scalar> hi = has_max ? c10::optional<at::Scalar>(scalar(max, integral)) : c10::nullopt;
    if (out == nullptr) x.clamp_(lo, hi);
    else put(out, at::clamp(x, lo, hi));
  });
}

MLNM_API mlnm_status mlnm_fill_(mlnm_tensor t, double value, int32_t integral) {
  return guarded([&] { unwrap(t).fill_(scalar(value, integral)); });
}

MLNM_API mlnm_status mlnm_copy_(mlnm_tensor dst, mlnm_tensor src) {
  return guarded([&] { unwrap(dst).copy_(unwrap(src)); });
}

// softmax (log = 0) or log_softmax (log = 1) along dim.
MLNM_API mlnm_status mlnm_softmax(mlnm_tensor t, int64_t dim, int32_t log, mlnm_tensor* out) {
  return guarded([&] {
    auto& x = unwrap(t);
    put(out, log ? at::log_softmax(x, dim) : at::softmax(x, dim));
  });
}

// where(condition, a, b): elements of a where condition is true, else of b.
MLNM_API mlnm_status mlnm_where(mlnm_tensor condition, mlnm_tensor a, mlnm_tensor b, mlnm_tensor* out) {
  return guarded([&] { put(out, at::where(unwrap(condition), unwrap(a), unwrap(b))); });
}

// masked_fill with a scalar; in-place when out is null.
MLNM_API mlnm_status mlnm_masked_fill(mlnm_tensor t, mlnm_tensor mask, double value, int32_t integral, mlnm_tensor* out) {
  return guarded([&] {
    auto& x = unwrap(t);
    if (out == nullptr) x.masked_fill_(unwrap(mask), scalar(value, integral));
    else put(out, at::masked_fill(x, unwrap(mask), scalar(value, integral)));
  });
}

MLNM_API mlnm_status mlnm_allclose(mlnm_tensor a, mlnm_tensor b, double rtol, double atol, int32_t* out) {
  return guarded([&] { *out = at::allclose(unwrap(a), unwrap(b), rtol, atol) ? 1 : 0; });
}

}  // extern "C"
