// Process-wide runtime settings: threads, seeds, versions, CUDA.
#include "shim.h"

#include <ATen/Parallel.h>
#include <torch/version.h>
#include <ATen/Context.h>
#include <cstring>

using namespace mlnm;

extern "C" {

MLNM_API mlnm_status mlnm_set_num_threads(int32_t n) {
  return guarded([&] {
    if (n < 1) throw std::invalid_argument("thread count must be >= 1, got " + std::to_string(n));
    at::set_num_threads(n);
  });
}

MLNM_API mlnm_status mlnm_get_num_threads(int32_t* out) {
  return guarded([&] { *out = at::get_num_threads(); });
}

// Writes the libtorch version ("1.13.1") into buf as a NUL-terminated string.
MLNM_API mlnm_status mlnm_version(char* buf, int32_t capacity) {
  return guarded([&] {
    std::string v = std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
                    std::to_string(TORCH_VERSION_PATCH);
    if (capacity < 1) throw std::invalid_argument("buffer too small");
    std::strncpy(buf, v.c_str(), static_cast<size_t>(capacity - 1));
    buf[capacity - 1] = '\0';
  });
}

}  // extern "C"
