// Process-wide runtime settings: threads, seeds, versions, CUDA.
#include "shim.h"

#include <ATen/Parallel.h>
#include <torch/version.h>
#include <ATen/Context.h>
#include <torch/cuda.h>

#include <dlfcn.h>
#include <cstdlib>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <cstring>
#include <fstream>

using namespace mlnm;

namespace {

// glibc hands large freed blocks back to the kernel (munmap, heap trim), so every training step re-faults
// its activations page by page: measured 3x the page faults per U-Net step of the same libtorch under Python,
// ~20% more CPU (benchmarks/torch-step). Keeping blocks up to 32 MiB on the heap and trimming only above
// 1 GiB free removes that. Skipped when the user tunes malloc through the environment.
#if defined(__GLIBC__)
__attribute__((constructor)) void keep_freed_tensor_memory() {
  if (std::getenv("GLIBC_TUNABLES") || std::getenv("MALLOC_MMAP_THRESHOLD_") || std::getenv("MALLOC_TRIM_THRESHOLD_") ||
      std::getenv("MLNM_KEEP_MALLOC_DEFAULTS"))
    return;
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024);
}
#endif

// The OpenMP runtime libtorch itself runs on, found through libtorch_cpu's own dependency tree: a PyTorch wheel
// bundles a renamed libgomp, and setting the ICV of a second OpenMP runtime would change nothing.
struct OmpRuntime {
  void (*set_num_threads)(int) = nullptr;
  int (*get_max_threads)() = nullptr;
  int (*get_num_threads)() = nullptr;
  // What `#pragma omp parallel` compiles to in libtorch (GNU ABI, also exported by LLVM's libomp); 0 threads = the ICV.
  void (*parallel)(void (*fn)(void*), void* data, unsigned num_threads, unsigned flags) = nullptr;
  std::string unavailable;  // why a per-thread budget cannot be set ("" when it can)
};

const OmpRuntime& omp_runtime() {
  static const OmpRuntime runtime = [] {
    OmpRuntime r;
    if (at::get_parallel_info().find("parallel backend: OpenMP") == std::string::npos) {
      r.unavailable = "libtorch's intra-op backend is not OpenMP, so its thread pool is process-wide";
      return r;
    }
    Dl_info info{};
    void* lib = nullptr;
    if (dladdr(reinterpret_cast<void*>(&at::get_num_threads), &info) && info.dli_fname != nullptr)
      lib = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);  // already mapped: only takes a reference
    if (lib != nullptr) {
      r.set_num_threads = reinterpret_cast<void (*)(int)>(dlsym(lib, "omp_set_num_threads"));
      r.get_max_threads = reinterpret_cast<int (*)()>(dlsym(lib, "omp_get_max_threads"));
      r.get_num_threads = reinterpret_cast<int (*)()>(dlsym(lib, "omp_get_num_threads"));
      r.parallel = reinterpret_cast<decltype(r.parallel)>(dlsym(lib, "GOMP_parallel"));
    }
    if (r.set_num_threads == nullptr || r.get_max_threads == nullptr || r.get_num_threads == nullptr || r.parallel == nullptr)
      r.unavailable = "libtorch's OpenMP runtime (omp_set_num_threads) was not found among libtorch's libraries";
    return r;
  }();
  return runtime;
}

}  // namespace

