// The C ABI of the libtorch shim used by MlNetMedical.Torch.
//
// Conventions (every exported function follows them):
//  - Tensors cross the ABI as opaque handles (mlnm_tensor) that own one heap-allocated at::Tensor.
//    A handle is released with mlnm_tensor_free, exactly once.
//  - Every function returns an mlnm_status: 0 on success, non-zero on failure. On failure the
//    thread-local message from mlnm_last_error() holds libtorch's explanation. No C++ exception
//    ever crosses the ABI.
//  - Results come back through out-parameters, which are written only on success.
//  - Enums are plain int32: dtype codes are c10::ScalarType values, device types c10::DeviceType.
#pragma once
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MLNM_API __attribute__((visibility("default")))

typedef struct mlnm_tensor_s* mlnm_tensor;
typedef int32_t mlnm_status;

// Message of the last failed call on this thread ("" when none). Valid until the next call on this thread.
MLNM_API const char* mlnm_last_error(void);

#ifdef __cplusplus
}
#endif
