// The runtime's one entry point: a Program compiled for a backend, ready to run.
//
// get_kernel() looks the program up in the kernel cache (memory, then disk)
// and compiles it on a miss. A Kernel is immutable after construction and may
// be run from several threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/ir/program.h"

namespace losscc::rt {

enum class Backend : uint8_t {
  Interp,  // the double-precision interpreter (the oracle; slow, always there)
  Llvm,    // LLVM ORC JIT, vectorised native loop (host memory)
  Cuda,    // NVRTC + driver API (device memory)
};
std::string_view backend_name(Backend b);

struct CompileOptions {
  Backend backend = Backend::Llvm;
  // Deterministic reduction: the result does not depend on thread count or
  // timing. Host backends are always deterministic (fixed blocks, fixed
  // summation order); on CUDA this selects a two-pass reduction.
  bool deterministic = true;
};

// Host (CPU) arrays, contiguous float32 with unit stride.
struct HostArgs {
  int64_t n = 0;
  std::vector<const float*> inputs;  // one per program.fn.inputs, in declaration order
  std::vector<float*> grads;         // one per program.grad_inputs
  int threads = 0;                   // 0: all hardware threads
  // Grouped (ranking) programs only: query q owns documents
  // [offsets[q], offsets[q+1]) of the n (program.h); checked by run().
  const int64_t* offsets = nullptr;
  int64_t queries = 0;
};

// Device (CUDA) arrays, contiguous float32 with unit stride, all on the
// current device. The reduced loss is written to the device float *loss.
struct DeviceArgs {
  int64_t n = 0;
  std::vector<const float*> inputs;
  std::vector<float*> grads;
  float* loss = nullptr;
  void* stream = nullptr;  // a CUstream; null is the legacy default stream
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual Backend backend() const = 0;
  virtual const Program& program() const = 0;
  // Seconds spent compiling (0 for a cache hit that needed no compile).
  virtual double compile_seconds() const = 0;

  // Runs the fused program: returns the reduced loss (mean or sum, as
  // program().fn.reduction says) and writes grads[k][i] = s · ∂ℓ_i/∂x_{k,i}
  // with s = 1/n for a mean and 1 for a sum. A grouped program reduces over
  // the queries instead (s = 1/queries for a mean). Host backends only;
  // throws std::logic_error on Cuda.
  virtual double run(const HostArgs& args) const = 0;
  // Device backends only; throws std::logic_error on host backends.
  virtual void run_device(const DeviceArgs& args) const;
};

// The compiled kernel for `program` on `options.backend`, from the cache when
// it is there. Throws losscc::rt::BackendUnavailable when the backend is not
// built in or (Cuda) no usable GPU/driver is present.
std::shared_ptr<const Kernel> get_kernel(const Program& program, const CompileOptions& options);

struct BackendUnavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// Whether `b` is built in and usable on this machine (Cuda: driver + GPU).
bool backend_available(Backend b);

}  // namespace losscc::rt
