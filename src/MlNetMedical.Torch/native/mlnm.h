// The C ABI of the libtorch shim used by MlNetMedical.Torch.
//
// Conventions (every exported function follows them):
//  - Tensors cross the ABI as opaque handles (mlnm_tensor) that own one heap-allocated at::Tensor.
//    A handle is released with mlnm_tensor_free, exactly once.
//  - Every function returns an mlnm_status: 0 on success, non-zero on failure. On failure the
//    thread-local message from mlnm_last_error() holds libtorch's explanation. No C++ exception
//    ever crosses the ABI.
//  - Results come back through out-parameters, which are written only on success. Where a function says
//    so, a null result pointer selects the in-place form (e.g. mlnm_addcmul, mlnm_clamp, mlnm_scatter).
//  - Families of ops with one signature share one function and an op code (enums below), which keeps the
//    ABI small: mlnm_unary(MLNM_EXP, x, &out), mlnm_binary_scalar(MLNM_MUL, x, 2.0, 0, &out).
//  - Scalars are passed as (double value, int32 integral): integral scalars keep integer tensors integral.
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

// Operation codes for the op families that share one signature (ops_*.cpp). MlNetMedical.Torch
// mirrors them in Interop/NativeMethods.Ops.cs; append new codes at the end of a family.
enum mlnm_unary_op {
  MLNM_NEG = 0, MLNM_EXP, MLNM_LOG, MLNM_SQRT, MLNM_RSQRT, MLNM_ABS, MLNM_SIGN, MLNM_SIGMOID, MLNM_TANH,
  MLNM_RELU, MLNM_FLOOR, MLNM_CEIL, MLNM_ROUND, MLNM_SIN, MLNM_COS, MLNM_LOG1P, MLNM_EXPM1, MLNM_RECIPROCAL,
  MLNM_SQUARE, MLNM_ISNAN, MLNM_ISFINITE, MLNM_ISINF, MLNM_LOGICAL_NOT, MLNM_CLONE, MLNM_CONTIGUOUS,
  MLNM_DETACH, MLNM_ZEROS_LIKE, MLNM_ONES_LIKE, MLNM_RAND_LIKE, MLNM_RANDN_LIKE, MLNM_ERF, MLNM_LOG2, MLNM_LOG10,
  MLNM_TRUNC
};
enum mlnm_binary_op {
  MLNM_ADD = 0, MLNM_SUB, MLNM_MUL, MLNM_DIV, MLNM_POW, MLNM_REMAINDER, MLNM_MAXIMUM, MLNM_MINIMUM,
  MLNM_EQ, MLNM_NE, MLNM_LT, MLNM_LE, MLNM_GT, MLNM_GE, MLNM_LOGICAL_AND, MLNM_LOGICAL_OR, MLNM_LOGICAL_XOR,
  MLNM_MATMUL, MLNM_MM, MLNM_BMM, MLNM_ATAN2, MLNM_FLOOR_DIVIDE,
  // Scalar-only: scalar OP tensor.
  MLNM_RSUB, MLNM_RDIV, MLNM_RPOW
};
enum mlnm_reduce_op { MLNM_SUM = 0, MLNM_MEAN, MLNM_PROD, MLNM_AMAX, MLNM_AMIN, MLNM_LOGSUMEXP, MLNM_ALL, MLNM_ANY,
                      MLNM_STD, MLNM_VAR, MLNM_NANSUM };
enum mlnm_factory_op { MLNM_ZEROS = 0, MLNM_ONES, MLNM_EMPTY, MLNM_FULL, MLNM_RAND, MLNM_RANDN, MLNM_RANDINT };
enum mlnm_shape_op { MLNM_RESHAPE = 0, MLNM_VIEW, MLNM_PERMUTE, MLNM_EXPAND, MLNM_REPEAT, MLNM_FLIP, MLNM_SQUEEZE_DIMS,
                     MLNM_BROADCAST_TO };

#ifdef __cplusplus
}
#endif
