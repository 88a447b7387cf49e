// Optimizers from libtorch's C++ API (torch::optim) behind an opaque handle, with per-group options,
// learning-rate access for schedulers, state (de)serialisation, and gradient clipping.
#include "nn_shim.h"

#include <torch/optim.h>
#include <torch/serialize.h>
#include <torch/types.h>
// clip_grad.h uses torch::Tensor unqualified; it must come after torch/types.h.
#include <torch/nn/utils/clip_grad.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <sstream>

using namespace mlnm;

typedef struct mlnm_optim_s* mlnm_optim;

namespace {

// Layout of the per-group option array passed by the C# side (OptimizerOptionSlots there).
enum Slot { kLr, kWeightDecay, kMomentum, kDampening, kNesterov, kBeta1, kBeta2, kEps, kAmsgrad, kAlpha, kCentered, kSlots };
enum Kind { kSgd = 0, kAdam = 1, kAdamW = 2, kRmsprop = 3 };

std::unique_ptr<torch::optim::OptimizerOptions> options_for(int32_t kind, const double* o) {
  switch (kind) {
    case kSgd:
      return std::make_unique<torch::optim::SGDOptions>(torch::optim::SGDOptions(o[kLr])
                                                            .momentum(o[kMomentum])
                                                            .dampening(o[kDampening])
                                                            .nesterov(o[kNesterov] != 0)
                                                            .weight_decay(o[kWeightDecay]));
    case kAdam:
      return std::make_unique<torch::optim::AdamOptions>(torch::optim::AdamOptions(o[kLr])
                                                             .betas({o[kBeta1], o[kBeta2]})
                                                             .eps(o[kEps])
                                                             .weight_decay(o[kWeightDecay])
                                                             .amsgrad(o[kAmsgrad] != 0));
    case kAdamW:
      return std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(o[kLr])
                                                              .betas({o[kBeta1], o[kBeta2]})
                                                              .eps(o[kEps])
                                                              .weight_decay(o[kWeightDecay])
                                                              .amsgrad(o[kAmsgrad] != 0));
    case kRmsprop:
      return std::make_unique<torch::optim::RMSpropOptions>(torch::optim::RMSpropOptions(o[kLr])
                                                                .alpha(o[kAlpha])
                                                                .eps(o[kEps])
                                                                .weight_decay(o[kWeightDecay])
                                                                .momentum(o[kMomentum])
                                                                .centered(o[kCentered] != 0));
    default:
      throw std::invalid_argument("unknown optimizer kind " + std::to_string(kind));
  }
}

// The defaults only matter for groups added later; every group carries its own options.
template <typename TOptimizer, typename TOptions>
std::unique_ptr<torch::optim::Optimizer> make(std::vector<torch::optim::OptimizerParamGroup> groups, int32_t kind,
                                              const double* first) {
  auto defaults = options_for(kind, first);
  return std::make_unique<TOptimizer>(std::move(groups), static_cast<TOptions&>(*defaults));
}

torch::optim::Optimizer& unwrap_optim(mlnm_optim handle) {
  if (handle == nullptr) throw std::invalid_argument("null optimizer handle");
  return *reinterpret_cast<torch::optim::Optimizer*>(handle);
}

torch::optim::OptimizerParamGroup& group_at(torch::optim::Optimizer& opt, int64_t group) {
  auto& groups = opt.param_groups();
  if (group < 0 || group >= static_cast<int64_t>(groups.size()))
    throw std::out_of_range("parameter group " + std::to_string(group) + " out of range (optimizer has " +
                            std::to_string(groups.size()) + ")");
  return groups[static_cast<size_t>(group)];
}

std::vector<at::Tensor> tensors(const mlnm_tensor* params, int64_t count) {
  if (count < 0 || (count > 0 && params == nullptr)) throw std::invalid_argument("bad parameter array");
  std::vector<at::Tensor> result;
  result.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) result.push_back(unwrap(params[i]));
  return result;
}

}  // namespace

