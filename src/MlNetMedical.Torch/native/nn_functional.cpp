// Functional forms of the nn layers. Each one calls the matching at:: op, so forward and backward
// are libtorch's own. Spatial ops accept 1, 2 or 3 spatial dims (chosen by the caller's arrays).
#include "nn_shim.h"

using namespace mlnm;

namespace {

void check_spatial(int64_t n) {
  if (n < 1 || n > 3) throw std::invalid_argument("spatial dims must be 1, 2 or 3, got " + std::to_string(n));
}

}  // namespace

extern "C" {

// Convolution or transposed convolution; all int arrays hold n entries (n = spatial dims).
MLNM_API mlnm_status mlnm_nn_conv(mlnm_tensor input, mlnm_tensor weight, mlnm_tensor bias, const int64_t* stride,
                                  const int64_t* padding, const int64_t* dilation, int64_t n, int32_t transposed,
                                  const int64_t* output_padding, int64_t groups, mlnm_tensor* out) {
  return guarded([&] {
    check_spatial(n);
    std::vector<int64_t> zero(static_cast<size_t>(n), 0);
    auto op = output_padding ? dims(output_padding, n) : at::IntArrayRef(zero);
    put(out, at::convolution(unwrap(input), unwrap(weight), optional_tensor(bias), dims(stride, n), dims(padding, n),
                             dims(dilation, n), transposed != 0, op, groups));
  });
}

MLNM_API mlnm_status mlnm_nn_max_pool(mlnm_tensor input, const int64_t* kernel, const int64_t* stride,
                                      const int64_t* padding, const int64_t* dilation, int64_t n, int32_t ceil_mode,
                                      mlnm_tensor* out) {
  return guarded([&] {
    check_spatial(n);
    auto& x = unwrap(input);
    auto k = dims(kernel, n), s = dims(stride, n), p = dims(padding, n), d = dims(dilation, n);
    bool c = ceil_mode != 0;
    put(out, n == 1 ? at::max_pool1d(x, k, s, p, d, c) : n == 2 ? at::max_pool2d(x, k, s, p, d, c) : at::max_pool3d(x, k, s, p, d, c));
  });
}

MLNM_API mlnm_status mlnm_nn_avg_pool(mlnm_tensor input, const int64_t* kernel, const int64_t* stride,
                                      const int64_t* padding, int64_t n, int32_t ceil_mode, int32_t count_include_pad,
                                      mlnm_tensor* out) {
  return guarded([&] {
    check_spatial(n);
    auto& x = unwrap(input);
    auto k = dims(kernel, n), s = dims(stride, n), p = dims(padding, n);
    bool c = ceil_mode != 0, cip = count_include_pad != 0;
    put(out, n == 1 ? at::avg_pool1d(x, k, s, p, c, cip) : n == 2 ? at::avg_pool2d(x, k, s, p, c, cip) : at::avg_pool3d(x, k, s, p, c, cip));
  });
}

MLNM_API mlnm_status mlnm_nn_adaptive_pool(mlnm_tensor input, const int64_t* output_size, int64_t n, int32_t max,
                                           mlnm_tensor* out) {
  return guarded([&] {
    check_spatial(n);
    auto& x = unwrap(input);
    auto o = dims(output_size, n);
    if (max != 0)
      put(out, std::get<0>(n == 1 ? at::adaptive_max_pool1d(x, o) : n == 2 ? at::adaptive_max_pool2d(x, o) : at::adaptive_max_pool3d(x, o)));
    else
      put(out, n == 1 ? at::adaptive_avg_pool1d(x, o) : n == 2 ? at::adaptive_avg_pool2d(x, o) : at::adaptive_avg_pool3d(x, o));
  });
}

MLNM_API mlnm_status mlnm_nn_batch_norm(mlnm_tensor input, mlnm_tensor weight, mlnm_tensor bias, mlnm_tensor running_mean,
                                        mlnm_tensor running_var, int32_t training, double momentum, double eps,
                                        mlnm_tensor* out) {
  return guarded([&] {
    put(out, at::batch_norm(unwrap(input), optional_tensor(weight), optional_tensor(bias), optional_tensor(running_mean),
                            optional_tensor(running_var), training != 0, momentum, eps, true));
  });
}

MLNM_API mlnm_status mlnm_nn_instance_norm(mlnm_tensor input, mlnm_tensor weight, mlnm_tensor bias,
                                           mlnm_tensor running_mean, mlnm_tensor running_var, int32_t use_input_stats,
                                           double momentum, double eps, mlnm_tensor* out) {
  return guarded([&] {
    put(out, at::instance_norm(unwrap(input), optional_tensor(weight), optional_tensor(bias), optional_tensor(running_mean),
                               optional_tensor(running_var), use_input_stats != 0, momentum, eps, true));
  });
}

MLNM_API mlnm_status mlnm_nn_group_norm(mlnm_tensor input, int64_t groups, mlnm_tensor weight, mlnm_tensor bias, double eps,
                                        mlnm_tensor* out) {
  return guarded([&] {
    put(out, at::group_norm(unwrap(input), groups, optional_tensor(weight), optional_tensor(bias), eps, true));
  });
}

MLNM_API mlnm_status mlnm_nn_layer_norm(mlnm_tensor input, const int64_t* normalized_shape, int64_t n, mlnm_tensor weight,
                                        mlnm_tensor bias, double eps, mlnm_tensor* out) {
  return guarded([&] {
    put(out, at::layer_norm(unwrap(input), dims(normalized_shape, n), optional_tensor(weight), optional_tensor(bias), eps, true));
  });
}

// feature != 0 drops whole channels (Dropout2d/3d style).
MLNM_API mlnm_status mlnm_nn_dropout(mlnm_tensor input, double p, int32_t training, int32_t feature, mlnm_tensor* out) {
  return guarded([&] {
    if (p < 0 || p > 1) throw std::invalid_argument("dropout probability must be in [0, 1], got " + std::to_string(p));
    auto& x = unwrap(input);
    put(out, feature != 0 ? at::feature_dropout(x, p, training != 0) : at::dropout(x, p, training != 0));
  });
}

// Either size (n entries) or scale (n entries) is given; mode 0 = nearest, 1 = (bi/tri)linear.
MLNM_API mlnm_status mlnm_nn_upsample(mlnm_tensor input, const int64_t* size, const double* scale, int64_t n, int32_t mode,
                                      int32_t align_corners, mlnm_tensor* out) {
  return guarded([&] {
    check_spatial(n);
    auto& x = unwrap(input);
    if (x.dim() != n + 2)
      throw std::invalid_argument("upsample expects input of " + std::to_string(n + 2) + " dims (N, C, spatial...), got " +
                                  std::to_string(x.dim()));
    if ((size == nullptr) == (scale == nullptr)) throw std::invalid_argument("give exactly one of size and scale");
    at::OptionalIntArrayRef o = size ? at::OptionalIntArrayRef(dims(size, n)) : c10::nullopt;
    c10::optional<at::ArrayRef<double>> sf;
    if (scale) sf = at::ArrayRef<double>(scale, static_cast<size_t>(n));
    bool ac = align_corners != 0;
    if (mode == 0) {
      if (ac) throw std::invalid_argument("align_corners applies only to linear upsampling");
      put(out, n == 1 ? at::upsample_nearest1d(x, o, sf) : n == 2 ? at::upsample_nearest2d(x, o, sf) : at::upsample_nearest3d(x, o, sf));
    } else if (mode == 1) {
      put(out, n == 1 ? at::upsample_linear1d(x, o, ac, sf) : n == 2 ? at::upsample_bilinear2d(x, o, ac, sf) : at::upsample_trilinear3d(x, o, ac, sf));
    } else {
      throw std::invalid_argument("upsample mode must be 0 (nearest) or 1 (linear), got " + std::to_string(mode));
    }
  });
}

MLNM_API mlnm_status mlnm_nn_linear(mlnm_tensor input, mlnm_tensor weight, mlnm_tensor bias, mlnm_tensor* out) {
  return guarded([&] { put(out, at::linear(unwrap(input), unwrap(weight), optional_tensor(bias))); });
}

// Activations engine-core does not provide as tensor methods. kind: 0 leaky_relu(param = slope),
// 1 gelu (param != 0: tanh approximation), 2 elu(alpha = param), 3 silu.
MLNM_API mlnm_status mlnm_nn_activation(mlnm_tensor input, int32_t kind, double param, mlnm_tensor* out) {
  return guarded([&] {
    auto& x = unwrap(input);
    switch (kind) {
      case 0: put(out, at::leaky_relu(x, param)); break;
      case 1: put(out, at::gelu(x, param != 0 ? "tanh" : "none")); break;
      case 2: put(out, at::elu(x, param)); break;
      case 3: put(out, at::silu(x)); break;
      default: throw std::invalid_argument("unknown activation kind " + std::to_string(kind));
    }
  });
}

MLNM_API mlnm_status mlnm_nn_prelu(mlnm_tensor input, mlnm_tensor weight, mlnm_tensor* out) {
  return guarded([&] { put(out, at::prelu(unwrap(input), unwrap(weight))); });
}

// theta: (N, 2, 3) for 2D or (N, 3, 4) for 3D; size: (N, C, H, W) or (N, C, D, H, W).
MLNM_API mlnm_status mlnm_nn_affine_grid(mlnm_tensor theta, const int64_t* size, int64_t n, int32_t align_corners,
                                         mlnm_tensor* out) {
  return guarded([&] {
    if (n != 4 && n != 5) throw std::invalid_argument("affine_grid size must have 4 (2D) or 5 (3D) entries, got " + std::to_string(n));
    auto& t = unwrap(theta);
    int64_t sd = n - 2;
    if (t.dim() != 3 || t.size(1) != sd || t.size(2) != sd + 1)
      throw std::invalid_argument("affine_grid theta must have shape (N, " + std::to_string(sd) + ", " + std::to_string(sd + 1) + ")");
    put(out, at::affine_grid_generator(t, dims(size, n), align_corners != 0));
  });
}

// mode: 0 bilinear, 1 nearest, 2 bicubic (2D only); padding: 0 zeros, 1 border, 2 reflection.
MLNM_API mlnm_status mlnm_nn_grid_sample(mlnm_tensor input, mlnm_tensor grid, int32_t mode, int32_t padding_mode,
                                         int32_t align_corners, mlnm_tensor* out) {
  return guarded([&] {
    if (mode < 0 || mode > 2) throw std::invalid_argument("grid_sample mode must be 0 (bilinear), 1 (nearest) or 2 (bicubic)");
    if (padding_mode < 0 || padding_mode > 2) throw std::invalid_argument("grid_sample padding must be 0 (zeros), 1 (border) or 2 (reflection)");
    put(out, at::grid_sampler(unwrap(input), unwrap(grid), mode, padding_mode, align_corners != 0));
  });
}

}  // extern "C"
