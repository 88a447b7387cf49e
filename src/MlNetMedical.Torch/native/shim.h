// Internal helpers shared by the shim's translation units: error capture and handle conversion.
#pragma once
#include "mlnm.h"

#include <ATen/ATen.h>
#include <stdexcept>
#include <string>

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

inline mlnm_tensor wrap(at::Tensor tensor) {
  return reinterpret_cast<mlnm_tensor>(new at::Tensor(std::move(tensor)));
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

}  // namespace mlnm
