// Helpers shared by the nn, loss and optim translation units.
#pragma once
#include "shim.h"

#include <string>

namespace mlnm {

// A nullable handle becomes an optional tensor (libtorch's "None").
inline c10::optional<at::Tensor> optional_tensor(mlnm_tensor handle) {
  if (handle == nullptr) return c10::nullopt;
  return unwrap(handle);
}

inline int64_t reduction_code(int32_t reduction) {
  if (reduction < 0 || reduction > 2)
    throw std::invalid_argument("reduction code must be 0 (none), 1 (mean) or 2 (sum), got " + std::to_string(reduction));
  return reduction;
}

inline at::Tensor reduce(const at::Tensor& values, int32_t reduction) {
  switch (reduction_code(reduction)) {
    case 0: return values;
    case 1: return values.mean();
    default: return values.sum();
  }
}

}  // namespace mlnm
