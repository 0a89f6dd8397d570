// CUDA C → cubin or PTX with NVRTC. Needs no GPU and no driver. The only
// file that sees nvrtc.h is nvrtc_compile.cpp.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace losscc::cuda {

struct NvrtcOptions {
  // "sm_90" (or "sm_90a") → a cubin for exactly that architecture;
  // "compute_90" → PTX, which the driver JIT-compiles for any newer GPU.
  std::string target = "sm_90";
  // --minimal: leaves out texture/surface functions, device-side runtime
  // calls and the runtime's types, none of which the emitted code uses; cuts
  // front-end time roughly in half (see tests/runtime/cuda_codegen_test.cpp).
  bool minimal = true;
  // --use_fast_math: __expf-style intrinsics, flush-to-zero, approximate
  // division and square root. Changes results; off by default.
  bool fast_math = false;
  std::vector<std::string> extra_flags;  // passed through verbatim, last
};

struct NvrtcResult {
  std::string image;  // cubin bytes, or PTX text (NUL-terminated inside)
  bool is_cubin = false;
  double compile_seconds = 0;
  std::string log;  // warnings, if any
};

// A compile that failed: what() says so in one line, log() is NVRTC's log.
class NvrtcError : public std::runtime_error {
 public:
  NvrtcError(const std::string& what, std::string log)
      : std::runtime_error(log.empty() ? what : what + "\n" + log), log_(std::move(log)) {}
  const std::string& log() const { return log_; }

 private:
  std::string log_;
};

// The options NVRTC is given for `opts`, in order. Throws
// std::invalid_argument for a target that is not sm_NN[a] / compute_NN[a].
std::vector<std::string> nvrtc_flags(const NvrtcOptions& opts);

// Compiles `source` (one translation unit, no #include needed). Throws
// NvrtcError with NVRTC's log when it does not compile.
NvrtcResult nvrtc_compile(const std::string& source, const NvrtcOptions& opts = {});

// NVRTC's version, "13.0": part of every cache key for compiled images.
std::string nvrtc_version();

}  // namespace losscc::cuda
