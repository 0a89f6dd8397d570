#include "compiler/codegen/nvrtc/nvrtc_compile.h"

#include <nvrtc.h>

#include <chrono>
#include <memory>
#include <regex>

namespace losscc::cuda {
namespace {

void check(nvrtcResult r, const char* what) {
  if (r != NVRTC_SUCCESS) throw NvrtcError(std::string(what) + ": " + nvrtcGetErrorString(r), "");
}

struct ProgramDeleter {
  void operator()(nvrtcProgram p) const { nvrtcDestroyProgram(&p); }
};
using ProgramHandle = std::unique_ptr<std::remove_pointer_t<nvrtcProgram>, ProgramDeleter>;

std::string program_log(nvrtcProgram p) {
  size_t size = 0;
  if (nvrtcGetProgramLogSize(p, &size) != NVRTC_SUCCESS || size <= 1) return {};
  std::string log(size, '\0');
  if (nvrtcGetProgramLog(p, log.data()) != NVRTC_SUCCESS) return {};
  log.resize(size - 1);  // the size counts the terminating NUL
  return log;
}

bool is_cubin_target(const std::string& target) { return target.rfind("sm_", 0) == 0; }

}  // namespace

std::vector<std::string> nvrtc_flags(const NvrtcOptions& opts) {
  static const std::regex kTarget("(sm|compute)_[0-9]+a?");
  if (!std::regex_match(opts.target, kTarget))
    throw std::invalid_argument("nvrtc: target must be sm_NN or compute_NN, not '" + opts.target + "'");
  std::vector<std::string> flags = {
      "--gpu-architecture=" + opts.target,
      "-std=c++17",
      // Functions with no execution-space qualifier are __device__: nothing
      // in the emitted code runs on the host.
      "-default-device",
  };
  if (opts.minimal) flags.push_back("--minimal");
  if (opts.fast_math) flags.push_back("--use_fast_math");
  flags.insert(flags.end(), opts.extra_flags.begin(), opts.extra_flags.end());
  return flags;
}

NvrtcResult nvrtc_compile(const std::string& source, const NvrtcOptions& opts) {
  const std::vector<std::string> flags = nvrtc_flags(opts);
  std::vector<const char*> argv;
  for (const std::string& f : flags) argv.push_back(f.c_str());

  const auto start = std::chrono::steady_clock::now();
  nvrtcProgram raw = nullptr;
  check(nvrtcCreateProgram(&raw, source.c_str(), "losscc.cu", 0, nullptr, nullptr), "nvrtcCreateProgram");
  ProgramHandle program(raw);

  NvrtcResult result;
  const nvrtcResult status = nvrtcCompileProgram(raw, static_cast<int>(argv.size()), argv.data());
  result.log = program_log(raw);
  if (status != NVRTC_SUCCESS)
    throw NvrtcError(std::string("nvrtc: compilation failed (") + nvrtcGetErrorString(status) + ")",
                     result.log);

  result.is_cubin = is_cubin_target(opts.target);
  size_t size = 0;
  if (result.is_cubin) {
    check(nvrtcGetCUBINSize(raw, &size), "nvrtcGetCUBINSize");
    result.image.resize(size);
    check(nvrtcGetCUBIN(raw, result.image.data()), "nvrtcGetCUBIN");
  } else {
    check(nvrtcGetPTXSize(raw, &size), "nvrtcGetPTXSize");  // includes the NUL
    result.image.resize(size);
    check(nvrtcGetPTX(raw, result.image.data()), "nvrtcGetPTX");
  }
  result.compile_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

std::string nvrtc_version() {
  int major = 0, minor = 0;
  check(nvrtcVersion(&major, &minor), "nvrtcVersion");
  return std::to_string(major) + "." + std::to_string(minor);
}

}  // namespace losscc::cuda