extern "C" {

// Whether this libtorch lets each thread have its own intra-op thread count (OpenMP backend): 1 or 0.
MLNM_API mlnm_status mlnm_thread_budget_supported(int32_t* out) {
  return guarded([&] { *out = omp_runtime().unavailable.empty() ? 1 : 0; });
}

// Sets the intra-op thread count of the calling thread only (its OpenMP nthreads ICV); *previous gets the old one.
// libtorch first copies the process-wide count into a thread's ICV on the thread's first parallel op, so that
// copy is forced here before the budget is set, or it would overwrite the budget later.
MLNM_API mlnm_status mlnm_set_thread_budget(int32_t n, int32_t* previous) {
  return guarded([&] {
    if (n < 1) throw std::invalid_argument("thread count must be >= 1, got " + std::to_string(n));
    const auto& omp = omp_runtime();
    if (!omp.unavailable.empty()) throw std::runtime_error("a per-thread thread budget is not supported: " + omp.unavailable);
    const int old = at::get_num_threads();  // runs the thread's lazy init
    omp.set_num_threads(n);
    if (previous != nullptr) *previous = old;
  });
}

// Opens a parallel region on the calling thread exactly as libtorch's parallel loops do (OpenMP, team size from the
// thread's ICV) and reports the team size: the intra-op parallelism ops started from this thread actually get.
// (at::parallel_for itself would run serially here: the shim is not compiled with OpenMP.)
MLNM_API mlnm_status mlnm_intra_op_team_size(int32_t* out) {
  return guarded([&] {
    const auto& omp = omp_runtime();
    if (!omp.unavailable.empty()) {
      *out = at::get_num_threads();  // a process-wide pool: its size
      return;
    }
    struct Region {
      int (*get_num_threads)();
      std::atomic<int> size{0};
    } region{omp.get_num_threads};
    omp.parallel([](void* data) {
      auto* r = static_cast<Region*>(data);
      r->size.store(r->get_num_threads(), std::memory_order_relaxed);
    }, &region, 0, 0);
    *out = region.size.load();
  });
}

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

MLNM_API mlnm_status mlnm_manual_seed(uint64_t seed) {
  return guarded([&] {
    at::manual_seed(seed);  // CPU generator and, when present, every CUDA generator
  });
}

// Deterministic algorithms (cuDNN included); warn_only reports nondeterministic ops instead of failing.
MLNM_API mlnm_status mlnm_set_deterministic(int32_t enabled, int32_t warn_only) {
  return guarded([&] {
    auto& ctx = at::globalContext();
    ctx.setDeterministicAlgorithms(enabled != 0, warn_only != 0);
    ctx.setDeterministicCuDNN(enabled != 0);
    ctx.setBenchmarkCuDNN(enabled == 0 && ctx.benchmarkCuDNN());
  });
}

MLNM_API mlnm_status mlnm_get_deterministic(int32_t* out) {
  return guarded([&] { *out = at::globalContext().deterministicAlgorithms() ? 1 : 0; });
}

// CUDA as seen by the linked libtorch: 0 devices on a CPU-only build.
MLNM_API mlnm_status mlnm_cuda_info(int32_t* available, int32_t* device_count) {
  return guarded([&] {
    *available = torch::cuda::is_available() ? 1 : 0;
    *device_count = static_cast<int32_t>(torch::cuda::device_count());
  });
}

// The BLAS library actually mapped into this process. libtorch's build config names the build-time BLAS
// only, while Debian's alternatives decide which libblas.so.3 is loaded, so look at /proc/self/maps.
// kind: 0 unknown, 1 reference (netlib), 2 OpenBLAS, 3 MKL, 4 BLIS. path: the mapped libblas/libmkl file;
// config: openblas_get_config() when the BLAS in use is OpenBLAS.
MLNM_API mlnm_status mlnm_blas_info(int32_t* kind, char* path, int32_t path_capacity, char* config,
                                    int32_t config_capacity) {
  return guarded([&] {
    if (path_capacity < 1 || config_capacity < 1) throw std::invalid_argument("buffer too small");
    std::ifstream maps("/proc/self/maps");
    std::string line, blas, any_openblas, mkl;
    while (std::getline(maps, line)) {
      auto slash = line.find('/');
      if (slash == std::string::npos) continue;
      std::string file = line.substr(slash);
      std::string name = file.substr(file.rfind('/') + 1);
      if (blas.empty() && (name.rfind("libblas.so", 0) == 0 || name.rfind("libblis", 0) == 0)) blas = file;
      if (any_openblas.empty() && name.rfind("libopenblas", 0) == 0) any_openblas = file;
      if (mkl.empty() && name.rfind("libmkl_", 0) == 0) mkl = file;
    }
    std::string chosen = !blas.empty() ? blas : !mkl.empty() ? mkl : any_openblas;
    int32_t k = 0;
    if (chosen.find("openblas") != std::string::npos) k = 2;
    else if (chosen.find("mkl") != std::string::npos) k = 3;
    else if (chosen.find("blis") != std::string::npos) k = 4;
    else if (!chosen.empty()) k = 1;  // a plain libblas.so (Debian: /usr/lib/<arch>/blas/libblas.so.3)
    std::string cfg;
    using config_fn = char* (*)();
    // The shim is loaded RTLD_LOCAL, so ask the already-mapped OpenBLAS itself (RTLD_NOLOAD loads nothing new).
    if (k == 2 && !any_openblas.empty()) {
      if (void* lib = dlopen(any_openblas.c_str(), RTLD_LAZY | RTLD_NOLOAD)) {
        if (auto fn = reinterpret_cast<config_fn>(dlsym(lib, "openblas_get_config")))
          if (const char* c = fn()) cfg = c;
        dlclose(lib);
      }
    }
    *kind = k;
    std::strncpy(path, chosen.c_str(), static_cast<size_t>(path_capacity - 1));
    path[path_capacity - 1] = '\0';
    std::strncpy(config, cfg.c_str(), static_cast<size_t>(config_capacity - 1));
    config[config_capacity - 1] = '\0';
  });
}

}  // extern "C"
