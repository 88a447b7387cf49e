// Autograd: grad flags, backward, gradients, and the per-thread grad mode.
#include "shim.h"

#include <ATen/core/grad_mode.h>

using namespace mlnm;

extern "C" {

MLNM_API mlnm_status mlnm_requires_grad(mlnm_tensor t, int32_t* out) {
  return guarded([&] { *out = unwrap(t).requires_grad() ? 1 : 0; });
}

MLNM_API mlnm_status mlnm_set_requires_grad(mlnm_tensor t, int32_t value) {
  return guarded([&] { unwrap(t).requires_grad_(value != 0); });
}

MLNM_API mlnm_status mlnm_is_leaf(mlnm_tensor t, int32_t* out) {
  return guarded([&] { *out = unwrap(t).is_leaf() ? 1 : 0; });
}

MLNM_API mlnm_status mlnm_retain_grad(mlnm_tensor t) {
  return guarded([&] { unwrap(t).retain_grad(); });
}

// The accumulated gradient, or a null handle when there is none yet.
MLNM_API mlnm_status mlnm_grad(mlnm_tensor t, mlnm_tensor* out) {
  return guarded([&] {
    if (out == nullptr) throw std::invalid_argument("null output pointer");
    const auto& g = unwrap(t).grad();
    *out = g.defined() ? wrap(g) : nullptr;
  });
}

// Sets the gradient (null clears it, like setting .grad = None).
MLNM_API mlnm_status mlnm_set_grad(mlnm_tensor t, mlnm_tensor grad) {
  return guarded([&] { unwrap(t).mutable_grad() = grad == nullptr ? at::Tensor() : unwrap(grad); });
}

// Zeroes the gradient in place (set_to_none = 0) or drops it (set_to_none = 1); no-op without one.
MLNM_API mlnm_status mlnm_zero_grad(mlnm_tensor t, int32_t set_to_none) {
  return guarded([&] {
    auto& g = unwrap(t).mutable_grad();
    if (!g.defined()) return;
    if (set_to_none) g = at::Tensor();
    else {
      if (g.grad_fn()) g.detach_();
      else g.requires_grad_(false);
      g.zero_();
    }
  });
}

// Backpropagates from t; grad may be null for a scalar t.
MLNM_API mlnm_status mlnm_backward(mlnm_tensor t, mlnm_tensor grad, int32_t retain_graph, int32_t create_graph) {
  return guarded([&] {
    auto& x = unwrap(t);
    at::Tensor g = grad == nullptr ? at::Tensor() : unwrap(grad);
    c10::optional<bool> retain = retain_graph ? c10::optional<bool>(true) : c10::nullopt;
    x.backward(g, retain, create_graph != 0);
  });
}

// Sets this thread's grad mode and returns the previous one, so scopes can restore it (push/pop).
MLNM_API mlnm_status mlnm_set_grad_enabled(int32_t enabled, int32_t* previous) {
  return guarded([&] {
    if (previous != nullptr) *previous = at::GradMode::is_enabled() ? 1 : 0;
    at::GradMode::set_enabled(enabled != 0);
  });
}

MLNM_API mlnm_status mlnm_is_grad_enabled(int32_t* out) {
  return guarded([&] { *out = at::GradMode::is_enabled() ? 1 : 0; });
}

}  // extern "C"
