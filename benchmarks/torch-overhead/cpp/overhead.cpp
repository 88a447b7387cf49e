// C++ peer of benchmarks/torch-overhead: the same loops written directly against libtorch.
// Prints one JSON object (same keys as the C# side).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

using clock_type = std::chrono::steady_clock;

template <typename F>
double per_op_us(F body, int n) {
  for (int i = 0; i < std::min(n, 20000); ++i) body();
  double best = 1e30;
  for (int round = 0; round < 3; ++round) {
    auto t0 = clock_type::now();
    for (int i = 0; i < n; ++i) body();
    double us = std::chrono::duration<double, std::micro>(clock_type::now() - t0).count() / n;
    best = std::min(best, us);
  }
  return best;
}

int main(int argc, char** argv) {
  int iterations = argc > 1 ? std::atoi(argv[1]) : 200000;
  int conv_steps = argc > 2 ? std::atoi(argv[2]) : 10;
  const char* env = std::getenv("MLNM_THREADS");
  at::set_num_threads(env ? std::atoi(env) : static_cast<int>(std::thread::hardware_concurrency()));

  auto a = at::ones({1});
  auto b = at::ones({1});
  double add_us = per_op_us([&] { auto r = at::add(a, b); }, iterations);
  auto acc = at::zeros({1});
  double add_inplace_us = per_op_us([&] { acc.add_(b); }, iterations);

  torch::manual_seed(0);
  const int N = 16, H = 64, W = 64;
  auto input = at::randn({N, 3, H, W});
  auto target = at::randint(0, 10, {N, 1});
  auto w1 = (at::randn({32, 3, 3, 3}) * 0.1).requires_grad_();
  auto b1 = at::zeros({32}).requires_grad_();
  auto w2 = (at::randn({64, 32, 3, 3}) * 0.05).requires_grad_();
  auto b2 = at::zeros({64}).requires_grad_();
  auto w3 = (at::randn({64, 10}) * 0.1).requires_grad_();
  std::vector<at::Tensor> params{w1, b1, w2, b2, w3};
  auto step = [&] {
    auto h = at::conv2d(input, w1, b1, 1, 1).relu();
    h = at::conv2d(h, w2, b2, 1, 1).relu();
    auto logits = h.mean({2, 3}).matmul(w3);
    auto loss = -logits.log_softmax(1).gather(1, target).mean();
    loss.backward();
    {
      at::NoGradGuard no_grad;
      for (auto& p : params) p.sub_(p.grad(), 0.01);
    }
    for (auto& p : params) p.mutable_grad().zero_();
  };
  for (int i = 0; i < 2; ++i) step();
  auto t0 = clock_type::now();
  for (int i = 0; i < conv_steps; ++i) step();
  double ms = std::chrono::duration<double, std::milli>(clock_type::now() - t0).count() / conv_steps;
  double flops = 2.0 * 2 * N * 32 * 3 * 9 * H * W + 3.0 * 2 * N * 64 * 32 * 9 * H * W;
  std::printf("{\"add_us\":%.4f,\"add_inplace_us\":%.4f,\"conv_step_ms\":%.3f,\"conv_gflops\":%.3f,\"threads\":%d}\n", add_us,
              add_inplace_us, ms, flops / (ms * 1e6), at::get_num_threads());
  return 0;
}
