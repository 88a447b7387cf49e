#include "shim.h"

#include <torch/cuda.h>

namespace {
thread_local std::string last_error;
}

namespace mlnm {

void set_last_error(const char* message) { last_error = message ? message : ""; }

at::ScalarType to_scalar_type(int32_t code) {
  switch (static_cast<at::ScalarType>(code)) {
    case at::kByte: case at::kChar: case at::kShort: case at::kInt: case at::kLong:
    case at::kHalf: case at::kFloat: case at::kDouble: case at::kBool: case at::kBFloat16:
      return static_cast<at::ScalarType>(code);
    default:
      throw std::invalid_argument("unsupported dtype code " + std::to_string(code));
  }
}

at::Device to_device(int32_t device_type, int32_t device_index) {
  if (device_type != static_cast<int32_t>(at::kCPU) && device_type != static_cast<int32_t>(at::kCUDA))
    throw std::invalid_argument("unsupported device type " + std::to_string(device_type) + " (expected cpu or cuda)");
  if (device_index < -1) throw std::invalid_argument("device index must be >= -1");
  if (device_type == static_cast<int32_t>(at::kCUDA)) {
    static const int64_t cuda_devices = torch::cuda::is_available() ? static_cast<int64_t>(torch::cuda::device_count()) : 0;
    if (cuda_devices == 0)
      throw std::invalid_argument("cuda was requested but the linked libtorch has no CUDA support or sees no CUDA device; "
                                  "use cpu, or build the shim against a CUDA libtorch (MLNM_TORCH_PREFIX)");
    if (device_index >= cuda_devices)
      throw std::invalid_argument("cuda:" + std::to_string(device_index) + " was requested but only " +
                                  std::to_string(cuda_devices) + " CUDA device(s) are visible");
  }
  return at::Device(static_cast<at::DeviceType>(device_type), static_cast<at::DeviceIndex>(device_index));
}

}  // namespace mlnm

extern "C" MLNM_API const char* mlnm_last_error(void) { return last_error.c_str(); }