extern "C" {

// params: all parameters, group after group; group_sizes[g] of them belong to group g;
// options: group_count rows of kSlots doubles (see Slot).
MLNM_API mlnm_status mlnm_optim_new(int32_t kind, const mlnm_tensor* params, const int64_t* group_sizes, int64_t group_count,
                                    const double* options, int32_t option_slots, mlnm_optim* out) {
  return guarded([&] {
    if (option_slots != kSlots) throw std::invalid_argument("option row must hold " + std::to_string(kSlots) + " values");
    if (group_count < 1 || group_sizes == nullptr || options == nullptr) throw std::invalid_argument("need at least one parameter group");
    if (out == nullptr) throw std::invalid_argument("null output pointer");
    std::vector<torch::optim::OptimizerParamGroup> groups;
    int64_t offset = 0;
    for (int64_t g = 0; g < group_count; ++g) {
      auto group_params = tensors(params + offset, group_sizes[g]);
      offset += group_sizes[g];
      groups.emplace_back(std::move(group_params), options_for(kind, options + g * kSlots));
    }
    std::unique_ptr<torch::optim::Optimizer> opt;
    switch (kind) {
      case kSgd: opt = make<torch::optim::SGD, torch::optim::SGDOptions>(std::move(groups), kind, options); break;
      case kAdam: opt = make<torch::optim::Adam, torch::optim::AdamOptions>(std::move(groups), kind, options); break;
      case kAdamW: opt = make<torch::optim::AdamW, torch::optim::AdamWOptions>(std::move(groups), kind, options); break;
      case kRmsprop: opt = make<torch::optim::RMSprop, torch::optim::RMSpropOptions>(std::move(groups), kind, options); break;
      default: throw std::invalid_argument("unknown optimizer kind " + std::to_string(kind));
    }
    *out = reinterpret_cast<mlnm_optim>(opt.release());
  });
}

MLNM_API void mlnm_optim_free(mlnm_optim opt) { delete reinterpret_cast<torch::optim::Optimizer*>(opt); }

MLNM_API mlnm_status mlnm_optim_step(mlnm_optim opt) {
  return guarded([&] { unwrap_optim(opt).step(); });
}

// set_to_none != 0 drops the gradients (the next backward allocates fresh ones) instead of zeroing them.
MLNM_API mlnm_status mlnm_optim_zero_grad(mlnm_optim opt, int32_t set_to_none) {
  return guarded([&] {
    for (auto& group : unwrap_optim(opt).param_groups())
      for (auto& p : group.params()) {
        if (!p.grad().defined()) continue;
        if (set_to_none != 0) {
          p.mutable_grad().reset();
        } else {
          p.mutable_grad().detach_();
          p.mutable_grad().zero_();
        }
      }
  });
}

MLNM_API mlnm_status mlnm_optim_get_lr(mlnm_optim opt, int64_t group, double* out) {
  return guarded([&] { *out = group_at(unwrap_optim(opt), group).options().get_lr(); });
}

MLNM_API mlnm_status mlnm_optim_set_lr(mlnm_optim opt, int64_t group, double lr) {
  return guarded([&] {
    if (!(lr >= 0)) throw std::invalid_argument("learning rate must be >= 0");
    group_at(unwrap_optim(opt), group).options().set_lr(lr);
  });
}

// Serialises the optimizer state (moments, step counts) with torch::serialize into a malloc'ed buffer,
// released with mlnm_optim_buffer_free.
MLNM_API mlnm_status mlnm_optim_save(mlnm_optim opt, uint8_t** data, int64_t* size) {
  return guarded([&] {
    torch::serialize::OutputArchive archive;
    unwrap_optim(opt).save(archive);
    std::ostringstream stream;
    archive.save_to(stream);
    auto bytes = stream.str();
    auto* buffer = static_cast<uint8_t*>(std::malloc(bytes.size() ? bytes.size() : 1));
    if (buffer == nullptr) throw std::bad_alloc();
    std::memcpy(buffer, bytes.data(), bytes.size());
    *data = buffer;
    *size = static_cast<int64_t>(bytes.size());
  });
}

MLNM_API void mlnm_optim_buffer_free(uint8_t* data) { std::free(data); }

MLNM_API mlnm_status mlnm_optim_load(mlnm_optim opt, const uint8_t* data, int64_t size) {
  return guarded([&] {
    if (size <= 0 || data == nullptr) throw std::invalid_argument("empty optimizer state");
    std::istringstream stream(std::string(reinterpret_cast<const char*>(data), static_cast<size_t>(size)));
    torch::serialize::InputArchive archive;
    archive.load_from(stream);
    unwrap_optim(opt).load(archive);
  });
}

// Scales the gradients so their joint norm is at most max_norm; writes the norm before clipping.
MLNM_API mlnm_status mlnm_optim_clip_grad_norm(const mlnm_tensor* params, int64_t count, double max_norm, double norm_type,
                                               int32_t error_if_nonfinite, double* total_norm) {
  return guarded([&] {
    *total_norm = torch::nn::utils::clip_grad_norm_(tensors(params, count), max_norm, norm_type, error_if_nonfinite != 0);
  });
}

MLNM_API mlnm_status mlnm_optim_clip_grad_value(const mlnm_tensor* params, int64_t count, double clip_value) {
  return guarded([&] { torch::nn::utils::clip_grad_value_(tensors(params, count), clip_value); });
}

}  // extern "C"
