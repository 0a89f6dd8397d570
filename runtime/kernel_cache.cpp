// get_kernel(): the kernel caches in front of the backends.
//
//   memory: an LRU of compiled kernels keyed by a string (below). A hit is a
//           hash of the Program's node hashes (each cached in its node), one
//           string build and one locked map lookup: microseconds.
//   disk:   (Llvm) the object file, so a new process links instead of
//           compiling; CUDA's own kernel caches its cubins.
//
// The key names everything the compiled code depends on: the program's
// stable hash, the backend, the target it was compiled for, the options and
// the compiler itself, as a fingerprint of compiler/'s sources taken at build
// time (cmake/compiler_fingerprint.cmake). A build whose code generation
// differs in any way never loads another build's disk entries.
// Two threads missing on the same key at once both compile; the later put()
// wins and both kernels are correct.
#include <cstdio>
#include <string>

#include "runtime/cache/disk_cache.h"
#include "runtime/compiler_fingerprint.h"
#include "runtime/cache/lru_cache.h"
#include "runtime/cpu/interp_kernel.h"
#include "runtime/cpu/llvm_kernel.h"
#include "runtime/kernel.h"
#ifdef LOSSCC_HAVE_NVRTC
#include "runtime/cuda/cuda_kernel.h"
#endif

namespace losscc::rt {
namespace {

constexpr const char* kCompilerVersion = "losscc-" LOSSCC_COMPILER_FINGERPRINT;
constexpr size_t kMemoryCacheKernels = 256;

LruCache<std::shared_ptr<const Kernel>>& memory_cache() {
  static LruCache<std::shared_ptr<const Kernel>> cache(kMemoryCacheKernels);
  return cache;
}

std::string_view target_of(Backend b) {
  switch (b) {
    case Backend::Interp: return "double";
#ifdef LOSSCC_HAVE_LLVM
    case Backend::Llvm: return llvm_backend::host_target();
#endif
    default: return "default";  // CUDA: the device is chosen by its kernel
  }
}

std::string cache_key(const Program& program, const CompileOptions& options) {
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(program.hash()));
  std::string key = kCompilerVersion;
  for (std::string_view part : {std::string_view(hash), backend_name(options.backend),
                                target_of(options.backend),
                                std::string_view(options.deterministic ? "det" : "fast")}) {
    key += '/';
    key += part;
  }
  return key;
}

// Guards against a 64-bit hash collision: nodes are hash-consed, so
// structural equality of the outputs is a pointer compare.
bool same_program(const Program& a, const Program& b) {
  if (a.outputs != b.outputs || a.grad_inputs != b.grad_inputs ||
      a.fn.reduction != b.fn.reduction || a.fn.inputs.size() != b.fn.inputs.size())
    return false;
  for (size_t i = 0; i < a.fn.inputs.size(); ++i)
    if (a.fn.inputs[i].name != b.fn.inputs[i].name) return false;
  return true;
}

#ifdef LOSSCC_HAVE_LLVM
std::shared_ptr<const Kernel> llvm_kernel(const Program& program, const std::string& key) {
  const DiskCache& disk = DiskCache::default_instance();
  if (std::optional<std::string> object = disk.load(key)) {
    try {
      return cpu::LlvmKernel::load(program, *object);
    } catch (const std::exception&) {
      // An entry that passed the checksum but does not link (e.g. written by
      // a broken build): compile afresh and overwrite it.
    }
  }
  std::string object;
  auto kernel = cpu::LlvmKernel::compile(program, &object);
  disk.store(key, object);
  return kernel;
}
#endif

std::shared_ptr<const Kernel> compile(const Program& program, const CompileOptions& options,
                                      const std::string& key) {
  switch (options.backend) {
    case Backend::Interp: return std::make_shared<const cpu::InterpKernel>(program);
    case Backend::Llvm:
#ifdef LOSSCC_HAVE_LLVM
      return llvm_kernel(program, key);
#else
      throw BackendUnavailable("the LLVM backend is not built in (configure with LLVM)");
#endif
    case Backend::Cuda:
      // The kernel is emitted (compiler/codegen/cuda, --emit-cuda) and
      // NVRTC-tested, but its launch (offsets, shared memory) is not wired.
      if (program.grouped())
        throw BackendUnavailable("the CUDA backend does not run ranking (per-query) losses yet; use cpu or interp");
#ifdef LOSSCC_HAVE_NVRTC
      return make_cuda_kernel(program, options);
#else
      throw BackendUnavailable("the CUDA backend is not built in (configure with NVRTC)");
#endif
  }
  throw std::invalid_argument("get_kernel: unknown backend");
}

}  // namespace

std::shared_ptr<const Kernel> get_kernel(const Program& program, const CompileOptions& options) {
  const std::string key = cache_key(program, options);
  if (auto hit = memory_cache().get(key); hit && same_program((*hit)->program(), program))
    return *hit;
  std::shared_ptr<const Kernel> kernel = compile(program, options, key);
  memory_cache().put(key, kernel);
  return kernel;
}

bool backend_available(Backend b) {
  switch (b) {
    case Backend::Interp: return true;
    case Backend::Llvm:
#ifdef LOSSCC_HAVE_LLVM
      return true;
#else
      return false;
#endif
    case Backend::Cuda:
#ifdef LOSSCC_HAVE_NVRTC
      return cuda_available();
#else
      return false;
#endif
  }
  return false;
}

}  // namespace losscc::rt
