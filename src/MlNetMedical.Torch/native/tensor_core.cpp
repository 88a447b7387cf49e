// Tensor lifetime, metadata, and copying data in and out.
#include "shim.h"

#include <cstring>

using namespace mlnm;

namespace mlnm {
std::atomic<int64_t> live_handles{0};
}

extern "C" {

MLNM_API void mlnm_tensor_free(mlnm_tensor t) {
  if (t == nullptr) return;
  delete reinterpret_cast<at::Tensor*>(t);
  live_handles.fetch_sub(1, std::memory_order_relaxed);
}

MLNM_API int64_t mlnm_live_tensors(void) { return live_handles.load(std::memory_order_relaxed); }

MLNM_API mlnm_status mlnm_tensor_ndim(mlnm_tensor t, int64_t* out) {
  return guarded([&] { *out = unwrap(t).dim(); });
}

// Writes min(capacity, ndim) sizes into out and the dimension count into *ndim (one call for both).
MLNM_API mlnm_status mlnm_tensor_shape(mlnm_tensor t, int64_t* out, int64_t capacity, int64_t* ndim) {
  return guarded([&] {
    auto sizes = unwrap(t).sizes();
    for (int64_t i = 0; i < capacity && i < static_cast<int64_t>(sizes.size()); ++i) out[i] = sizes[i];
    *ndim = static_cast<int64_t>(sizes.size());
  });
}

MLNM_API mlnm_status mlnm_tensor_numel(mlnm_tensor t, int64_t* out) {
  return guarded([&] { *out = unwrap(t).numel(); });
}

MLNM_API mlnm_status mlnm_tensor_size(mlnm_tensor t, int64_t dim, int64_t* out) {
  return guarded([&] { *out = unwrap(t).size(dim); });
}

MLNM_API mlnm_status mlnm_tensor_dtype(mlnm_tensor t, int32_t* out) {
  return guarded([&] { *out = static_cast<int32_t>(unwrap(t).scalar_type()); });
}

MLNM_API mlnm_status mlnm_tensor_device(mlnm_tensor t, int32_t* type, int32_t* index) {
  return guarded([&] {
    auto d = unwrap(t).device();
    *type = static_cast<int32_t>(d.type());
    *index = d.index();
  });
}

// Copies nbytes from data into a new contiguous CPU tensor of the given shape and dtype,
// then moves it to the requested device.
MLNM_API mlnm_status mlnm_tensor_from_data(const void* data, int64_t nbytes, const int64_t* shape, int64_t ndim,
                                           int32_t dtype, int32_t device_type, int32_t device_index,
                                           mlnm_tensor* out) {
  return guarded([&] {
    auto options = at::TensorOptions().dtype(to_scalar_type(dtype));
    at::Tensor t = at::empty(dims(shape, ndim), options);
    int64_t expected = t.numel() * static_cast<int64_t>(t.element_size());
    if (expected != nbytes)
      throw std::invalid_argument("data holds " + std::to_string(nbytes) + " bytes but shape and dtype need " +
                                  std::to_string(expected));
    if (nbytes > 0) {
      if (data == nullptr) throw std::invalid_argument("null data pointer");
      std::memcpy(t.data_ptr(), data, static_cast<size_t>(nbytes));
    }
    put(out, t.to(to_device(device_type, device_index)));
  });
}

// Copies the tensor's elements (row-major, after moving to CPU) into data, which holds nbytes.
MLNM_API mlnm_status mlnm_tensor_copy_to(mlnm_tensor t, void* data, int64_t nbytes) {
  return guarded([&] {
    at::Tensor c = unwrap(t).detach().to(at::kCPU).contiguous();
    int64_t have = c.numel() * static_cast<int64_t>(c.element_size());
    if (have != nbytes)
      throw std::invalid_argument("destination holds " + std::to_string(nbytes) + " bytes but the tensor has " +
                                  std::to_string(have));
    if (nbytes > 0) std::memcpy(data, c.data_ptr(), static_cast<size_t>(nbytes));
  });
}

// Shape-based factories; a and b are the op's parameters (FULL: value; RANDINT: low, high).
MLNM_API mlnm_status mlnm_factory(int32_t op, const int64_t* shape, int64_t ndim, int32_t dtype, int32_t device_type,
                                  int32_t device_index, int32_t requires_grad, double a, int32_t a_integral, double b,
                                  mlnm_tensor* out) {
  return guarded([&] {
    auto size = dims(shape, ndim);
    // Random values are drawn without grad tracking; requires_grad is applied to the finished leaf.
    auto opts = options(dtype, device_type, device_index, 0);
    at::Tensor t;
    switch (op) {
      case MLNM_ZEROS: t = at::zeros(size, opts); break;
      case MLNM_ONES: t = at::ones(size, opts); break;
      case MLNM_EMPTY: t = at::empty(size, opts); break;
      case MLNM_FULL: t = at::full(size, scalar(a, a_integral), opts); break;
      case MLNM_RAND: t = at::rand(size, opts); break;
      case MLNM_RANDN: t = at::randn(size, opts); break;
      case MLNM_RANDINT: t = at::randint(static_cast<int64_t>(a), static_cast<int64_t>(b), size, opts); break;
      default: throw std::invalid_argument("unknown factory op " + std::to_string(op));
    }
    if (requires_grad) t.requires_grad_(true);
    put(out, t);
  });
}

MLNM_API mlnm_status mlnm_arange(double start, double end, double step, int32_t dtype, int32_t device_type,
                                 int32_t device_index, int32_t requires_grad, mlnm_tensor* out) {
  return guarded([&] {
    auto opts = options(dtype, device_type, device_index, requires_grad);
    bool integral = !at::isFloatingType(opts.dtype().toScalarType());
    put(out, at::arange(scalar(start, integral), scalar(end, integral), scalar(step, integral), opts));
  });
}

MLNM_API mlnm_status mlnm_linspace(double start, double end, int64_t steps, int32_t dtype, int32_t device_type,
                                   int32_t device_index, int32_t requires_grad, mlnm_tensor* out) {
  return guarded([&] { put(out, at::linspace(start, end, steps, options(dtype, device_type, device_index, requires_grad))); });
}

MLNM_API mlnm_status mlnm_eye(int64_t n, int64_t m, int32_t dtype, int32_t device_type, int32_t device_index,
                              int32_t requires_grad, mlnm_tensor* out) {
  return guarded([&] { put(out, at::eye(n, m, options(dtype, device_type, device_index, requires_grad))); });
}

// Converts dtype and/or device; dtype < 0 keeps the dtype. Returns the same tensor when nothing changes
// unless copy is set (as torch's Tensor.to).
MLNM_API mlnm_status mlnm_to(mlnm_tensor t, int32_t dtype, int32_t device_type, int32_t device_index, int32_t copy,
                             mlnm_tensor* out) {
  return guarded([&] {
    auto& x = unwrap(t);
    auto type = dtype < 0 ? x.scalar_type() : to_scalar_type(dtype);
    auto device = device_type < 0 ? x.device() : to_device(device_type, device_index);
    put(out, x.to(device, type, /*non_blocking=*/false, copy != 0));
  });
}

// The single element of t, written as the tensor's own C type; fails unless the dtype is expected_dtype.
MLNM_API mlnm_status mlnm_item(mlnm_tensor t, int32_t expected_dtype, void* out, int64_t nbytes) {
  return guarded([&] {
    auto& x = unwrap(t);
    if (static_cast<int32_t>(x.scalar_type()) != expected_dtype)
      throw std::invalid_argument(std::string("tensor has dtype ") + c10::toString(x.scalar_type()) + " but " +
                                  c10::toString(to_scalar_type(expected_dtype)) + " was requested");
    if (x.numel() != 1)
      throw std::invalid_argument("item() needs a tensor with one element, this one has " + std::to_string(x.numel()));
    at::Tensor c = x.detach().to(at::kCPU);
    if (static_cast<int64_t>(c.element_size()) != nbytes) throw std::invalid_argument("item buffer size mismatch");
    std::memcpy(out, c.data_ptr(), static_cast<size_t>(nbytes));
  });
}

// The element as a double, whatever the dtype (for display and loss values).
MLNM_API mlnm_status mlnm_item_double(mlnm_tensor t, double* out) {
  return guarded([&] { *out = unwrap(t).item<double>(); });
}


}  // extern "C"
