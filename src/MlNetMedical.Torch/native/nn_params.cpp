// Parameters and buffers owned by modules: creation, freezing, in-place loading and moving, initialisers.
#include "nn_shim.h"

#include <torch/nn/init.h>

using namespace mlnm;

namespace {

torch::nn::init::NonlinearityType nonlinearity(int32_t code) {
  switch (code) {
    case 0: return torch::kLinear;
    case 1: return torch::kConv1D;
    case 2: return torch::kConv2D;
    case 3: return torch::kConv3D;
    case 4: return torch::kSigmoid;
    case 5: return torch::kTanh;
    case 6: return torch::kReLU;
    case 7: return torch::kLeakyReLU;
    default: throw std::invalid_argument("unknown nonlinearity code " + std::to_string(code));
  }
}

}  // namespace

extern "C" {

// Moves (and/or converts) t in place, keeping the same tensor object, so handles, optimizer
// references and autograd leaves stay valid. dtype < 0 keeps the dtype. A grad moves too.
MLNM_API mlnm_status mlnm_nn_move(mlnm_tensor t, int32_t dtype, int32_t device_type, int32_t device_index) {
  return guarded([&] {
    at::NoGradGuard no_grad;
    auto& x = unwrap(t);
    auto device = to_device(device_type, device_index);
    auto type = dtype < 0 ? x.scalar_type() : to_scalar_type(dtype);
    x.set_data(x.to(device, type));
    if (x.grad().defined()) x.mutable_grad() = x.grad().to(device, type);
  });
}

// Fills t in place. kind: 0 zeros, 1 constant(a), 2 uniform(a, b), 3 normal(mean a, std b),
// 4 kaiming_uniform(a = negative slope), 5 kaiming_normal(a), 6 xavier_uniform(gain a), 7 xavier_normal(gain a).
// fan_out != 0 picks fan-out mode for Kaiming; nl is the nonlinearity code.
MLNM_API mlnm_status mlnm_nn_init(mlnm_tensor t, int32_t kind, double a, double b, int32_t fan_out, int32_t nl) {
  return guarded([&] {
    auto& x = unwrap(t);
    torch::nn::init::FanModeType mode = torch::kFanIn;
    if (fan_out != 0) mode = torch::kFanOut;
    switch (kind) {
      case 0: torch::nn::init::zeros_(x); break;
      case 1: torch::nn::init::constant_(x, a); break;
      case 2: torch::nn::init::uniform_(x, a, b); break;
      case 3: torch::nn::init::normal_(x, a, b); break;
      case 4: torch::nn::init::kaiming_uniform_(x, a, mode, nonlinearity(nl)); break;
      case 5: torch::nn::init::kaiming_normal_(x, a, mode, nonlinearity(nl)); break;
      case 6: torch::nn::init::xavier_uniform_(x, a); break;
      case 7: torch::nn::init::xavier_normal_(x, a); break;
      default: throw std::invalid_argument("unknown initialiser kind " + std::to_string(kind));
    }
  });
}

}  // extern "C"
