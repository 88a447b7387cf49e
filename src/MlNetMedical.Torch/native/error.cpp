#include "shim.h"

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
  return at::Device(static_cast<at::DeviceType>(device_type), static_cast<at::DeviceIndex>(device_index));
}

}  // namespace mlnm

extern "C" MLNM_API const char* mlnm_last_error(void) { return last_error.c_str(); }
