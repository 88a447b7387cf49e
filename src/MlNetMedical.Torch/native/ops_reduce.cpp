// Reductions over all or some dimensions.
#include "shim.h"

using namespace mlnm;

extern "C" {

// Reduces over dims (all dims when has_dims is 0). For STD/VAR, correction is the degrees-of-freedom
// correction (1 = unbiased, as torch's default); other ops ignore it.
MLNM_API mlnm_status mlnm_reduce(int32_t op, mlnm_tensor t, const int64_t* dim_values, int64_t ndims, int32_t has_dims,
                                 int32_t keepdim, int64_t correction, mlnm_tensor* out) {
  return guarded([&] {
    auto& x = unwrap(t);
    bool keep = keepdim != 0;
    auto d = optional_dims(dim_values, ndims, has_dims);
    at::IntArrayRef all_or_some = has_dims ? dims(dim_values, ndims) : at::IntArrayRef();
    at::Tensor r;
    switch (op) {
      case MLNM_SUM: r = at::sum(x, d, keep); break;
      case MLNM_NANSUM: r = at::nansum(x, all_or_some, keep); break;
      case MLNM_MEAN: r = at::mean(x, d, keep); break;
      case MLNM_AMAX: r = at::amax(x, all_or_some, keep); break;
      case MLNM_AMIN: r = at::amin(x, all_or_some, keep); break;
      case MLNM_STD: r = at::std(x, d, c10::optional<int64_t>(correction), keep); break;
      case MLNM_VAR: r = at::var(x, d, c10::optional<int64_t>(correction), keep); break;
      case MLNM_LOGSUMEXP: {
        if (!has_dims) {
          std::vector<int64_t> every(static_cast<size_t>(x.dim()));
          for (size_t i = 0; i < every.size(); ++i) every[i] = static_cast<int64_t>(i);
          r = at::logsumexp(x, every, keep);
        } else {
          r = at::logsumexp(x, all_or_some, keep);
        }
        break;
      }
      case MLNM_PROD:
      case MLNM_ALL:
      case MLNM_ANY: {
        // libtorch reduces these over one dim at a time.
        if (!has_dims) {
          r = op == MLNM_PROD ? at::prod(x) : op == MLNM_ALL ? at::all(x) : at::any(x);
          if (keep) r = r.reshape(std::vector<int64_t>(static_cast<size_t>(x.dim()), 1));
        } else {
          if (ndims != 1) throw std::invalid_argument("prod, all and any reduce over exactly one dim");
          int64_t dim = dim_values[0];
          r = op == MLNM_PROD ? at::prod(x, dim, keep) : op == MLNM_ALL ? at::all(x, dim, keep) : at::any(x, dim, keep);
        }
        break;
      }
      default: throw std::invalid_argument("unknown reduction " + std::to_string(op));
    }
    put(out, r);
  });
}

// p-norm over dims (all when has_dims is 0).
MLNM_API mlnm_status mlnm_norm(mlnm_tensor t, double p, const int64_t* dim_values, int64_t ndims, int32_t has_dims,
                               int32_t keepdim, mlnm_tensor* out) {
  return guarded([&] {
    auto& x = unwrap(t);
    if (!has_dims && !keepdim) put(out, at::norm(x, p));
    else {
      std::vector<int64_t> d;
      if (has_dims) d.assign(dim_values, dim_values + ndims);
      else for (int64_t i = 0; i < x.dim(); ++i) d.push_back(i);
      put(out, at::norm(x, p, d, keepdim != 0));
    }
  });
}

// max (is_min = 0) or min along dim: values and their indices.
MLNM_API mlnm_status mlnm_max_dim(mlnm_tensor t, int64_t dim, int32_t keepdim, int32_t is_min, mlnm_tensor* values,
                                  mlnm_tensor* indices) {
  return guarded([&] {
    auto r = is_min ? at::min(unwrap(t), dim, keepdim != 0) : at::max(unwrap(t), dim, keepdim != 0);
    if (values == nullptr || indices == nullptr) throw std::invalid_argument("null output pointer");
    *values = wrap(std::get<0>(r));
    *indices = wrap(std::get<1>(r));
  });
}

// argmax (is_min = 0) or argmin; over the flattened tensor when has_dim is 0.
MLNM_API mlnm_status mlnm_argmax(mlnm_tensor t, int64_t dim, int32_t has_dim, int32_t keepdim, int32_t is_min,
                                 mlnm_tensor* out) {
  return guarded([&] {
    c10::optional<int64_t> d = has_dim ? c10::optional<int64_t>(dim) : c10::nullopt;
    put(out, is_min ? at::argmin(unwrap(t), d, keepdim != 0) : at::argmax(unwrap(t), d, keepdim != 0));
  });
}

}  // extern "C"
