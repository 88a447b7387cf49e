// Losses. Built-in ones call libtorch's at:: op; Dice, Dice+CE and focal are composed from at:: ops,
// so autograd differentiates them. reduction: 0 none, 1 mean, 2 sum.
#include "nn_shim.h"

using namespace mlnm;

namespace {

// Class probabilities or logits (N, C, *) against targets that are class indices (N, *) or per-class
// maps (N, C, *) of the input's shape; returns the per-class target map.
at::Tensor class_map(const at::Tensor& input, const at::Tensor& target) {
  if (input.dim() < 2) throw std::invalid_argument("input must be (N, C, ...) with at least 2 dims");
  if (at::isIntegralType(target.scalar_type(), /*includeBool=*/false)) {
    if (target.dim() != input.dim() - 1)
      throw std::invalid_argument("class-index target must have one dim fewer than the input (N, ...), got " +
                                  std::to_string(target.dim()) + " vs input " + std::to_string(input.dim()));
    auto map = at::one_hot(target, input.size(1));  // (N, *, C)
    return map.movedim(-1, 1).to(input.scalar_type());
  }
  if (target.sizes() != input.sizes()) throw std::invalid_argument("per-class target must have the input's shape");
  return target.to(input.scalar_type());
}

// activation: 0 softmax over C, 1 sigmoid, 2 none (input already holds probabilities).
at::Tensor soft_dice(const at::Tensor& input, const at::Tensor& target, int32_t activation, int32_t include_background,
                     double smooth, int32_t batch, int32_t reduction) {
  at::Tensor probs = activation == 0 ? at::softmax(input, 1) : activation == 1 ? at::sigmoid(input) : input;
  if (activation < 0 || activation > 2) throw std::invalid_argument("dice activation must be 0 (softmax), 1 (sigmoid) or 2 (none)");
  at::Tensor map = class_map(input, target);
  if (include_background == 0) {
    if (input.size(1) < 2) throw std::invalid_argument("excluding the background needs at least 2 channels");
    probs = probs.narrow(1, 1, input.size(1) - 1);
    map = map.narrow(1, 1, input.size(1) - 1);
  }
  std::vector<int64_t> over;
  if (batch != 0) over.push_back(0);
  for (int64_t d = 2; d < input.dim(); ++d) over.push_back(d);
  auto intersection = (probs * map).sum(over);
  auto denominator = probs.sum(over) + map.sum(over);
  auto dice = (2 * intersection + smooth) / (denominator + smooth);  // (C) with batch, else (N, C)
  return reduce(1 - dice, reduction);
}

at::Tensor cross_entropy(const at::Tensor& input, const at::Tensor& target, const c10::optional<at::Tensor>& weight,
                         int32_t reduction, int64_t ignore_index, double label_smoothing) {
  return at::cross_entropy_loss(input, target, weight, reduction_code(reduction), ignore_index, label_smoothing);
}

}  // namespace

