// Tensor lifetime, metadata, and copying data in and out.
#include "shim.h"

#include <cstring>

using namespace mlnm;

extern "C" {

MLNM_API void mlnm_tensor_free(mlnm_tensor t) { delete reinterpret_cast<at::Tensor*>(t); }

MLNM_API mlnm_status mlnm_tensor_ndim(mlnm_tensor t, int64_t* out) {
  return guarded([&] { *out = unwrap(t).dim(); });
}

// Writes min(capacity, ndim) sizes into out.
MLNM_API mlnm_status mlnm_tensor_shape(mlnm_tensor t, int64_t* out, int64_t capacity) {
  return guarded([&] {
    auto sizes = unwrap(t).sizes();
    for (int64_t i = 0; i < capacity && i < static_cast<int64_t>(sizes.size()); ++i) out[i] = sizes[i];
  });
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

MLNM_API mlnm_status mlnm_zeros(const int64_t* shape, int64_t ndim, int32_t dtype, int32_t device_type,
                                int32_t device_index, int32_t requires_grad, mlnm_tensor* out) {
  return guarded([&] {
    auto options = at::TensorOptions()
                       .dtype(to_scalar_type(dtype))
                       .device(to_device(device_type, device_index))
                       .requires_grad(requires_grad != 0);
    put(out, at::zeros(dims(shape, ndim), options));
  });
}

MLNM_API mlnm_status mlnm_add(mlnm_tensor a, mlnm_tensor b, double alpha, mlnm_tensor* out) {
  return guarded([&] { put(out, at::add(unwrap(a), unwrap(b), alpha)); });
}

}  // extern "C"
