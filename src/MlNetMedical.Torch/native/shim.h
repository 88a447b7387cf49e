// Internal helpers shared by the shim's translation units: error capture and handle conversion.
#pragma once
#include "mlnm.h"

#include <ATen/ATen.h>
#include <atomic>
#include <stdexcept>
#include <string>
#include <vector>

namespace mlnm {

void set_last_error(const char* message);

// Runs body, turning any C++ exception into a status plus the thread-local message.
template <typename F>
inline mlnm_status guarded(F&& body) noexcept {
  try {
    body();
    return 0;
  } catch (const c10::Error& e) {
    set_last_error(e.what_without_backtrace());
  } catch (const std::exception& e) {
    set_last_error(e.what());
  } catch (...) {
    set_last_error("unknown C++ exception in the libtorch shim");
  }
  return 1;
}

inline at::Tensor& unwrap(mlnm_tensor handle) {
  if (handle == nullptr) throw std::invalid_argument("null tensor handle");
  return *reinterpret_cast<at::Tensor*>(handle);
}

// Handles alive now (created by wrap, not yet freed): lets tests catch leaked handles exactly.
extern std::atomic<int64_t> live_handles;

inline mlnm_tensor wrap(at::Tensor tensor) {
  auto handle = reinterpret_cast<mlnm_tensor>(new at::Tensor(std::move(tensor)));
  live_handles.fetch_add(1, std::memory_order_relaxed);
  return handle;
}

// Writes a new handle to *out; checks the out pointer first so nothing leaks on a null.
inline void put(mlnm_tensor* out, at::Tensor tensor) {
  if (out == nullptr) throw std::invalid_argument("null output pointer");
  *out = wrap(std::move(tensor));
}

inline at::IntArrayRef dims(const int64_t* values, int64_t count) {
  if (count < 0) throw std::invalid_argument("negative dimension count");
  if (count > 0 && values == nullptr) throw std::invalid_argument("null dimension array");
  return at::IntArrayRef(values, static_cast<size_t>(count));
}

at::ScalarType to_scalar_type(int32_t code);
at::Device to_device(int32_t device_type, int32_t device_index);

inline at::TensorOptions options(int32_t dtype, int32_t device_type, int32_t device_index, int32_t requires_grad) {
  return at::TensorOptions()
      .dtype(to_scalar_type(dtype))
      .device(to_device(device_type, device_index))
      .requires_grad(requires_grad != 0);
}

// A scalar from C#: integral scalars keep integer semantics (int tensor + 1 stays int, as in PyTorch).
inline at::Scalar scalar(double value, int32_t integral) {
  return integral ? at::Scalar(static_cast<int64_t>(value)) : at::Scalar(value);
}

// Dims for reductions: has_dims == 0 means "all dimensions".
inline at::OptionalIntArrayRef optional_dims(const int64_t* values, int64_t count, int32_t has_dims) {
  if (!has_dims) return c10::nullopt;
  return dims(values, count);
}

// The handles in a C array, as tensors (for cat, stack, ...).
inline std::vector<at::Tensor> unwrap_all(const mlnm_tensor* handles, int64_t count) {
  if (count < 0 || (count > 0 && handles == nullptr)) throw std::invalid_argument("invalid tensor array");
  std::vector<at::Tensor> result;
  result.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) result.push_back(unwrap(handles[i]));
  return result;
}

// Writes tensors to out[0..count), failing before anything is written when capacity is too small.
inline void put_all(const std::vector<at::Tensor>& tensors, mlnm_tensor* out, int64_t capacity, int64_t* count) {
  if (static_cast<int64_t>(tensors.size()) > capacity)
    throw std::invalid_argument("result has " + std::to_string(tensors.size()) + " tensors but room for " +
                                std::to_string(capacity));
  for (size_t i = 0; i < tensors.size(); ++i) out[i] = wrap(tensors[i]);
  *count = static_cast<int64_t>(tensors.size());
}

}  // namespace mlnm