extern "C" {

MLNM_API mlnm_status mlnm_loss_cross_entropy(mlnm_tensor input, mlnm_tensor target, mlnm_tensor weight, int32_t reduction,
                                             int64_t ignore_index, double label_smoothing, mlnm_tensor* out) {
  return guarded([&] { put(out, cross_entropy(unwrap(input), unwrap(target), optional_tensor(weight), reduction, ignore_index, label_smoothing)); });
}

MLNM_API mlnm_status mlnm_loss_nll(mlnm_tensor input, mlnm_tensor target, mlnm_tensor weight, int32_t reduction,
                                   int64_t ignore_index, mlnm_tensor* out) {
  return guarded([&] {
    put(out, at::nll_loss_nd(unwrap(input), unwrap(target), optional_tensor(weight), reduction_code(reduction), ignore_index));
  });
}

MLNM_API mlnm_status mlnm_loss_bce_with_logits(mlnm_tensor input, mlnm_tensor target, mlnm_tensor weight,
                                               mlnm_tensor pos_weight, int32_t reduction, mlnm_tensor* out) {
  return guarded([&] {
    put(out, at::binary_cross_entropy_with_logits(unwrap(input), unwrap(target), optional_tensor(weight),
                                                  optional_tensor(pos_weight), reduction_code(reduction)));
  });
}

// kind: 0 mse, 1 l1, 2 smooth_l1(beta).
MLNM_API mlnm_status mlnm_loss_regression(mlnm_tensor input, mlnm_tensor target, int32_t kind, double beta,
                                          int32_t reduction, mlnm_tensor* out) {
  return guarded([&] {
    auto& x = unwrap(input);
    auto& y = unwrap(target);
    auto r = reduction_code(reduction);
    switch (kind) {
      case 0: put(out, at::mse_loss(x, y, r)); break;
      case 1: put(out, at::l1_loss(x, y, r)); break;
      case 2: put(out, at::smooth_l1_loss(x, y, r, beta)); break;
      default: throw std::invalid_argument("unknown regression loss kind " + std::to_string(kind));
    }
  });
}

// Soft Dice loss 1 - (2|P∩T| + smooth) / (|P| + |T| + smooth), per class (and per sample unless batch != 0).
MLNM_API mlnm_status mlnm_loss_dice(mlnm_tensor input, mlnm_tensor target, int32_t activation, int32_t include_background,
                                    double smooth, int32_t batch, int32_t reduction, mlnm_tensor* out) {
  return guarded([&] { put(out, soft_dice(unwrap(input), unwrap(target), activation, include_background, smooth, batch, reduction)); });
}

// lambda_dice * mean soft Dice (softmax) + lambda_ce * mean cross-entropy.
MLNM_API mlnm_status mlnm_loss_dice_ce(mlnm_tensor input, mlnm_tensor target, mlnm_tensor ce_weight, int32_t include_background,
                                       double smooth, int32_t batch, double lambda_dice, double lambda_ce, mlnm_tensor* out) {
  return guarded([&] {
    auto& x = unwrap(input);
    auto& y = unwrap(target);
    auto dice = soft_dice(x, y, 0, include_background, smooth, batch, 1);
    auto ce = cross_entropy(x, y, optional_tensor(ce_weight), 1, -100, 0.0);
    put(out, lambda_dice * dice + lambda_ce * ce);
  });
}

// Focal loss. Multi-class (target: class indices): -(1 - p_t)^gamma log p_t, weighted by weight[target],
// ignore_index skipped, mean over the kept elements. Binary (target: same shape as input, values in [0, 1]):
// sigmoid focal loss with alpha (alpha < 0: no alpha weighting).
MLNM_API mlnm_status mlnm_loss_focal(mlnm_tensor input, mlnm_tensor target, mlnm_tensor weight, double gamma, double alpha,
                                     int64_t ignore_index, int32_t reduction, mlnm_tensor* out) {
  return guarded([&] {
    auto& x = unwrap(input);
    auto& y = unwrap(target);
    if (gamma < 0) throw std::invalid_argument("focal gamma must be >= 0");
    if (!at::isIntegralType(y.scalar_type(), false)) {
      auto yf = y.to(x.scalar_type());
      auto ce = at::binary_cross_entropy_with_logits(x, yf, {}, {}, at::Reduction::None);
      auto p = at::sigmoid(x);
      auto p_t = p * yf + (1 - p) * (1 - yf);
      auto loss = ce * at::pow(1 - p_t, gamma);
      if (alpha >= 0) loss = loss * (alpha * yf + (1 - alpha) * (1 - yf));
      put(out, reduce(loss, reduction));
      return;
    }
    if (y.dim() != x.dim() - 1) throw std::invalid_argument("class-index target must have one dim fewer than the input");
    auto keep = y != ignore_index;
    auto safe = y.masked_fill(~keep, 0);
    auto log_p = at::log_softmax(x, 1).gather(1, safe.unsqueeze(1)).squeeze(1);
    auto loss = -at::pow(1 - log_p.exp(), gamma) * log_p;
    auto w = optional_tensor(weight);
    if (w) loss = loss * w->index_select(0, safe.flatten()).view(safe.sizes());
    loss = loss * keep.to(loss.scalar_type());
    switch (reduction_code(reduction)) {
      case 0: put(out, loss); break;
      case 1: put(out, loss.sum() / keep.sum().clamp_min(1).to(loss.scalar_type())); break;
      default: put(out, loss.sum()); break;
    }
  });
}

}  // extern "C"
